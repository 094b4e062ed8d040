// transformContext: per-call context transforms that chain, on every turn, without touching the transcript.
import { pipeline, runAgent, textOf, tool } from 'modelware';
import { tokenBudget, transformContext } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const lookup = tool({
  name: 'lookup',
  input: z.object({ id: z.number() }),
  execute: ({ id }) => `record ${id}: ${'data '.repeat(60)}`,
});
const model = scriptedExecutor([
  { toolCalls: [{ name: 'lookup', input: { id: 1 } }] },
  { toolCalls: [{ name: 'lookup', input: { id: 2 } }] },
  'Both records are fine.',
]);

const app = pipeline(model).use(
  // 1. the app's own transform: a reminder on every call
  transformContext(function reminder(draft, { turn }) {
    draft.push({ role: 'user', content: `(turn ${turn}: answer briefly)` });
  }),
  // 2. a plugin-style transform: shorten all but the newest tool result; it sees the reminder
  transformContext(function shortenOldResults(draft, { original }) {
    const newest = original.findLastIndex((m) => m.role === 'tool');
    original.forEach((m, i) => {
      if (m.role === 'tool' && i !== newest) draft[i] = { ...m, content: `${m.content.slice(0, 12)}…` };
    });
    console.log(`turn sees ${original.length} messages, last: ${textOf(original.at(-1) ?? { content: '' })}`);
  }),
  // 3. the budget last, so it only cuts what the transforms left
  tokenBudget({ maxInputTokens: 4_000 }),
);

const result = await runAgent({
  model: app,
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Check records 1 and 2.' }],
  tools: [lookup],
});
console.log(
  `sent on turn 3: ${model.calls[2]?.request.messages.map((m) => textOf(m).slice(0, 16) || m.role).join(' | ')}`,
);
console.log(`transcript keeps ${result.transcript.length} messages, full results, no reminders`);
