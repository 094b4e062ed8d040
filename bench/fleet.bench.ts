// Fleet budgets (issue 15). Run: npx tsx bench/fleet.bench.ts
// 1. reserve + settle on memoryStore(), the two store phases of one budget() call, per call.
// 2. The same on redisStore() against a throwaway redis-server: the round trips of each phase,
//    counted by a proxy over the client (every command the store sends is one eval/evalsha), and
//    the time per call (informational: loopback, shared machine).
// 3. budget() as a layer: a pipeline with it vs the same pipeline without it, round-robin.
import { Redis } from 'ioredis';
import { type Executor, pipeline } from 'modelware';
import { budget } from 'modelware/middleware';
import { memoryStore } from '../lib/stores/memory.js';
import { type RedisClientLike, redisStore } from '../lib/stores/redis.js';
import type { LedgerStore } from '../lib/stores/store.js';
import { startRedis } from '../test/fixtures/redis.js';
import { type Check, fmt, median, pairedRatio, printChecks, sample } from './harness.js';

// Frozen, as budget() passes them: the store checks a frozen object once.
const AMOUNTS = Object.freeze({ tokens: 1_200, nanoUsd: 3_000 });
const ACTUAL = Object.freeze({ tokens: 900, nanoUsd: 2_200 });
// Big enough never to refuse during the run: each call leaves 900 tokens settled.
const LIMITS = Object.freeze({ tokens: Number.MAX_SAFE_INTEGER, nanoUsd: Number.MAX_SAFE_INTEGER });

async function phases(store: LedgerStore, key: string): Promise<void> {
  const { allowed } = await store.reserve(key, { amounts: AMOUNTS, limits: LIMITS });
  if (!allowed) throw new Error('refused');
  await store.settle(key, { reserved: AMOUNTS, actual: ACTUAL });
}

const checks: Check[] = [];

// --- memory -----------------------------------------------------------------------------
{
  const store = memoryStore();
  let i = 0;
  // A reference in the same run: two increment() calls, the cheapest pair of store calls there is.
  const samples = await sample(
    {
      // 1,000 tenants, as a fleet would have: not one hot key.
      memory: () => phases(store, `tenant:${i++ % 1_000}`),
      increments: async () => {
        const key = `counter:${i++ % 1_000}`;
        await store.increment(key, 1);
        await store.increment(key, -1);
      },
    },
    { iterations: 20_000, rounds: 15 },
  );
  const ns = median(samples.memory);
  const ratio = pairedRatio(samples.memory, samples.increments);
  checks.push({
    name: 'memoryStore reserve + settle, per call',
    measured: `${fmt(ns)} (${ratio.toFixed(2)}× two increment() calls, ${fmt(median(samples.increments))}, same run)`,
    target: '≤ 2 µs',
    pass: ns <= 2_000,
  });
}

// --- redis ------------------------------------------------------------------------------
{
  const server = await startRedis();
  const client = new Redis({ host: '127.0.0.1', port: server.port });
  let sent = 0;
  const counting: RedisClientLike = {
    eval: (...args) => {
      sent++;
      return client.eval(...(args as Parameters<typeof client.eval>)) as Promise<unknown>;
    },
    evalsha: (...args) => {
      sent++;
      return client.evalsha(...(args as Parameters<typeof client.evalsha>)) as Promise<unknown>;
    },
  };
  try {
    const store = redisStore({ client: counting, prefix: 'bench:' });
    // The first use loads each script (EVALSHA answers NOSCRIPT, then EVAL): counted apart.
    sent = 0;
    await store.reserve('first', { amounts: AMOUNTS, limits: LIMITS });
    const firstReserve = sent;
    await store.settle('first', { reserved: AMOUNTS, actual: ACTUAL });
    sent = 0;
    const counts = { reserve: [] as number[], settle: [] as number[] };
    for (let n = 0; n < 200; n++) {
      sent = 0;
      await store.reserve(`tenant:${n % 10}`, { amounts: AMOUNTS, limits: LIMITS });
      counts.reserve.push(sent);
      sent = 0;
      await store.settle(`tenant:${n % 10}`, { reserved: AMOUNTS, actual: ACTUAL });
      counts.settle.push(sent);
    }
    const reserveMax = Math.max(...counts.reserve);
    const settleMax = Math.max(...counts.settle);
    checks.push({
      name: 'redisStore round trips per phase (200 calls, scripts cached)',
      measured: `reserve ${reserveMax}, settle ${settleMax} (first reserve of a fresh server: ${firstReserve}, loading the script)`,
      target: '1 per phase',
      pass: reserveMax === 1 && settleMax === 1,
    });
    let i = 0;
    const samples = await sample(
      { redis: () => phases(store, `tenant:${i++ % 1_000}`) },
      { iterations: 500, rounds: 9 },
    );
    checks.push({
      name: 'redisStore reserve + settle over loopback, per call (informational)',
      measured: fmt(median(samples.redis)),
      target: '(reference)',
      pass: true,
    });
  } finally {
    await client.quit();
    await server.stop();
  }
}

// --- the layer ----------------------------------------------------------------------------
{
  const response = {
    message: { role: 'assistant' as const, content: 'ok' },
    finishReason: 'stop' as const,
    usage: { inputTokens: 10, outputTokens: 5 },
  };
  const executor: Executor = { name: 'bench', generate: async () => response };
  const request = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'hi' }] };
  const plain = pipeline(executor).use(async function pass(_ctx, next) {
    await next();
  });
  const budgeted = pipeline(executor).use(
    budget({
      store: memoryStore(),
      limit: { tokens: Number.MAX_SAFE_INTEGER },
      key: () => 'tenant',
      estimate: () => ({ tokens: 100 }),
    }),
  );
  const samples = await sample(
    { plain: () => plain.generate(request), budgeted: () => budgeted.generate(request) },
    { iterations: 5_000, rounds: 15 },
  );
  const added = median(samples.budgeted.map((b, r) => b - (samples.plain[r] as number)));
  checks.push({
    name: 'budget() layer on memoryStore, added per call vs a pass-through layer (informational)',
    measured: `${fmt(added)} (${pairedRatio(samples.budgeted, samples.plain).toFixed(2)}× of ${fmt(median(samples.plain))})`,
    target: '(reference)',
    pass: true,
  });
}

printChecks('Fleet budgets (issue 15) — bench/fleet.bench.ts', checks);
