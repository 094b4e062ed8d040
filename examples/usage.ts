// Usage and cost: tokens per call and per run, priced by the model that actually answered, with a budget.
import { BudgetExceededError, pipeline, runAgent, tool } from 'modelware';
import { fallback, usage } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const lookup = tool({
  name: 'lookup',
  description: 'Looks a city up',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => `${city}: 2.1M people`,
});

const tokens = (inputTokens: number, outputTokens: number) => ({
  inputTokens,
  outputTokens,
  totalTokens: inputTokens + outputTokens,
});
const overloaded = Object.assign(new Error('529 overloaded'), { retryable: true });
const model = scriptedExecutor(
  [
    { toolCalls: [{ name: 'lookup', input: { city: 'Paris' } }], usage: tokens(40_000, 2_000) },
    overloaded, // turn 2 falls back to the pricier model
    { text: 'Paris has about 2.1M people.', usage: tokens(60_000, 4_000) },
  ],
  { whenDone: 'repeat-last' },
);

const meter = usage({
  prices: {
    'small-model': { inputPerMillion: 0.5, outputPerMillion: 2 },
    'big-model': { inputPerMillion: 5, outputPerMillion: 20 },
  },
  budget: { maxCostUsd: 0.5 },
  onUsage: ({ call, totals, turn }) =>
    console.log(
      `turn ${turn}: ${call.model} ${call.totalTokens} tokens $${call.costUsd?.toFixed(4)} (run so far $${totals.costUsd.toFixed(4)})`,
    ),
});
const app = pipeline(model).use(meter, fallback({ models: ['big-model'] }));

const result = await runAgent({
  model: app,
  modelId: 'small-model',
  messages: [{ role: 'user', content: 'How many people live in Paris?' }],
  tools: [lookup],
});
const totals = result.state.usage;
console.log(`run: ${totals?.calls} calls, ${totals?.totalTokens} tokens, $${totals?.costUsd.toFixed(4)}`);

// Outside runs the budget is per pipeline: once it is spent, calls are refused before the model.
const tight = pipeline(model).use(usage({ budget: { maxTokens: 1_000 } }));
await tight.generate({ model: 'small-model', messages: [{ role: 'user', content: 'hi' }] });
try {
  await tight.generate({ model: 'small-model', messages: [{ role: 'user', content: 'again' }] });
} catch (error) {
  if (!BudgetExceededError.isInstance(error)) throw error;
  console.log(`refused: used ${error.counted} of ${error.budget} tokens`);
}
