// Issue 12 item 5: a fleet of 3 BullMQ worker processes on a real redis-server runs 20 agent runs
// with tool calls and approvals; one worker is SIGKILLed while a tool runs. Every run completes,
// no non-idempotent tool runs twice (side effects counted in Redis by idempotency key), no step is
// lost, and every transcript equals the one a single process produces for the same script.
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { type Decision, memoryRunStore, redisRunStore } from 'modelware';
import { type AgentJobData, type AgentJobResult, agentJobProcessor, resumeAgentJob } from 'modelware/bullmq';
import { fleetModel, fleetTools } from '../fixtures/fleet-agent.js';
import { REDIS_MISSING, type RedisServer, startRedis } from '../fixtures/redis.js';

const WORKER = fileURLToPath(new URL('../fixtures/fleet-worker.ts', import.meta.url));
const RUNS = 20;
const LOCK_MS = 2_000;
const OVERALL_MS = 90_000;

interface FleetWorker {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[];
  readonly ready: Promise<void>;
}

function startWorker(port: number, index: number, onLine: (worker: FleetWorker, line: string) => void): FleetWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, String(port), String(index), String(LOCK_MS)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const lines: string[] = [];
  let buffered = '';
  let markReady = () => {};
  const worker: FleetWorker = { child, lines, ready: new Promise<void>((resolve) => (markReady = resolve)) };
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (line === 'ready') markReady();
      onLine(worker, line);
    }
  });
  return worker;
}

/** The conversation a run log holds: the start messages, then every message and tool result. */
function transcript(entries: readonly { type: string; messages?: readonly unknown[]; message?: unknown }[]) {
  const messages: unknown[] = [];
  for (const entry of entries) {
    if (entry.type === 'start') messages.push(...(entry.messages ?? []));
    if (entry.type === 'message' || entry.type === 'tool-result') messages.push(entry.message);
  }
  return messages;
}

function approveAll(result: AgentJobResult): Record<string, Decision> {
  const decisions: Record<string, Decision> = {};
  for (const i of result.interruptions) if (i.kind === 'tool-call') decisions[i.toolCallId] = { type: 'approve' };
  return decisions;
}

describe('a fleet of 3 BullMQ worker processes', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  const workers: FleetWorker[] = [];
  const clients: Redis[] = [];
  let queue: Queue<AgentJobData, AgentJobResult> | undefined;

  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await queue?.close();
    for (const { child } of workers) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
    await Promise.all(clients.map((c) => c.quit()));
    await server?.stop();
  });

  it('completes 20 runs with approvals through a SIGKILL, each tool effect once, transcripts as in one process', async () => {
    const deadline = AbortSignal.timeout(OVERALL_MS);
    const redis = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
    clients.push(redis);
    // SIGKILL the first worker that starts a tool (lookup works 100 ms: it dies inside it).
    let killed: { worker: number; key: string } | undefined;
    const onLine = (worker: FleetWorker, line: string) => {
      const [word, name, key] = line.split(' ');
      if (killed || word !== 'start' || name !== 'lookup' || key === undefined) return;
      killed = { worker: workers.indexOf(worker), key };
      worker.child.kill('SIGKILL');
    };
    for (const index of [0, 1, 2]) workers.push(startWorker(server.port, index, onLine));
    await Promise.all(workers.map((w) => w.ready));

    const connection = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null });
    clients.push(connection);
    queue = new Queue<AgentJobData, AgentJobResult>('fleet-runs', {
      connection,
      // A job re-delivered while the dead worker's lease still holds fails with RunLeaseError: retry.
      defaultJobOptions: { attempts: 20, backoff: { type: 'fixed', delay: 250 } },
    });
    const q = queue;
    const finished = async (jobId: string): Promise<AgentJobResult> => {
      for (;;) {
        assert.ok(!deadline.aborted, `job ${jobId} did not finish within the overall timeout`);
        const state = await q.getJobState(jobId);
        if (state === 'completed') return (await q.getJob(jobId))?.returnvalue as AgentJobResult;
        assert.notEqual(state, 'failed', `job ${jobId} failed: ${(await q.getJob(jobId))?.failedReason}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const drive = async (i: number) => {
      const runId = `run-${i}`;
      await q.add('start', { runId, input: `order-${i}` }, { jobId: `${runId}.start` });
      let result = await finished(`${runId}.start`);
      let rounds = 0;
      while (result.stopReason === 'interrupted') {
        rounds++;
        assert.ok(rounds <= 3, `${runId} was interrupted ${rounds} times`);
        // The decision comes from this process; whichever worker takes the job resumes the run.
        await resumeAgentJob(q, runId, approveAll(result), rounds);
        result = await finished(`${runId}.resume.${rounds}`);
      }
      return result;
    };
    const results = await Promise.all(Array.from({ length: RUNS }, (_, i) => drive(i)));

    // One worker was killed after it started a tool, and the other two finished its runs.
    assert.ok(killed, 'no worker started a tool');
    assert.equal(workers[killed.worker]?.child.signalCode, 'SIGKILL');

    // The reference: the same script in one process, on a memory store.
    const local = new Map<string, number>();
    const refStore = memoryRunStore();
    const referenceOn = agentJobProcessor({
      store: refStore,
      build: (data) => ({
        model: fleetModel(),
        modelId: 'm',
        tools: fleetTools({ local }),
        messages: [{ role: 'user', content: String(data.input) }],
      }),
    });
    const store = redisRunStore({ client: redis, prefix: 'fleet:' });
    for (let i = 0; i < RUNS; i++) {
      const runId = `run-${i}`;
      assert.deepEqual([results[i]?.stopReason, results[i]?.text], ['no-tool-calls', `Done: order-${i}.`]);
      const first = await referenceOn({ data: { runId, input: `order-${i}` } });
      await referenceOn({ data: { runId, decisions: approveAll(first) } });
      const fleetLog = await store.read(runId);
      const refLog = await refStore.read(runId);
      assert.equal(fleetLog.finished, true, `${runId} is not finished`);
      assert.deepEqual(transcript(fleetLog.entries), transcript(refLog.entries), `${runId}: transcript differs`);
      // Non-idempotent tools ran exactly once per call; the idempotent lookup at least once.
      for (const [name, call] of [
        ['note', 'c2'],
        ['pay', 'c3'],
      ] as const) {
        assert.equal(await redis.get(`fx:${name}:${runId}:${call}`), '1', `${name} of ${runId}`);
      }
      assert.ok(Number(await redis.get(`fx:lookup:${runId}:c1`)) >= 1, `lookup of ${runId}`);
    }
    // The run cut short re-ran its idempotent lookup on another worker.
    assert.equal(await redis.get(`fx:lookup:${killed.key}`), '2');
  });
});
