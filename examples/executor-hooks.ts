// npx tsx examples/executor-hooks.ts — an executor that falls back internally (Koog's routing
// executor) calls the hooks its caller passes inward, so the pipeline's layers see each model it
// chose before the call, and adjust the request for that model.
import { type Executor, executeWithHooks, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

const provider = scriptedExecutor([Object.assign(new Error('overloaded'), { retryable: true }), 'Hello!']);

// Tries each model in turn; every attempt goes through the caller's hooks.
const failover: Executor = {
  name: 'failover',
  callsHooks: true,
  async generate(request, options) {
    const models = ['gpt-5', 'gpt-5-mini'];
    for (const [i, model] of models.entries()) {
      try {
        return await executeWithHooks(options, { ...request, model }, i + 1, (sent) =>
          provider.generate(sent, options),
        );
      } catch (error) {
        if (i === models.length - 1) throw error;
      }
    }
    throw new Error('unreachable');
  },
};

const app = pipeline(failover).use(async function perModel(ctx, next) {
  ctx.addExecutorHooks({
    onModelChosen: ({ model, request, attempt }) => {
      console.log(`attempt ${attempt}: ${model}`);
      // The smaller model gets a tighter answer budget.
      if (model === 'gpt-5-mini') return { ...request, options: { ...request.options, maxOutputTokens: 100 } };
      return undefined;
    },
    onFailed: ({ model }) => console.log(`  ${model} failed`),
  });
  await next();
  console.log(`answered by ${ctx.model.resolved}`);
});
app.on('dispatched', (e) => console.log(`  dispatched ${e.model.resolved}`));

const response = await app.generate({ model: 'auto', messages: [{ role: 'user', content: 'Hi' }] });
console.log(`answer: ${response.message.content}`);
console.log(`mini's budget: ${provider.calls[1]?.request.options?.maxOutputTokens}`);
