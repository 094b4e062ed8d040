// The primitives the built-ins are written with: bound the time of the layers inside, hold parts back.
import { TimeoutError, defineMiddleware, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

/** Fails the call if the layers inside and the model take longer than `ms`, even if they ignore the signal. */
const deadline = (ms: number) =>
  defineMiddleware({
    name: 'deadline',
    async call(ctx, next) {
      const own = new AbortController();
      const timer = setTimeout(() => own.abort(new TimeoutError(`deadline: over ${ms} ms`, ms)), ms);
      try {
        await ctx.withSignal(AbortSignal.any([ctx.signal, own.signal]), next);
      } finally {
        clearTimeout(timer);
      }
    },
  });

/** Holds every part back until the model has finished, then sends them uppercased (async checks fit here). */
const holdUntilDone = defineMiddleware({
  name: 'holdUntilDone',
  async call(ctx, next) {
    await next();
    await ctx.wrapStream(async function* (source) {
      const held = [];
      try {
        for await (const part of source) held.push(part);
      } finally {
        console.log(`held ${held.length} parts`); // runs once, however the stream ends
      }
      for (const part of held) yield part.type === 'text-delta' ? { ...part, text: part.text.toUpperCase() } : part;
    });
  },
});

const app = pipeline(scriptedExecutor(['slow and steady'], { chunkSize: 5 }), deadline(1000), holdUntilDone);
const request = { model: 'demo', messages: [{ role: 'user' as const, content: 'hi' }] };
for await (const part of app.stream(request)) if (part.type === 'text-delta') process.stdout.write(part.text);
console.log();

const slow = pipeline(scriptedExecutor(['too late'], { delayMs: 5000 }), deadline(50));
await slow.generate(request).catch((error) => console.log(`${error.name}: ${error.message}`));
