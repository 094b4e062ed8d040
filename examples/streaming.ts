// Streaming: the same stack runs; layers map and observe parts; the response is assembled from them.
import { pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

const app = pipeline(scriptedExecutor(['The quick brown fox jumps over the lazy dog.'], { chunkSize: 10 }))
  .use(async function usageLog(ctx, next) {
    await next();
    // One observer for both modes: in generate mode it runs on the response at once.
    await ctx.tapStream({ onFinish: (response) => console.log(`\n[usage] ${JSON.stringify(response.usage)}`) });
  })
  .use(async function censor(ctx, next) {
    await next();
    ctx.mapStream((part) => (part.type === 'text-delta' ? { ...part, text: part.text.replace(/fox/g, '***') } : part));
  });

const stream = app.stream({ model: 'demo', messages: [{ role: 'user', content: 'Say the pangram.' }] });
for await (const part of stream) if (part.type === 'text-delta') process.stdout.write(part.text);
console.log(`final: ${(await stream.response).message.content}`);
