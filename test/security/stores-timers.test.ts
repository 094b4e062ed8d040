// Stores, timers and timeouts under hostile settings: millisecond options past setTimeout's
// 32-bit limit, stores that hang or drop connections. See docs/security.md.
import assert from 'node:assert/strict';
import { after as afterAll, before, describe, it, mock } from 'node:test';
import { Redis } from 'ioredis';
import { StoreError, definePlugin, isRetryable, pipeline } from 'modelware';
import { cache, rateLimit, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { MAX_TIMER_MS, setLongTimeout, sleep } from '../../lib/internal/signals.js';
import { memoryStore } from '../../lib/stores/memory.js';
import { redisStore } from '../../lib/stores/redis.js';
import type { Store } from '../../lib/stores/store.js';
import { BASE_REQUEST, flush } from '../fixtures/core.js';
import { REDIS_MISSING, type RedisProxy, type RedisServer, startProxy, startRedis } from '../fixtures/redis.js';
import { PAYLOAD, managerWithEvents, probe } from '../fixtures/plugins.js';

const DAY = 86_400_000;

/** Resolves after `ms` on a real timer: what a delay that fired early would beat. */
const after = (ms: number) => new Promise<'timer'>((resolve) => setTimeout(() => resolve('timer'), ms));

describe('timers cannot overflow (delays above 2^31 - 1 ms)', () => {
  it('setLongTimeout waits in chunks and fires exactly at the deadline (fake clock)', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let fired = 0;
      setLongTimeout(() => fired++, 40 * DAY);
      mock.timers.tick(MAX_TIMER_MS);
      mock.timers.tick(40 * DAY - MAX_TIMER_MS - 1);
      assert.equal(fired, 0);
      mock.timers.tick(1);
      assert.equal(fired, 1);
    } finally {
      mock.timers.reset();
    }
  });

  it('a cancelled long timeout never fires and leaves no timer', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let fired = 0;
      const cancel = setLongTimeout(() => fired++, 3e9);
      mock.timers.tick(MAX_TIMER_MS);
      cancel();
      mock.timers.tick(3e9);
      assert.equal(fired, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('sleep(3e9) does not resolve after 1 ms', async () => {
    const controller = new AbortController();
    const slept = sleep(3e9, controller.signal).then(() => 'slept' as const);
    assert.equal(await Promise.race([slept, after(20)]), 'timer');
    controller.abort(new Error('done'));
    await assert.rejects(slept, /done/);
  });

  it('a plugin with timeoutMs: 3e9 is not timed out after 1 ms', async () => {
    const { manager, events } = managerWithEvents();
    let finished = false;
    manager.register(
      definePlugin({
        name: 'slowish',
        timeoutMs: 3e9,
        hooks: {
          test_probe: async () => {
            await after(20);
            finished = true;
          },
        },
      }),
    );
    await manager.dispatch(probe, PAYLOAD);
    assert.equal(finished, true);
    assert.deepEqual(events, []);
  });

  it('retry() with a delay above 2^31 - 1 ms waits instead of retrying after 1 ms', async () => {
    const model = scriptedExecutor([Object.assign(new Error('busy'), { retryable: true }), 'ok']);
    const app = pipeline(model).use(retry({ initialDelayMs: 3e9, maxDelayMs: 3e9 }));
    const controller = new AbortController();
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    await after(20);
    assert.equal(model.calls.length, 1);
    controller.abort(new Error('gave up'));
    await assert.rejects(pending, /gave up/);
  });

  it('rateLimit() with a 30-day window waits instead of calling its store in a loop', async () => {
    const inner = memoryStore();
    let takes = 0;
    const store: Store = {
      ...inner,
      name: 'counting',
      take(key, options) {
        takes++;
        return inner.take(key, options);
      },
    };
    const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(
      rateLimit({ limit: 1, windowMs: 30 * DAY, store }),
    );
    await app.generate(BASE_REQUEST);
    const controller = new AbortController();
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    await after(20);
    assert.equal(takes, 2);
    controller.abort(new Error('gave up'));
    await assert.rejects(pending, /gave up/);
  });
});

/** A store whose every call waits forever and ignores its signal; `calls` counts them. */
function stuckStore() {
  const state = { calls: 0 };
  const never = () => {
    state.calls++;
    return new Promise<never>(() => {});
  };
  const store: Store = { name: 'stuck', get: never, set: never, delete: never, increment: never, take: never };
  return { store, state };
}

/** A store whose take() fails as an unreachable Redis would (or with `error`). */
function failingStore(error: unknown = unreachable()): Store {
  const fail = () => Promise.reject(error);
  return { name: 'down', get: fail, set: fail, delete: fail, increment: fail, take: fail };
}

function unreachable(): StoreError {
  return new StoreError({ store: 'down', operation: 'take', key: 'k', message: 'down: no answer', retryable: true });
}

/** Settles `promise` into a value, or `'pending'` if it has not settled after a few turns of the event loop. */
async function settledOrPending(promise: Promise<unknown>): Promise<unknown> {
  let outcome: unknown = 'pending';
  promise.then(
    (value) => void (outcome = { value }),
    (error: unknown) => void (outcome = { error }),
  );
  for (let i = 0; i < 5; i++) await flush();
  return outcome;
}

describe('stores honour cancellation', () => {
  it('rateLimit() settles at once on abort while its store never answers', async () => {
    const { store, state } = stuckStore();
    const model = scriptedExecutor(['never']);
    const app = pipeline(model).use(rateLimit({ limit: 1, windowMs: 1_000, store }));
    const controller = new AbortController();
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    await flush();
    assert.equal(state.calls, 1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.deepEqual(await settledOrPending(pending), { error: reason });
    assert.equal(model.calls.length, 0);
  });

  it('cache() settles at once on abort while its store never answers, without reporting a store error', async () => {
    const { store, state } = stuckStore();
    const reported: unknown[] = [];
    const app = pipeline(scriptedExecutor(['never'])).use(
      cache({ store, onStoreError: (error) => reported.push(error) }),
    );
    const controller = new AbortController();
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    await flush();
    assert.equal(state.calls, 1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.deepEqual(await settledOrPending(pending), { error: reason });
    assert.deepEqual(reported, []);
  });

  it('stores receive the call signal; memoryStore rejects with its reason once it has aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    const store = memoryStore();
    for (const call of [
      () => store.get('k', { signal: controller.signal }),
      () => store.set('k', 'v', { signal: controller.signal }),
      () => store.delete('k', { signal: controller.signal }),
      () => store.increment('k', 1, { signal: controller.signal }),
      () => store.take('k', { cost: 1, limit: 1, windowMs: 1_000, signal: controller.signal }),
    ]) {
      await assert.rejects(call(), (e: unknown) => e === reason);
    }
    assert.equal(store.size, 0);
  });
});

describe("rateLimit({ onStoreError }) when the store can't be reached", () => {
  it("fails closed by default: the call rejects with the store's retryable StoreError", async () => {
    const model = scriptedExecutor(['ok']);
    const app = pipeline(model).use(rateLimit({ limit: 1, windowMs: 1_000, store: failingStore() }));
    const error = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
    assert.ok(StoreError.isInstance(error));
    assert.equal(isRetryable(error), true);
    assert.equal(model.calls.length, 0);
  });

  it("'fail-open' lets the call through; a function decides per failure and sees the error", async () => {
    const open = pipeline(scriptedExecutor(['ok'])).use(
      rateLimit({ limit: 1, windowMs: 1_000, store: failingStore(), onStoreError: 'fail-open' }),
    );
    assert.equal((await open.generate(BASE_REQUEST)).message.content, 'ok');
    const seen: string[] = [];
    const decided = pipeline(scriptedExecutor(['ok'])).use(
      rateLimit({
        limit: 1,
        windowMs: 1_000,
        store: failingStore(),
        onStoreError: (error) => {
          seen.push(`${error.store}.${error.operation}`);
          return 'fail-open';
        },
      }),
    );
    assert.equal((await decided.generate(BASE_REQUEST)).message.content, 'ok');
    assert.deepEqual(seen, ['down.take']);
  });

  it("'fail-open' never hides a bug or a refused command", async () => {
    const refused = new StoreError({ store: 'x', operation: 'take', key: 'k', message: 'refused', retryable: false });
    for (const error of [new TypeError('bug'), refused]) {
      const app = pipeline(scriptedExecutor(['ok'])).use(
        rateLimit({ limit: 1, windowMs: 1_000, store: failingStore(error), onStoreError: 'fail-open' }),
      );
      await assert.rejects(app.generate(BASE_REQUEST), (e: unknown) => e === error);
    }
  });

  it('rejects an unknown onStoreError at factory time', () => {
    assert.throws(
      () => rateLimit({ limit: 1, windowMs: 1_000, onStoreError: 'ignore' as never }),
      /rateLimit\(\): expected `onStoreError`/,
    );
  });
});

describe('redisStore() under connection faults', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  let proxy: RedisProxy;
  let direct: Redis;
  const clients: Redis[] = [];
  let n = 0;

  before(async () => {
    server = await startRedis();
    proxy = await startProxy(server.port);
    direct = new Redis({ host: '127.0.0.1', port: server.port });
    clients.push(direct);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    await proxy?.close();
    await server?.stop();
  });

  /** A client through the proxy, and a store on it whose scripts the server already knows. */
  async function throughProxy() {
    const client = new Redis({ host: '127.0.0.1', port: proxy.port });
    clients.push(client);
    const prefix = `fault${++n}:`;
    const store = redisStore({ client, prefix });
    await store.take('warm-up', { cost: 0, limit: 1, windowMs: 1_000 });
    await store.increment('warm-up-counter', 1);
    return { store, prefix };
  }

  /** Waits (polling the server directly) until `check` holds: the command has run on the server. */
  async function until(check: () => Promise<boolean>): Promise<void> {
    while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 2));
  }

  it('a take() whose reply was lost and that ioredis resends after a reconnect is counted once', async () => {
    const { store, prefix } = await throughProxy();
    const bucket = { cost: 1, limit: 10, windowMs: 3_600_000 };
    proxy.dropReplies = true;
    const pending = store.take('b', bucket);
    await until(async () => (await direct.exists(`${prefix}b`)) === 1);
    proxy.dropReplies = false;
    proxy.cut();
    assert.deepEqual(await pending, { allowed: true, remaining: 9, retryAfterMs: 0 });
    const check = redisStore({ client: direct, prefix });
    assert.equal((await check.take('b', { ...bucket, cost: 0 })).remaining, 9);
  });

  it('an increment() resent after a reconnect is counted once', async () => {
    const { store, prefix } = await throughProxy();
    proxy.dropReplies = true;
    const pending = store.increment('c', 5);
    await until(async () => (await direct.exists(`${prefix}c`)) === 1);
    proxy.dropReplies = false;
    proxy.cut();
    assert.equal(await pending, 5);
    assert.equal(await direct.get(`${prefix}c`), '5');
  });

  it('remembers each request id under a short-lived key in the same hash slot as the bucket', async () => {
    const prefix = `dedupe${++n}:`;
    const store = redisStore({ client: direct, prefix, dedupeTtlMs: 600_000 });
    await store.take('b', { cost: 1, limit: 10, windowMs: 60_000 });
    const keys = await direct.keys(`{${prefix}b}:req:*`);
    assert.equal(keys.length, 1);
    const ttl = await direct.pttl(keys[0] as string);
    assert.ok(ttl > 0 && ttl <= 600_000, `PTTL ${ttl}`);
    // A key with its own {tag} keeps it, so the slot is the tag's.
    await store.increment('{tenant-a}:n', 1);
    assert.equal((await direct.keys(`${prefix}{tenant-a}:n:req:*`)).length, 1);
  });

  it('an abort rejects at once with its reason while Redis does not answer', async () => {
    const { store } = await throughProxy();
    proxy.dropReplies = true;
    try {
      const controller = new AbortController();
      const pending = store.get('k', { signal: controller.signal });
      const reason = new Error('caller gave up');
      controller.abort(reason);
      assert.deepEqual(await settledOrPending(pending), { error: reason });
    } finally {
      proxy.dropReplies = false;
    }
  });

  it('an unreachable server fails with a retryable StoreError naming the store and operation', async () => {
    const client = new Redis({
      host: '127.0.0.1',
      port: proxy.port,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    clients.push(client);
    const error = await redisStore({ client })
      .take('b', { cost: 1, limit: 1, windowMs: 1_000 })
      .catch((e: unknown) => e);
    assert.ok(StoreError.isInstance(error), String(error));
    assert.equal(error.store, 'redis');
    assert.equal(error.operation, 'take');
    assert.equal(error.key, 'b');
    assert.equal(error.retryable, true);
    assert.ok(error.cause instanceof Error);
    assert.match(error.message, /^redisStore take\(\): Redis did not answer/);
  });

  it('a command Redis refuses fails with a StoreError that is not retryable', async () => {
    const store = redisStore({ client: direct, prefix: `refused${++n}:` });
    await store.set('text', 'hello');
    const error = await store.increment('text', 1).catch((e: unknown) => e);
    assert.ok(StoreError.isInstance(error), String(error));
    assert.equal(error.operation, 'increment');
    assert.equal(error.retryable, false);
    assert.equal(isRetryable(error), false);
  });
});
