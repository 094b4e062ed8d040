// toolCallLimit(), toolRetry() and toolTimeout(): the tool stack's guards. A flaky tool is retried,
// a hanging one is stopped after its time, and a model that keeps searching is refused after 2 searches.
import { pipeline, runAgent, tool } from 'modelware';
import { toolCallLimit, toolRetry, toolTimeout } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

let weatherCalls = 0;
const weather = tool({
  name: 'weather',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => {
    // Fails the first time, as a flaky network call would.
    if (++weatherCalls === 1) throw new Error('connection reset');
    return `sunny in ${city}`;
  },
});
const search = tool({
  name: 'search',
  input: z.object({ q: z.string() }),
  execute: ({ q }) => `results for ${q}`,
});
const slow = tool({
  name: 'slow',
  input: z.object({}),
  // Ignores its signal and never answers: toolTimeout() stops waiting anyway.
  execute: () => new Promise<string>(() => {}),
});

const model = scriptedExecutor([
  {
    toolCalls: [
      { name: 'weather', input: { city: 'Oslo' } },
      { name: 'search', input: { q: 'a' } },
      { name: 'search', input: { q: 'b' } },
      { name: 'search', input: { q: 'c' } },
      { name: 'slow', input: {} },
    ],
  },
  'Done.',
]);

const app = pipeline(model).use(
  toolCallLimit({ max: 10, perTool: { search: 2 } }),
  toolRetry({ attempts: 3, backoff: { initialDelayMs: 10 } }),
  toolTimeout({ ms: 50 }),
);
const result = await runAgent({
  model: app,
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  tools: [weather, search, slow],
});
for (const message of result.turns[0]?.toolResults ?? []) {
  console.log(`${message.toolName}: ${message.content}${message.isError ? ' (error)' : ''}`);
}
console.log(`weather attempts: ${weatherCalls}`);
