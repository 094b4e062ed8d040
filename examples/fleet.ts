// Agent runs as BullMQ jobs on Redis: any worker takes a run, an approval submitted later resumes it
// on whichever worker takes that job, and tools with a saved result never run again. Starts its own
// redis-server on a free loopback port (exits 0 with a message when it is not installed).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { redisRunStore, tool } from 'modelware';
import { type AgentJobData, type AgentJobResult, agentJobProcessor, resumeAgentJob } from 'modelware/bullmq';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

if (spawnSync('redis-server', ['--version']).error) {
  console.log('redis-server is not installed: skipping the fleet example (apt-get install redis-server).');
  process.exit(0);
}
const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => resolve(port));
  });
});
const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
  stdio: ['ignore', 'pipe', 'ignore'],
});
await new Promise<void>((resolve) =>
  redisServer.stdout.on('data', (chunk: Buffer) => chunk.includes('Ready to accept') && resolve()),
);
redisServer.stdout.resume();

const connections: Redis[] = [];
const connect = () => {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
  connections.push(client);
  return client;
};

// The same model and tools on every worker. The model answers from the conversation, not from a
// position in a script, because one worker interleaves many runs.
const model = scriptedExecutor(
  [
    (request) => {
      const results = request.messages.filter((m) => m.role === 'tool').length;
      if (results === 0) return { toolCalls: [{ id: 'c1', name: 'lookup', input: { order: 'A7' } }] };
      if (results === 1) return { toolCalls: [{ id: 'c2', name: 'pay', input: { amount: 40 } }] };
      return 'Order A7 is paid.';
    },
  ],
  { whenDone: 'repeat-last' },
);
const tools = [
  tool({ name: 'lookup', idempotent: true, input: z.object({ order: z.string() }), execute: () => 'A7: 40 EUR' }),
  tool({
    name: 'pay',
    needsApproval: true,
    input: z.object({ amount: z.number() }),
    execute: ({ amount }) => `paid ${amount} EUR`,
  }),
];

// Two workers (in a fleet: one per process or machine) share the run store on Redis.
const workers = ['worker-1', 'worker-2'].map((owner) => {
  const processor = agentJobProcessor({
    store: redisRunStore({ client: connect() }),
    owner,
    build: (data) => ({ model, modelId: 'm', tools, messages: [{ role: 'user', content: String(data.input) }] }),
  });
  return new Worker<AgentJobData, AgentJobResult>('agent-runs', processor, { connection: connect() });
});
const queue = new Queue<AgentJobData, AgentJobResult>('agent-runs', { connection: connect() });
const events = new QueueEvents('agent-runs', { connection: connect() });
await events.waitUntilReady();

const job = await queue.add('start', { runId: 'order-A7', input: 'Pay order A7.' }, { jobId: 'order-A7.start' });
const first = await job.waitUntilFinished(events);
console.log(
  `first job: ${first.stopReason}, waiting for ${first.interruptions.map((i) => (i.kind === 'tool-call' ? i.toolName : i.kind)).join(', ')}`,
);

// Later, maybe from a web request: a person approves; whichever worker takes the job resumes the run.
const resumed = (await resumeAgentJob(queue, 'order-A7', { c2: { type: 'approve' } })) as typeof job;
const done = await resumed.waitUntilFinished(events);
console.log(`resume job: ${done.stopReason}, ${done.text}`);

const log = await redisRunStore({ client: connect() }).read('order-A7');
console.log(`run log: ${log.entries.map((e) => e.type).join(' → ')}`);

await Promise.all(workers.map((w) => w.close()));
await events.close();
await queue.close();
await Promise.all(connections.map((c) => c.quit()));
const exited = once(redisServer, 'exit');
redisServer.kill('SIGTERM');
await exited;
