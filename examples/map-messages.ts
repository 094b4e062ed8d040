// mapMessages: a per-message transform, memoised by message object, so turn N maps only new messages.
import { pipeline, runAgent, textOf, tool } from 'modelware';
import { mapMessages } from 'modelware/middleware';
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

let mapped = 0;
const app = pipeline(model).use(
  // Shorten every tool result but the newest message. Depends on the message alone, so each
  // message object is mapped once and the same short copy is sent on every later call.
  mapMessages(
    function shortenOldResults(m) {
      mapped++;
      if (m.role === 'tool') return { ...m, content: `${m.content.slice(0, 12)}…` };
    },
    { exceptLast: 1 },
  ),
);

await runAgent({
  model: app,
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Check records 1 and 2.' }],
  tools: [lookup],
});
console.log(
  `sent on turn 3: ${model.calls[2]?.request.messages.map((m) => textOf(m).slice(0, 16) || m.role).join(' | ')}`,
);
console.log(`3 calls, ${mapped} messages mapped (each once)`);
