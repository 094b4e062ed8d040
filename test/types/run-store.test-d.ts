// Type tests for the run store: checked by `npx tsc --noEmit`. Nothing here runs; each
// `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import type { Redis } from 'ioredis';
import {
  type CheckpointStore,
  type RunLog,
  type RunLogEntry,
  type RunStore,
  RunLeaseError,
  RunStoreError,
  memoryRunStore,
  redisRunStore,
  runAgent,
} from 'modelware';

declare const redis: Redis;

// Both stores are RunStores; an ioredis client fits the structural client type.
const stores: RunStore[] = [
  memoryRunStore(),
  memoryRunStore({ maxRuns: 10, now: () => 0 }),
  redisRunStore({ client: redis }),
];
void stores;

async function use(store: RunStore): Promise<void> {
  await store.acquire('run_1', 'worker-a', { ttlMs: 30_000 });
  const length: number = await store.append(
    'run_1',
    [{ type: 'message', message: { role: 'assistant', content: 'hi' } }],
    {
      owner: 'worker-a',
    },
  );
  void length;
  const log: RunLog = await store.read('run_1', { from: 0 });
  for (const entry of log.entries) {
    // The union narrows on `type`.
    if (entry.type === 'tool-started') {
      const id: string = entry.toolCallId;
      void id;
    }
  }
  // @ts-expect-error append needs the owner that holds the lease
  await store.append('run_1', [{ type: 'finished' }]);
  // @ts-expect-error a lease needs its ttlMs
  await store.acquire('run_1', 'worker-a');
}
void use;

// @ts-expect-error a tool-started entry needs its toolName
const bad: RunLogEntry = { type: 'tool-started', toolCallId: 'c1' };
void bad;

// @ts-expect-error redisRunStore needs a client
redisRunStore({});

function handle(error: unknown): string | undefined {
  if (RunLeaseError.isInstance(error)) return error.code satisfies 'LEASE_HELD' | 'LEASE_LOST';
  if (RunStoreError.isInstance(error)) return error.code;
  return undefined;
}
void handle;

// A run store is a checkpoint store: runAgent takes either.
declare const executor: import('modelware').Executor;
void runAgentWith(memoryRunStore());
void runAgentWith(redisRunStore({ client: redis }));
function runAgentWith(store: CheckpointStore) {
  return runAgent({
    model: executor,
    modelId: 'm',
    messages: [],
    checkpoint: { store, runId: 'job-1', leaseTtlMs: 10_000 },
  });
}
// @ts-expect-error the checkpoint needs a store
void runAgent({ model: executor, modelId: 'm', messages: [], checkpoint: { runId: 'job-1' } });

// modelware/bullmq: the processor fits BullMQ's Worker; the queue helper takes a Queue.
import type { Queue } from 'bullmq';
import { type AgentJobData, agentJobProcessor, resumeAgentJob } from 'modelware/bullmq';
declare const queue: Queue<AgentJobData>;
const processor = agentJobProcessor({
  store: memoryRunStore(),
  build: () => ({ model: executor, modelId: 'm', tools: [] }),
});
void processor;
void resumeAgentJob(queue, 'order-1', { p1: { type: 'approve' } });
// @ts-expect-error a decision needs a type
void resumeAgentJob(queue, 'order-1', { p1: {} });

// streamAgent resumes a checkpointed run by its id, as runAgent does; `messages` is not taken then.
import { type AgentStream, streamAgent } from 'modelware';
const resumedStream: AgentStream = streamAgent({
  model: executor,
  checkpoint: { store: memoryRunStore() },
  resume: { runId: 'job-1', decisions: { c1: { type: 'reject', message: 'no' } } },
});
void resumedStream;
// @ts-expect-error a resumed run's transcript comes from its log: no `messages`
void streamAgent({
  model: executor,
  checkpoint: { store: memoryRunStore() },
  resume: { runId: 'job-1' },
  messages: [],
});

// A decision may say who decided; the memory store appends at once with appendSync.
import type { Decision } from 'modelware';
const byAda: Decision = { type: 'approve', input: { n: 2 }, by: 'ada@example.com' };
void byAda;
// @ts-expect-error `by` is a string (a user id)
const byNumber: Decision = { type: 'reject', message: 'no', by: 42 };
void byNumber;
const length: number = memoryRunStore().appendSync('run_1', [{ type: 'finished' }], { owner: 'w' });
void length;
// A run store without appendSync is still a checkpoint store (it is optional).
const plainStore: CheckpointStore = redisRunStore({ client: redis });
void plainStore;
// A decision entry names its call.
const decided: RunLogEntry = { type: 'decision', toolCallId: 'c1', decision: { type: 'approve' } };
void decided;
