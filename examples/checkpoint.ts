// Checkpoints: a run saved step by step to a run store survives the process that ran it. Here the
// "crash" is an abort while a payment tool runs; a second runAgent resumes the run by its id. The
// lookup that finished is not run again; the payment, cut short and not idempotent, waits for a
// person to decide. Offline: a scripted model and memoryRunStore() (redisRunStore for a fleet).
import { memoryRunStore, runAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

let lookups = 0;
let payments = 0;
let crash: AbortController | undefined;
const lookup = tool({
  name: 'lookup',
  idempotent: true,
  input: z.object({ order: z.string() }),
  execute: ({ order }) => {
    lookups++;
    return `order ${order}: 42 EUR`;
  },
});
const pay = tool({
  name: 'pay',
  input: z.object({ amount: z.number() }),
  execute: async ({ amount }, { idempotencyKey, signal }) => {
    payments++;
    // The process dies while the payment is in flight (after the lookup's result was saved).
    if (crash) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      crash.abort(new Error('SIGKILL'));
      signal.throwIfAborted();
    }
    return `paid ${amount} EUR (key ${idempotencyKey})`;
  },
});
const script = [
  {
    toolCalls: [
      { id: 'c1', name: 'lookup', input: { order: 'A7' } },
      { id: 'c2', name: 'pay', input: { amount: 42 } },
    ],
  },
  'Order A7 is paid.',
];

const store = memoryRunStore();
crash = new AbortController();
await runAgent({
  model: scriptedExecutor(script),
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Pay order A7.' }],
  tools: [lookup, pay],
  signal: crash.signal,
  checkpoint: { store, runId: 'order-A7' },
}).catch((error) => console.log(`first worker died: ${error.reason}`));
crash = undefined;

// Another worker (here: the same process) resumes the run by its id.
const resumed = await runAgent({
  model: scriptedExecutor(script.slice(1)),
  tools: [lookup, pay],
  checkpoint: { store },
  resume: { runId: 'order-A7' },
});
console.log(`resumed: ${resumed.stopReason}, waiting: ${resumed.interruptions.map((i) => JSON.stringify(i.payload))}`);

// A person checked the payment provider: the payment did not go through. Approve running it again.
const done = await runAgent({
  model: scriptedExecutor(script.slice(1)),
  tools: [lookup, pay],
  checkpoint: { store },
  resume: { runId: 'order-A7', decisions: { c2: { type: 'approve' } } },
});
console.log(`done: ${done.text} (run ${done.runId}, turn ${done.turns.at(-1)?.turn})`);
console.log(`lookups: ${lookups}, payment attempts: ${payments}`);
