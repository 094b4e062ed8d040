// Router: pick the model per request; inner layers, events and ctx.model all show the routed model.
import { pipeline } from 'modelware';
import { fallback, router } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

// Answers with the model it was sent to; the big model is down today.
const model = scriptedExecutor(
  [
    (request) =>
      request.model === 'big-model'
        ? Object.assign(new Error('529 overloaded'), { retryable: true })
        : `answered by ${request.model}`,
  ],
  { whenDone: 'repeat-last' },
);

const app = pipeline(model)
  .use(async function report(ctx, next) {
    await next();
    console.log(`  asked for ${ctx.model.requested}, answered by ${ctx.model.resolved}`);
  })
  .use(
    router({
      routes: [
        { when: (request) => (request.tools?.length ?? 0) > 0, model: 'big-model' },
        { when: (request) => JSON.stringify(request.messages).length > 200, model: 'long-context-model' },
      ],
      default: 'small-model',
    }),
  )
  // After the router, fallback starts from the routed model.
  .use(fallback({ models: ['medium-model'] }))
  .use(async function inner(ctx, next) {
    console.log(`  inner layer sees ${ctx.request.model}`);
    await next();
  });
app.on('dispatched', (e) => console.log(`  event dispatched to ${e.model.resolved}`));

console.log('short question:');
await app.generate({ model: 'auto', messages: [{ role: 'user', content: 'Hi!' }] });

console.log('question with tools:');
await app.generate({
  model: 'auto',
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  tools: [{ name: 'weather', inputSchema: { type: 'object' } }],
});
