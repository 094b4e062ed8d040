// cache(): a repeated request is answered from the store, in both modes; the model is asked once
// per distinct request until the entry expires. A fake clock shows the TTL without waiting.
import { pipeline, memoryStore } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { cache } from 'modelware/middleware';

let clock = 0;
const store = memoryStore({ now: () => clock }); // in a fleet: redisStore({ client: new Redis(url) })
const model = scriptedExecutor(['Paris.', 'Paris, for globex.', 'Still Paris.']);

const app = pipeline(model)
  .use(async function report(ctx, next) {
    await next();
    // A hit is marked in ctx.state; the response itself is exactly the one stored.
    if (ctx.mode === 'generate')
      console.log(`${ctx.state.cache?.hit ? 'hit ' : 'miss'} → ${ctx.response?.message.content}`);
    else console.log(`${ctx.state.cache?.hit ? 'hit ' : 'miss'} → (streamed)`);
  })
  // Entries are per tenant: a layer inside the cache (a plugin, a router, a retrieval step) may
  // answer per tenant. The default partition is the whole metadata; `partition: false` shares.
  .use(cache({ store, ttlMs: 60_000, partition: (ctx) => String(ctx.request.metadata?.tenant) }));

const question = {
  model: 'demo',
  messages: [{ role: 'user' as const, content: 'Capital of France?' }],
  metadata: { tenant: 'acme', user: 'ann' },
};

await app.generate(question);
await app.generate({ ...question, metadata: { tenant: 'acme', user: 'bob' } }); // same tenant: a hit
await app.generate({ ...question, metadata: { tenant: 'globex', user: 'ann' } }); // another tenant: a miss

let streamed = '';
for await (const part of app.stream(question)) if (part.type === 'text-delta') streamed += part.text;
console.log(`stream replayed: ${streamed}`);

clock += 60_000; // the entry expires
await app.generate(question);
console.log(`model calls: ${model.calls.length}`);
