// An agent loop offline: a scripted model calls a search tool three times, then answers. Each call
// sends older tool results as stubs (compactToolResults), then fits a 400-token budget, tool
// definitions included, by dropping the oldest tool call with its result (tokenBudget, turn 4).
// The transcript keeps everything. The last layer prints what each turn sent: role(characters).
import { countTokens, pipeline, runAgent, textOf, tool, toolCallsOf } from 'modelware';
import { compactToolResults, tokenBudget } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const search = tool({
  name: 'search',
  description: 'Searches the notes for a topic',
  input: z.object({ topic: z.string() }),
  execute: ({ topic }) => `Notes on ${topic}: ${`${topic} is described at length here. `.repeat(40)}`,
});

const model = scriptedExecutor([
  { text: 'Looking up onions.', toolCalls: [{ name: 'search', input: { topic: 'onions' } }] },
  { toolCalls: [{ name: 'search', input: { topic: 'layers' } }] },
  { toolCalls: [{ name: 'search', input: { topic: 'middleware' } }] },
  'Middleware wraps each call like the layers of an onion.',
]);

const app = pipeline(model).use(
  compactToolResults({ keepLast: 1, minChars: 200 }),
  tokenBudget({ maxInputTokens: 600, reserveOutputTokens: 200 }),
  async function printSent(ctx, next) {
    const { messages } = ctx.request;
    const shown = messages.map((m) =>
      toolCallsOf(m).length > 0 ? 'assistant→search' : `${m.role}(${textOf(m).length})`,
    );
    console.log(
      `turn ${ctx.run?.turn}: ${messages.length} messages, ${await countTokens(messages)} tokens: ${shown.join(' ')}`,
    );
    await next();
  },
);

const result = await runAgent({
  model: app,
  modelId: 'demo-model',
  messages: [
    { role: 'system', content: 'Answer from the notes.' },
    { role: 'user', content: 'How does middleware work?' },
  ],
  tools: [search],
});

console.log(`answer: ${result.text}`);
console.log(`turns: ${result.turns.length}, stop: ${result.stopReason}, usage: ${JSON.stringify(result.usage)}`);
console.log(
  `transcript: ${result.transcript.length} messages, ${await countTokens(result.transcript)} tokens (kept in full)`,
);
