// cache(): a repeated request is answered from the store, in both modes; the model is asked once
// per distinct request until the entry expires. A fake clock shows the TTL without waiting.
import { pipeline, memoryStore } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { cache } from 'modelware/middleware';

let clock = 0;
const store = memoryStore({ now: () => clock }); // in a fleet: redisStore({ client: new Redis(url) })
const model = scriptedExecutor(['Paris.', 'Still Paris.']);

const app = pipeline(model)
  .use(async function report(ctx, next) {
    await next();
    // A hit is marked in ctx.state; the response itself is exactly the one stored.
    if (ctx.mode === 'generate')
      console.log(`${ctx.state.cache?.hit ? 'hit ' : 'miss'} → ${ctx.response?.message.content}`);
    else console.log(`${ctx.state.cache?.hit ? 'hit ' : 'miss'} → (streamed)`);
  })
  .use(cache({ store, ttlMs: 60_000 }));

const question = { model: 'demo', messages: [{ role: 'user' as const, content: 'Capital of France?' }] };

await app.generate(question);
// Metadata never reaches the model, so it is not part of the key.
await app.generate({ ...question, metadata: { user: 'bob' } });

let streamed = '';
for await (const part of app.stream(question)) if (part.type === 'text-delta') streamed += part.text;
console.log(`stream replayed: ${streamed}`);

clock += 60_000; // the entry expires
await app.generate(question);
console.log(`model calls: ${model.calls.length}`);
