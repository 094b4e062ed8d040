// One conformance suite, run against memoryStore() and redisStore() (a real redis-server on a
// free port). No test sleeps: the memory store runs on an injected clock, and for Redis, whose
// clock cannot be moved, `advance(ms)` takes `ms` off every key's remaining TTL in one script
// (a key left with none is deleted by Redis itself). TTLs are minutes long, so the real time a
// loaded machine spends between two commands never decides an assertion.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { memoryStore } from '../../../lib/stores/memory.js';
import { redisStore } from '../../../lib/stores/redis.js';
import { type LedgerStore, isLedgerStore } from '../../../lib/stores/store.js';
import { REDIS_MISSING, type RedisServer, startRedis } from '../../fixtures/redis.js';

interface Backend {
  /** A store on the shared backend; stores made with the same prefix see the same keys. */
  store(prefix?: string): LedgerStore;
  /** A second connection (its own client, for Redis) with the same prefix as `store()`. */
  other(): LedgerStore;
  advance(ms: number): Promise<void>;
}

const T0 = 1_700_000_000_000;

/** Moves Redis' expiry clock forward by ARGV[1] ms: every key with a TTL loses that much of it. */
const ADVANCE = `for _, key in ipairs(redis.call('KEYS', '*')) do
  local ttl = redis.call('PTTL', key)
  if ttl > 0 then
    if ttl <= tonumber(ARGV[1]) then redis.call('DEL', key) else redis.call('PEXPIRE', key, ttl - tonumber(ARGV[1])) end
  end
end
return 0`;

function conformance(label: string, backend: () => Backend): void {
  describe(`${label}: Store conformance`, () => {
    let n = 0;
    // Every test gets its own prefix, so keys never collide between tests on the shared backend.
    const fresh = () => backend().store(`t${++n}:`);

    it('get() of a missing key is undefined; set() then get() returns the value; set() replaces', async () => {
      const store = fresh();
      assert.equal(await store.get('k'), undefined);
      await store.set('k', '{"a":1}');
      assert.equal(await store.get('k'), '{"a":1}');
      await store.set('k', 'two');
      assert.equal(await store.get('k'), 'two');
    });

    it('delete() removes a key and says whether it existed', async () => {
      const store = fresh();
      await store.set('k', 'v');
      assert.equal(await store.delete('k'), true);
      assert.equal(await store.get('k'), undefined);
      assert.equal(await store.delete('k'), false);
    });

    it('keys are namespaced by the prefix', async () => {
      const b = backend();
      const one = b.store('ns-one:');
      const two = b.store('ns-two:');
      await one.set('shared', 'from one');
      assert.equal(await two.get('shared'), undefined);
      assert.equal(await b.store('ns-one:').get('shared'), 'from one');
    });

    it('set() with ttlMs expires the key; without ttlMs it replaces an earlier TTL', async () => {
      const b = backend();
      const store = b.store(`t${++n}:`);
      await store.set('short', 'v', { ttlMs: 60_000 });
      await store.set('long', 'v', { ttlMs: 3_600_000 });
      await store.set('cleared', 'v', { ttlMs: 60_000 });
      await store.set('cleared', 'kept');
      assert.equal(await store.get('short'), 'v');
      await b.advance(90_000);
      assert.equal(await store.get('short'), undefined);
      assert.equal(await store.get('long'), 'v');
      assert.equal(await store.get('cleared'), 'kept');
    });

    it('increment() starts a missing key at 0 and adds, including negative steps', async () => {
      const store = fresh();
      assert.equal(await store.increment('c', 5), 5);
      assert.equal(await store.increment('c', 2), 7);
      assert.equal(await store.increment('c', -10), -3);
      assert.equal(await store.get('c'), '-3');
    });

    it('increment() sets the TTL when it creates the key and never extends it (a fixed window)', async () => {
      const b = backend();
      const store = b.store(`t${++n}:`);
      assert.equal(await store.increment('w', 1, { ttlMs: 600_000 }), 1);
      await b.advance(350_000);
      assert.equal(await store.increment('w', 1, { ttlMs: 600_000 }), 2);
      await b.advance(350_000);
      assert.equal(await store.get('w'), undefined);
      assert.equal(await store.increment('w', 1, { ttlMs: 600_000 }), 1);
    });

    it('increment() rejects a key holding a non-integer, and a non-integer step', async () => {
      const store = fresh();
      await store.set('text', 'hello');
      await assert.rejects(store.increment('text', 1));
      assert.equal(await store.get('text'), 'hello');
      await assert.rejects(store.increment('c', 1.5), TypeError);
    });

    it('take() admits up to `limit`, then refuses with the exact wait, and refills over time', async () => {
      const store = fresh();
      // One unit per 1,000 s: a bucket's key lives for minutes, so a slow machine cannot see it expire.
      const bucket = { limit: 3, windowMs: 3_000_000 };
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await store.take('b', { ...bucket, cost: 1, now: T0 }));
      assert.deepEqual(results, [
        { allowed: true, remaining: 2, retryAfterMs: 0 },
        { allowed: true, remaining: 1, retryAfterMs: 0 },
        { allowed: true, remaining: 0, retryAfterMs: 0 },
        { allowed: false, remaining: 0, retryAfterMs: 1_000_000 },
      ]);
      assert.deepEqual(await store.take('b', { ...bucket, cost: 1, now: T0 + 999_999 }), {
        allowed: false,
        remaining: 0,
        retryAfterMs: 1,
      });
      assert.deepEqual(await store.take('b', { ...bucket, cost: 1, now: T0 + 1_000_000 }), {
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
      // A long pause refills to the limit, never beyond.
      assert.deepEqual(await store.take('b', { ...bucket, cost: 1, now: T0 + 60_000_000 }), {
        allowed: true,
        remaining: 2,
        retryAfterMs: 0,
      });
    });

    it('take() with a cost takes nothing when refused; cost 0 only reads', async () => {
      const store = fresh();
      const bucket = { limit: 10, windowMs: 1_000_000 };
      assert.equal((await store.take('b', { ...bucket, cost: 4, now: T0 })).remaining, 6);
      assert.equal((await store.take('b', { ...bucket, cost: 4, now: T0 })).remaining, 2);
      assert.deepEqual(await store.take('b', { ...bucket, cost: 4, now: T0 }), {
        allowed: false,
        remaining: 2,
        retryAfterMs: 200_000,
      });
      assert.deepEqual(await store.take('b', { ...bucket, cost: 0, now: T0 }), {
        allowed: true,
        remaining: 2,
        retryAfterMs: 0,
      });
      assert.deepEqual(await store.take('b', { ...bucket, cost: 2, now: T0 }), {
        allowed: true,
        remaining: 0,
        retryAfterMs: 0,
      });
    });

    it('take() with a clock behind the last take refills nothing and counts the skew in the wait', async () => {
      const store = fresh();
      const bucket = { limit: 1, windowMs: 1_000_000, cost: 1 };
      assert.equal((await store.take('b', { ...bucket, now: T0 + 2_000_000 })).allowed, true);
      assert.deepEqual(await store.take('b', { ...bucket, now: T0 }), {
        allowed: false,
        remaining: 0,
        retryAfterMs: 3_000_000,
      });
      assert.equal((await store.take('b', { ...bucket, now: T0 + 2_999_999 })).allowed, false);
      assert.equal((await store.take('b', { ...bucket, now: T0 + 3_000_000 })).allowed, true);
    });

    it('take() rejects a cost above the limit and invalid limits, windows and keys', async () => {
      const store = fresh();
      const cases: [string, Record<string, unknown>][] = [
        ['`cost`', { cost: 11, limit: 10, windowMs: 1_000 }],
        ['`cost`', { cost: -1, limit: 10, windowMs: 1_000 }],
        ['`limit`', { cost: 1, limit: 0, windowMs: 1_000 }],
        ['`windowMs`', { cost: 1, limit: 10, windowMs: 1.5 }],
        ['too large', { cost: 1, limit: 2 ** 30, windowMs: 2 ** 30 }],
      ];
      for (const [mention, options] of cases) {
        await assert.rejects(
          store.take('b', options as never),
          (e: unknown) => e instanceof TypeError && e.message.includes(mention),
        );
      }
      await assert.rejects(store.get(''), TypeError);
    });

    it('take() stays exact for buckets with more than 14 significant digits', async () => {
      // limit × windowMs ≈ 1e15: the level is kept in whole units, and every digit counts. The
      // first take leaves a deficit of 10,000 units (100 s to refill), so the key outlives the test.
      const store = fresh();
      const bucket = { limit: 9_999_991, windowMs: 99_999_989 };
      const steps = [
        [10_000, 0],
        [1, 0],
        [3, 0],
        [7, 1],
        [9_989_000, 2],
        [1_234, 2],
        [5, 10],
      ] as const;
      const seen: unknown[] = [];
      for (const [cost, at] of steps) seen.push(await store.take('big', { ...bucket, cost, now: T0 + at }));
      // Worked out by hand in the same units: a full bucket, minus costs, plus limit per ms elapsed.
      let level = bucket.limit * bucket.windowMs;
      let last = 0;
      const expected = steps.map(([cost, at]) => {
        level = Math.min(bucket.limit * bucket.windowMs, level + (at - last) * bucket.limit);
        last = at;
        const need = cost * bucket.windowMs;
        const allowed = level >= need;
        if (allowed) level -= need;
        const retryAfterMs = allowed ? 0 : Math.ceil((need - level) / bucket.limit);
        return { allowed, remaining: Math.floor(level / bucket.windowMs), retryAfterMs };
      });
      assert.deepEqual(seen, expected);
    });

    it('a key used as a bucket is refused by get() and increment()', async () => {
      const store = fresh();
      await store.take('b', { cost: 1, limit: 5, windowMs: 1_000_000 });
      await assert.rejects(store.get('b'));
      await assert.rejects(store.increment('b', 1));
    });

    it('50 concurrent take() calls from two connections never over-admit (store clock)', async () => {
      const b = backend();
      const [one, two] = [b.store(), b.other()];
      const key = `t${++n}:bucket`;
      // Ten units an hour: the few ms the test takes refill nothing.
      const bucket = { cost: 1, limit: 10, windowMs: 3_600_000 };
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).take(key, bucket)));
      assert.equal(results.filter((r) => r.allowed).length, 10);
      // Each admission saw a distinct remaining count: 9 down to 0.
      assert.deepEqual(
        results
          .filter((r) => r.allowed)
          .map((r) => r.remaining)
          .sort((x, y) => y - x),
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
      );
    });

    it('50 concurrent take() calls with costs from two connections admit exactly what fits (injected clock)', async () => {
      const b = backend();
      const [one, two] = [b.store(), b.other()];
      const key = `t${++n}:bucket`;
      const bucket = { limit: 100, windowMs: 6_000_000, now: T0 };
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).take(key, { ...bucket, cost: 3 })),
      );
      assert.equal(results.filter((r) => r.allowed).length, 33);
      assert.equal((await one.take(key, { ...bucket, cost: 0 })).remaining, 1);
    });

    it('50 concurrent increment() calls from two connections each see a distinct count', async () => {
      const b = backend();
      const [one, two] = [b.store(), b.other()];
      const key = `t${++n}:counter`;
      const seen = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? one : two).increment(key, 1, { ttlMs: 60_000 })),
      );
      assert.deepEqual(
        [...seen].sort((x, y) => x - y),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal(await one.get(key), '50');
    });

    it('reserve() adds every amount when each counter stays within its limit, else nothing', async () => {
      const store = fresh();
      const limits = { tokens: 100, nanoUsd: 1_000 };
      const first = await store.reserve('l', { amounts: { tokens: 60, nanoUsd: 100 }, limits });
      assert.deepEqual(first, { allowed: true, used: { tokens: 60, nanoUsd: 100 }, refusedBy: undefined });
      const refused = await store.reserve('l', { amounts: { tokens: 41, nanoUsd: 1 }, limits });
      assert.deepEqual(refused, { allowed: false, used: { tokens: 60, nanoUsd: 100 }, refusedBy: 'tokens' });
      const exact = await store.reserve('l', { amounts: { tokens: 40, nanoUsd: 900 }, limits });
      assert.deepEqual(exact.used, { tokens: 100, nanoUsd: 1_000 });
      assert.equal(isLedgerStore(store), true);
    });

    it('settle() replaces a reservation by the actual use; actual 0 releases it', async () => {
      const store = fresh();
      const limits = { tokens: 100 };
      await store.reserve('l', { amounts: { tokens: 80 }, limits });
      assert.deepEqual(await store.settle('l', { reserved: { tokens: 80 }, actual: { tokens: 30 } }), {
        applied: true,
        used: { tokens: 30 },
      });
      await store.reserve('l', { amounts: { tokens: 70 }, limits });
      assert.deepEqual((await store.settle('l', { reserved: { tokens: 70 }, actual: { tokens: 0 } })).used, {
        tokens: 30,
      });
      // Used above the limit (an estimate that fell short) refuses even a zero-cost reservation.
      await store.reserve('l', { amounts: { tokens: 70 }, limits });
      await store.settle('l', { reserved: { tokens: 70 }, actual: { tokens: 90 } });
      const after = await store.reserve('l', { amounts: { tokens: 0 }, limits });
      assert.deepEqual(after, { allowed: false, used: { tokens: 120 }, refusedBy: 'tokens' });
    });

    it('a ledger expires after ttlMs; a late settle() changes nothing and does not recreate it', async () => {
      const b = backend();
      const store = b.store(`t${++n}:`);
      await store.reserve('l', { amounts: { tokens: 50 }, limits: { tokens: 100 }, ttlMs: 60_000 });
      await store.reserve('l', { amounts: { tokens: 10 }, limits: { tokens: 100 }, ttlMs: 600_000 });
      await b.advance(90_000);
      assert.deepEqual(await store.settle('l', { reserved: { tokens: 50 }, actual: { tokens: 5 } }), {
        applied: false,
        used: { tokens: 0 },
      });
      const next = await store.reserve('l', { amounts: { tokens: 100 }, limits: { tokens: 100 } });
      assert.equal(next.allowed, true);
    });

    it('rejects bad amounts: negative, fractional, unknown counter in actual or limits', async () => {
      const store = fresh();
      for (const options of [
        { amounts: { tokens: -1 }, limits: {} },
        { amounts: { tokens: 1.5 }, limits: {} },
        { amounts: { 'bad name': 1 }, limits: {} },
        { amounts: { tokens: 1 }, limits: { other: 5 } },
      ]) {
        await assert.rejects(store.reserve('l', options), TypeError);
      }
      await assert.rejects(store.settle('l', { reserved: { tokens: 1 }, actual: { other: 1 } }), TypeError);
    });

    it('60 concurrent reserve() calls from two connections never pass the limit', async () => {
      const b = backend();
      const [one, two] = [b.store(), b.other()];
      const key = `t${++n}:ledger`;
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          (i % 2 ? one : two).reserve(key, { amounts: { tokens: 7 }, limits: { tokens: 100 } }),
        ),
      );
      assert.equal(results.filter((r) => r.allowed).length, 14);
      assert.equal(Math.max(...results.map((r) => r.used.tokens as number)), 98);
    });
  });
}

// --- memory ---------------------------------------------------------------------------------

{
  let clock = T0;
  const shared = new Map<string, LedgerStore>();
  conformance('memoryStore', () => ({
    // One memory store per prefix stands in for "the same backend".
    store: (prefix = 'shared:') => {
      let store = shared.get(prefix);
      if (!store) shared.set(prefix, (store = memoryStore({ prefix, now: () => clock })));
      return store;
    },
    other() {
      return this.store();
    },
    async advance(ms) {
      clock += ms;
    },
  }));
}

describe('memoryStore()', () => {
  it('drops expired keys nobody reads again as later keys are written', async () => {
    let clock = T0;
    const store = memoryStore({ now: () => clock });
    for (let i = 0; i < 500; i++) await store.set(`old${i}`, 'v', { ttlMs: 10 });
    assert.equal(store.size, 500);
    clock += 11;
    for (let i = 0; i < 600; i++) await store.set(`new${i}`, 'v');
    assert.ok(store.size <= 600, `expected the 500 expired keys to be swept, size is ${store.size}`);
    assert.equal(await store.get('new0'), 'v');
  });

  it('holds at most maxKeys, evicting expired keys first, then the least recently written', async () => {
    let clock = T0;
    const store = memoryStore({ now: () => clock, maxKeys: 3 });
    await store.set('a', '1');
    await store.set('b', '2', { ttlMs: 5 });
    await store.set('c', '3');
    await store.set('a', '1 again');
    clock += 10;
    await store.set('d', '4'); // b expired: it goes, nothing live is evicted
    assert.deepEqual([await store.get('a'), await store.get('c'), await store.get('d')], ['1 again', '3', '4']);
    await store.set('e', '5'); // full: c is the least recently written
    assert.equal(store.size, 3);
    assert.equal(await store.get('c'), undefined);
    assert.equal(await store.get('a'), '1 again');
  });

  it('drops a refilled bucket: a full bucket is the same as a missing one', async () => {
    const store = memoryStore();
    await store.take('b', { cost: 1, limit: 2, windowMs: 1_000, now: T0 });
    assert.equal(store.size, 1);
    await store.take('b', { cost: 0, limit: 2, windowMs: 1_000, now: T0 + 500 });
    assert.equal(store.size, 0);
  });

  it('leaves no timer behind', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const store = memoryStore();
    await store.set('k', 'v', { ttlMs: 60_000 });
    await store.increment('c', 1, { ttlMs: 60_000 });
    await store.take('b', { cost: 1, limit: 1, windowMs: 60_000 });
    assert.equal(timers(), before);
  });

  for (const [option, value] of [
    ['prefix', 5],
    ['now', 'soon'],
    ['maxKeys', 0],
  ] as const) {
    it(`rejects \`${option}\` = ${String(value)} at factory time`, () => {
      assert.throws(
        () => memoryStore({ [option]: value } as never),
        (e: unknown) => e instanceof TypeError && e.message.includes(`\`${option}\``),
      );
    });
  }
});

// --- redis ----------------------------------------------------------------------------------

describe('redisStore() against a real redis-server', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 });
    clients.push(client);
    return client;
  };
  let main: Redis;
  let second: Redis;

  before(async () => {
    server = await startRedis();
    main = connect();
    second = connect();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await server?.stop();
  });

  conformance('redisStore', () => ({
    store: (prefix = 'shared:') => redisStore({ client: main, prefix }),
    other: () => redisStore({ client: second, prefix: 'shared:' }),
    advance: async (ms) => {
      await main.eval(ADVANCE, 0, ms);
    },
  }));

  it('writes under the prefix (default `modelware:`) and TTLs with PX', async () => {
    await redisStore({ client: main }).set('plain', 'v', { ttlMs: 60_000 });
    assert.equal(await main.get('modelware:plain'), 'v');
    const ttl = await main.pttl('modelware:plain');
    assert.ok(ttl > 0 && ttl <= 60_000, `PTTL ${ttl}`);
  });

  it('gives a bucket key a TTL of the time to refill', async () => {
    // The script sets the TTL on the server's clock; read against it, with minutes of margin.
    const store = redisStore({ client: main, prefix: 'ttl:' });
    await store.take('b', { cost: 2, limit: 4, windowMs: 1_000_000, now: T0 });
    const ttl = await main.pttl('ttl:b');
    assert.ok(ttl > 400_000 && ttl <= 500_000, `PTTL ${ttl}`);
  });

  it('keeps a bucket level of 16 significant digits exact in the hash (no %.14g rounding)', async () => {
    const store = redisStore({ client: main, prefix: 'digits:' });
    const bucket = { limit: 9_999_991, windowMs: 99_999_989 };
    // A deficit of 10,000 units takes 100 s to refill: the key is still there when read.
    await store.take('b', { ...bucket, cost: 10_000, now: T0 });
    const expected = bucket.limit * bucket.windowMs - 10_000 * bucket.windowMs;
    assert.ok(Number.isSafeInteger(expected) && String(expected).length >= 15);
    assert.equal(await main.hget('digits:b', 'level'), String(expected));
  });

  it('loads its scripts again after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
    const store = redisStore({ client: main, prefix: 'flush:' });
    await store.set('k', 'before');
    await main.script('FLUSH');
    assert.equal(await store.get('k'), 'before');
    assert.equal(await store.increment('n', 2), 2);
  });

  it('rejects a client that is not an ioredis client', () => {
    assert.throws(
      () => redisStore({ client: {} as never }),
      (e: unknown) => e instanceof TypeError && e.message.includes('`client`'),
    );
  });
});
