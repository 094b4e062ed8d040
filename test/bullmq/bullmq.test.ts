// modelware/bullmq: the processor resumes a re-delivered job from its checkpoint, and an approval
// submitted as a new job resumes the run on a real BullMQ worker (redis-server on a free port).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { memoryRunStore, redisRunStore, tool } from 'modelware';
import { type AgentJobData, agentJobProcessor, resumeAgentJob } from 'modelware/bullmq';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { REDIS_MISSING, type RedisServer, startRedis } from '../fixtures/redis.js';

function payTools() {
  const counts = { pay: 0 };
  const pay = tool({
    name: 'pay',
    needsApproval: true,
    input: z.object({ amount: z.number() }),
    execute: ({ amount }) => {
      counts.pay++;
      return `paid ${amount}`;
    },
  });
  return { counts, tools: [pay] };
}
const script = () =>
  scriptedExecutor([{ toolCalls: [{ id: 'p1', name: 'pay', input: { amount: 5 } }] }, 'Paid.'], { whenDone: 'cycle' });

describe('agentJobProcessor', () => {
  it('starts a new run, and on a second delivery of the same job resumes it from the log', async () => {
    const store = memoryRunStore();
    const { counts, tools } = payTools();
    const model = script();
    const build = (data: AgentJobData) => ({
      model,
      modelId: 'm',
      tools,
      messages: [{ role: 'user' as const, content: String(data.input) }],
    });
    const processor = agentJobProcessor({ store, build, owner: 'w1' });
    const first = await processor({ data: { runId: 'job-1', input: 'Pay 5.' } });
    assert.deepEqual([first.stopReason, first.interruptions.length], ['interrupted', 1]);
    const done = await processor({ data: { runId: 'job-1', decisions: { p1: { type: 'approve' } } } });
    assert.deepEqual([done.stopReason, done.text, counts.pay], ['no-tool-calls', 'Paid.', 1]);
  });

  it('rejects unknown options', () => {
    assert.throws(
      () => agentJobProcessor({ store: memoryRunStore(), build: () => ({}) as never, lease: 1 } as never),
      /unknown option `lease`/,
    );
  });
});

describe('agentJobProcessor on a BullMQ worker', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await Promise.all(connections.map((c) => c.quit()));
    await server.stop();
  });

  it('an approval queued by another process resumes the run on the worker', async () => {
    const store = redisRunStore({ client: connect(), prefix: 'fleet:' });
    const { counts, tools } = payTools();
    const model = script();
    const processor = agentJobProcessor({
      store,
      build: (data) => ({ model, modelId: 'm', tools, messages: [{ role: 'user', content: String(data.input) }] }),
    });
    const queue = new Queue<AgentJobData>('runs', { connection: connect() });
    const events = new QueueEvents('runs', { connection: connect() });
    const worker = new Worker('runs', processor, { connection: connect(), stalledInterval: 1000 });
    try {
      await events.waitUntilReady();
      const job = await queue.add('start', { runId: 'order-1', input: 'Pay 5.' }, { jobId: 'order-1.start' });
      const first = await job.waitUntilFinished(events);
      assert.equal(first.stopReason, 'interrupted');
      const resumed = (await resumeAgentJob(queue, 'order-1', { p1: { type: 'approve' } })) as typeof job;
      const done = await resumed.waitUntilFinished(events);
      assert.deepEqual([done.stopReason, done.text, counts.pay], ['no-tool-calls', 'Paid.', 1]);
      assert.equal((await store.read('order-1')).finished, true);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});
