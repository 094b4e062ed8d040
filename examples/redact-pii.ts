// redactPii(): the model never sees the user's email or card number, yet the user and the tools get
// the real values back (restore), in generate and stream mode alike.
import { type ReadonlyModelRequest, pipeline, runAgent, textOf, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { redactPii } from 'modelware/middleware';

const question = {
  role: 'user' as const,
  content:
    'I am ada@example.com, card 4111 1111 1111 1111. Email me the receipt, my key is sk-live-abcdefghijklmnopqrstuv.',
};

// 1. Plain redaction: placeholders per kind.
const model = scriptedExecutor(['Noted.']);
await pipeline(model)
  .use(redactPii())
  .generate({ model: 'demo', messages: [question] });
console.log(`model received: ${model.calls[0]?.request.messages[0]?.content}`);

// 2. Masking keeps the last 4 characters.
const masked = scriptedExecutor(['Noted.']);
await pipeline(masked)
  .use(redactPii({ strategy: 'mask' }))
  .generate({ model: 'demo', messages: [question] });
console.log(`masked:         ${masked.calls[0]?.request.messages[0]?.content}`);

// 3. restore: the model gets numbered placeholders with a random part new on every call; the
//    answer gets back the values the user gave (never the system prompt's), and tools get them
//    only with restoreToolInputs. This scripted "model" just echoes the placeholders it received.
const placeholders = (request: ReadonlyModelRequest) =>
  JSON.stringify(request.messages).match(/\[REDACTED_[A-Z_]+_\d+_[0-9a-f]+\]/g) ?? [];
const sendReceipt = tool({
  name: 'send_receipt',
  input: z.object({ to: z.string() }),
  execute: ({ to }) => {
    console.log(`tool got:       to=${to}`);
    return 'queued';
  },
});
const agentModel = scriptedExecutor([
  (request) => ({ toolCalls: [{ name: 'send_receipt', input: { to: placeholders(request)[0] } }] }),
  (request) => `Receipt sent to ${placeholders(request)[0]} for card ${placeholders(request)[1]}.`,
]);
const result = await runAgent({
  model: pipeline(agentModel).use(redactPii({ restore: true, restoreToolInputs: true })),
  modelId: 'demo-model',
  messages: [question],
  tools: [sendReceipt],
});
console.log(`model received: ${agentModel.calls[0]?.request.messages[0]?.content}`);
console.log(`user sees:      ${result.text}`);

// 4. Streaming: placeholders split across deltas are restored whole.
const streaming = scriptedExecutor([(request) => `Thanks ${placeholders(request)[0]}, noted.`], { chunkSize: 4 });
const stream = pipeline(streaming)
  .use(redactPii({ restore: true }))
  .stream({ model: 'demo', messages: [question] });
console.log(`streamed:       ${await stream.text()}`);

// 5. Or refuse to send PII at all.
try {
  await pipeline(scriptedExecutor(['never']))
    .use(redactPii({ strategy: 'block', detectors: ['credit-card'] }))
    .generate({ model: 'demo', messages: [question] });
} catch (error) {
  console.log(`blocked:        ${(error as Error).message}`);
}
console.log(`caller's message unchanged: ${textOf(question).includes('ada@example.com')}`);
