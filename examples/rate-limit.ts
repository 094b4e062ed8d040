// rateLimit(): a token bucket per tenant. Over the limit a call waits for the bucket (or, with
// onLimited: 'reject', fails with a RateLimitError that says when to retry).
import { pipeline, RateLimitError } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { rateLimit } from 'modelware/middleware';

const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });

// A clock of our own, so the output is the same on a fast or a loaded machine: waiting advances it.
// Leave `now` and `sleep` out in production (the store's clock, a real timer).
let clock = 0;
const now = () => clock;
const sleep = async (ms: number) => {
  clock += ms;
};

// Two calls per 300 ms per tenant, in bursts of up to two. In a fleet, pass store: redisStore({ client }).
const app = pipeline(model).use(
  rateLimit({
    limit: 2,
    windowMs: 300,
    now,
    sleep,
    key: (ctx) => String(ctx.request.metadata?.tenant),
    onWait: ({ key }) => console.log(`${key}: over the limit, waiting for the bucket`),
  }),
);

const ask = (tenant: string) =>
  app.generate({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], metadata: { tenant } });

for (let i = 1; i <= 3; i++) {
  await ask('acme');
  console.log(`acme: call ${i} done`);
}
await ask('globex');
console.log('globex: call 1 done (its own bucket)');

// Reject instead of waiting: one call per minute, tokens counted by a cost function.
const strict = pipeline(model).use(
  rateLimit({
    limit: 1,
    windowMs: 60_000,
    onLimited: 'reject',
    cost: (ctx) => (ctx.request.messages.length > 5 ? 2 : 1),
  }),
);
const request = { model: 'demo', messages: [{ role: 'user' as const, content: 'hi' }] };
await strict.generate(request);
try {
  await strict.generate(request);
} catch (error) {
  if (RateLimitError.isInstance(error)) {
    console.log(
      `${error.name}: retryable ${error.retryable}, retry in about ${Math.round((error.retryAfterMs ?? 0) / 1000)} s`,
    );
  }
}
