import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type ModelRequest, isRetryable, pipeline } from 'modelware';
import { retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { RateLimitError } from '../../lib/core/errors.js';
import { StoreError } from '../../lib/stores/errors.js';
import { memoryStore } from '../../lib/stores/memory.js';
import { redisStore } from '../../lib/stores/redis.js';
import type { Store } from '../../lib/stores/store.js';
import { rateLimit } from '../../middleware/rate-limit.js';
import { REDIS_MISSING, type RedisServer, startRedis } from '../fixtures/redis.js';

const BASE_REQUEST: ModelRequest = { model: 'test-model', messages: [{ role: 'user', content: 'hi' }] };
const forTenant = (tenant: string): ModelRequest => ({ ...BASE_REQUEST, metadata: { tenant } });

/** A fake clock and a sleep that moves it, logging each wait. */
function fakeTime(log: string[]) {
  const time = {
    clock: 1_000_000,
    now: () => time.clock,
    sleep: async (ms: number, signal: AbortSignal) => {
      signal.throwIfAborted();
      log.push(`sleep ${ms}`);
      time.clock += ms;
    },
  };
  return time;
}

function modelLogging(log: string[]) {
  const step = (_request: unknown, i: number) => {
    log.push(`model ${i + 1}`);
    return `answer ${i + 1}`;
  };
  return scriptedExecutor([step], { whenDone: 'repeat-last' });
}

describe('rateLimit()', () => {
  it('admits up to `limit`, then waits exactly until the bucket refills', async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const app = pipeline(modelLogging(log)).use(
      rateLimit({ limit: 2, windowMs: 1_000, now: time.now, sleep: time.sleep }),
    );
    for (let i = 0; i < 4; i++) await app.generate(BASE_REQUEST);
    assert.deepEqual(log, ['model 1', 'model 2', 'sleep 500', 'model 3', 'sleep 500', 'model 4']);
  });

  it("onLimited: 'reject' fails with a retryable RateLimitError carrying retryAfterMs; the model is not called", async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const model = modelLogging(log);
    const app = pipeline(model).use(rateLimit({ limit: 1, windowMs: 60_000, onLimited: 'reject', now: time.now }));
    await app.generate(BASE_REQUEST);
    time.clock += 15_000;
    const error = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
    assert.ok(RateLimitError.isInstance(error));
    assert.equal(error.retryAfterMs, 45_000);
    assert.equal(error.key, 'global');
    assert.equal(error.layer, 'rateLimit');
    assert.equal(error.retryable, true);
    assert.equal(isRetryable(error), true);
    assert.match(error.message, /rateLimit: over the limit; retry in 45000 ms.*limit 1 per 60000 ms, key `global`/);
    assert.deepEqual(log, ['model 1']);
  });

  it('keeps one bucket per key: one tenant waiting does not hold up another', async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const app = pipeline(modelLogging(log)).use(
      rateLimit({
        limit: 1,
        windowMs: 1_000,
        key: (ctx) => String(ctx.request.metadata?.tenant),
        now: time.now,
        sleep: time.sleep,
        onWait: ({ key, waitMs }) => log.push(`${key} waits ${waitMs}`),
      }),
    );
    await app.generate(forTenant('a'));
    await app.generate(forTenant('b'));
    await app.generate(forTenant('a'));
    assert.deepEqual(log, ['model 1', 'model 2', 'a waits 1000', 'sleep 1000', 'model 3']);
  });

  it('charges the cost function (fractions round up), e.g. estimated tokens', async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const store = memoryStore();
    const app = pipeline(modelLogging(log)).use(
      rateLimit({
        store,
        limit: 100,
        windowMs: 1_000,
        cost: (ctx) => JSON.stringify(ctx.request.messages).length / 4,
        onLimited: 'reject',
        now: time.now,
      }),
    );
    const cost = Math.ceil(JSON.stringify(BASE_REQUEST.messages).length / 4);
    await app.generate(BASE_REQUEST);
    const left = await store.take('ratelimit:rateLimit:global', {
      cost: 0,
      limit: 100,
      windowMs: 1_000,
      now: time.clock,
    });
    assert.equal(left.remaining, 100 - cost);
  });

  it('a cost above the limit fails at once, even in wait mode, and is not retryable', async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const app = pipeline(modelLogging(log)).use(
      rateLimit({ limit: 10, windowMs: 1_000, cost: 11, now: time.now, sleep: time.sleep }),
    );
    const error = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
    assert.ok(RateLimitError.isInstance(error));
    assert.equal(error.retryAfterMs, undefined);
    assert.equal(error.retryable, false);
    assert.equal(error.cost, 11);
    assert.deepEqual(log, []);
  });

  it('a cost of 0 passes without touching the store', async () => {
    const store = memoryStore();
    const app = pipeline(scriptedExecutor(['ok'])).use(rateLimit({ store, limit: 1, windowMs: 1_000, cost: () => 0 }));
    await app.generate(BASE_REQUEST);
    assert.equal(store.size, 0);
  });

  it('rejects once the total wait would pass maxWaitMs', async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const app = pipeline(modelLogging(log)).use(
      rateLimit({ limit: 1, windowMs: 1_000, maxWaitMs: 999, now: time.now, sleep: time.sleep }),
    );
    await app.generate(BASE_REQUEST);
    await assert.rejects(
      app.generate(BASE_REQUEST),
      (e: unknown) => RateLimitError.isInstance(e) && e.retryAfterMs === 1_000 && /maxWaitMs \(999\)/.test(e.message),
    );
    assert.deepEqual(log, ['model 1']);
  });

  it('aborting the signal stops the wait at once, with the signal reason, leaving no timer', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    // The real, abortable sleep: a wait of a minute that only the abort can end.
    const app = pipeline(model).use(rateLimit({ limit: 1, windowMs: 60_000 }));
    await app.generate(BASE_REQUEST);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    setImmediate(() => controller.abort(reason));
    await assert.rejects(pending, (e: unknown) => e === reason);
    assert.equal(model.calls.length, 1);
    assert.equal(timers(), before);
  });

  it("a store that never answers: 'fail-closed' refuses after storeTimeoutMs, 'fail-open' lets the call through", async () => {
    const hanging: Store = { ...memoryStore(), name: 'hanging', take: () => new Promise<never>(() => {}) };
    for (const policy of ['fail-closed', 'fail-open'] as const) {
      const model = scriptedExecutor(['through']);
      const app = pipeline(model).use(
        rateLimit({ limit: 1, windowMs: 1000, store: hanging, storeTimeoutMs: 5, onStoreError: policy }),
      );
      const outcome = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
      if (policy === 'fail-closed') {
        assert.ok(StoreError.isInstance(outcome), String(outcome));
        assert.equal(outcome.operation, 'take');
        assert.equal(model.calls.length, 0);
      } else {
        assert.equal((outcome as { message: { content: string } }).message.content, 'through');
        assert.equal(model.calls.length, 1);
      }
    }
  });

  it('limits stream calls before the stream starts', async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const app = pipeline(modelLogging(log)).use(
      rateLimit({ limit: 1, windowMs: 200, now: time.now, sleep: time.sleep }),
    );
    for (let i = 0; i < 2; i++) for await (const _ of app.stream(BASE_REQUEST));
    assert.deepEqual(log, ['model 1', 'sleep 200', 'model 2']);
  });

  it('inside retry(), every attempt draws from the bucket', async () => {
    const log: string[] = [];
    const time = fakeTime(log);
    const model = scriptedExecutor([new Error('flaky'), 'ok']);
    const app = pipeline(model).use(
      retry({ initialDelayMs: 0 }),
      rateLimit({ limit: 1, windowMs: 100, now: time.now, sleep: time.sleep }),
    );
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'ok');
    assert.deepEqual(log, ['sleep 100']);
  });

  for (const [option, value] of [
    ['limit', 0],
    ['limit', 1.5],
    ['windowMs', -1],
    ['store', {}],
    ['cost', -1],
    ['cost', 'tokens'],
    ['onLimited', 'drop'],
    ['maxWaitMs', Number.NaN],
    ['key', 'tenant'],
    ['sleep', 10],
  ] as const) {
    it(`rejects \`${option}\` = ${String(value)} at factory time`, () => {
      assert.throws(
        () => rateLimit({ limit: 10, windowMs: 1_000, [option]: value } as never),
        (e: unknown) => e instanceof TypeError && e.message.startsWith(`rateLimit(): expected \`${option}\``),
      );
    });
  }

  it('rejects a key function that gives no string, naming the layer', async () => {
    const app = pipeline(scriptedExecutor(['never'])).use(
      rateLimit({ name: 'perTenant', limit: 1, windowMs: 1_000, key: () => '' }),
    );
    await assert.rejects(app.generate(BASE_REQUEST), /perTenant: `key` must return a non-empty string/);
  });
});

/** Two workers (pipelines) on one store: the limit holds for the fleet. */
function fleetSuite(label: string, stores: () => [Store, Store]) {
  it(`${label}: 10 concurrent calls across two workers admit exactly the limit`, async () => {
    const [storeA, storeB] = stores();
    const models = [
      scriptedExecutor(['a'], { whenDone: 'repeat-last' }),
      scriptedExecutor(['b'], { whenDone: 'repeat-last' }),
    ];
    const limited = { limit: 4, windowMs: 3_600_000, onLimited: 'reject' } as const;
    const workers = [
      pipeline(models[0]!).use(rateLimit({ ...limited, store: storeA })),
      pipeline(models[1]!).use(rateLimit({ ...limited, store: storeB })),
    ];
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => workers[i % 2]!.generate(BASE_REQUEST)),
    );
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 4);
    assert.equal(models[0]!.calls.length + models[1]!.calls.length, 4);
    for (const o of outcomes) if (o.status === 'rejected') assert.ok(RateLimitError.isInstance(o.reason));
  });
}

describe('rateLimit() across workers', () => {
  fleetSuite('memoryStore', () => {
    const shared = memoryStore();
    return [shared, shared];
  });

  describe('redisStore', { skip: REDIS_MISSING }, () => {
    let server: RedisServer;
    let clients: Redis[] = [];
    before(async () => {
      server = await startRedis();
      clients = [0, 1].map(() => new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 }));
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.quit()));
      await server?.stop();
    });
    fleetSuite('redisStore (two clients)', () => [
      redisStore({ client: clients[0]! }),
      redisStore({ client: clients[1]! }),
    ]);
  });
});
