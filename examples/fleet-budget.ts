// budget() and circuitBreaker(): a spend limit and model circuits that every worker sharing the
// store enforces. Offline here on a memoryStore(); in a fleet pass store: redisStore({ client }).
import { BudgetExceededError, memoryStore, pipeline } from 'modelware';
import { budget, circuitBreaker, fallback } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const store = memoryStore();

// Each answer reports 300 tokens; the budget reserves input + maxOutputTokens before each call.
const model = scriptedExecutor(
  [
    (request) =>
      request.model === 'flaky-model'
        ? new Error('503 Service Unavailable')
        : { text: `answered by ${request.model}`, usage: { inputTokens: 100, outputTokens: 200 } },
  ],
  { whenDone: 'repeat-last' },
);

const app = pipeline(model)
  .use(
    budget({
      store,
      limit: { tokens: 1_000 },
      key: (ctx) => `tenant:${String(ctx.request.metadata?.tenant)}`,
      // A stand-in tokenizer keeps the example free of the gpt-tokenizer download; omit it in an app.
      tokenizer: (text) => Math.ceil(text.length / 4),
    }),
  )
  .use(fallback(['backup-model']))
  .use(circuitBreaker({ store, failureThreshold: 1, cooldownMs: 30_000 }));

const ask = (tenant: string) =>
  app.generate({
    model: 'flaky-model',
    messages: [{ role: 'user', content: 'Summarise the report.' }],
    options: { maxOutputTokens: 200 },
    metadata: { tenant },
  });

for (let i = 1; i <= 4; i++) {
  try {
    const response = await ask('acme');
    console.log(`acme call ${i}: ${response.message.content}`);
  } catch (error) {
    if (!BudgetExceededError.isInstance(error)) throw error;
    console.log(
      `acme call ${i}: refused before it was sent (${error.code}, ${error.counted} of ${error.budget} tokens)`,
    );
  }
}
console.log(
  `requests that reached flaky-model: ${model.calls.filter((c) => c.request.model === 'flaky-model').length}`,
);
console.log(`globex: ${(await ask('globex')).message.content} (its own budget)`);
