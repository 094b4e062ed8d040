// A snapshot that travels through hands you do not trust (a browser, a ticket, a queue): seal it
// with a server-side key; only an untouched one opens. Offline.
import { randomBytes } from 'node:crypto';
import { SnapshotError, openRunSnapshot, runAgent, sealRunSnapshot, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const refund = tool({
  name: 'refund',
  input: z.object({ order: z.string(), cents: z.number().int() }),
  needsApproval: true,
  execute: ({ order, cents }) => `refunded ${cents} cents on ${order}`,
});
const model = scriptedExecutor([
  { toolCalls: [{ id: 'r1', name: 'refund', input: { order: 'A-17', cents: 1250 } }] },
  'Refund done.',
]);
const key = randomBytes(32); // in production: a secret from your vault, the same on every server

const first = await runAgent({
  model,
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Refund order A-17' }],
  tools: [refund],
});
const sealed = sealRunSnapshot(first.snapshot!, { key }); // send this to the approver's browser

// The browser sends it back with the decision; someone raised the amount on the way.
const forged = sealed.replace('"cents":1250', '"cents":125000');
try {
  openRunSnapshot(forged, { key });
} catch (error) {
  if (SnapshotError.isInstance(error)) console.log(`forged: ${error.code}`);
}

const snapshot = openRunSnapshot(sealed, { key });
const done = await runAgent({ model, tools: [refund], resume: { snapshot, decisions: { r1: { type: 'approve' } } } });
console.log(`untouched: ${done.text}`);
