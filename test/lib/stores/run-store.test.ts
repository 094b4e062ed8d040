// One contract suite for the run store, run against memoryRunStore() and redisRunStore() (a real
// redis-server on a free port). No test sleeps: the memory store runs on an injected clock, and for
// Redis `advance(ms)` takes `ms` off every key's remaining TTL in one script. Leases last minutes,
// so the real time a loaded machine spends between two commands never decides an assertion.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { ModelwareError, RunLeaseError, RunStoreError, StoreError } from '../../../lib/index.js';
import type { RunLogEntry, RunStore } from '../../../lib/stores/run-store.js';
import { memoryRunStore } from '../../../lib/stores/run-store-memory.js';
import { redisRunStore } from '../../../lib/stores/run-store-redis.js';
import { REDIS_MISSING, type RedisServer, startRedis } from '../../fixtures/redis.js';

interface Backend {
  /** A store on the shared backend; stores with the same prefix see the same runs. */
  store(options?: { maxEntries?: number }): RunStore;
  advance(ms: number): Promise<void>;
}

const LEASE = { ttlMs: 600_000 } as const;

const ADVANCE = `for _, key in ipairs(redis.call('KEYS', '*')) do
  local ttl = redis.call('PTTL', key)
  if ttl > 0 then
    if ttl <= tonumber(ARGV[1]) then redis.call('DEL', key) else redis.call('PEXPIRE', key, ttl - tonumber(ARGV[1])) end
  end
end
return 0`;

const STEP: readonly RunLogEntry[] = [
  { type: 'start', messages: [{ role: 'user', content: 'What is 2 + 3?' }], meta: { runId: 'r', turn: 0 } },
  {
    type: 'message',
    message: {
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'add', input: { a: 2, b: 3 } }],
    },
    meta: { usage: { inputTokens: 10, outputTokens: 4 } },
  },
  { type: 'tool-started', toolCallId: 'c1', toolName: 'add' },
  {
    type: 'tool-result',
    toolCallId: 'c1',
    message: { role: 'tool', toolCallId: 'c1', content: [{ type: 'text', text: 'line 1\nline 2 "quoted" ✓' }] },
  },
  { type: 'interrupted', meta: { pending: ['c2'] } },
  { type: 'message', message: { role: 'assistant', content: '5' } },
  { type: 'decision', toolCallId: 'c2', decision: { type: 'reject', message: 'no,\nnot "that" ✓', by: 'ada' } },
];

let n = 0;
const fresh = () => `run_${++n}`;

function contract(label: string, backend: () => Backend): void {
  describe(`${label}: RunStore contract`, () => {
    it('reads an unknown run as an empty, unfinished log', async () => {
      assert.deepEqual(await backend().store().read(fresh()), { entries: [], length: 0, finished: false });
    });

    it('appends entries of every type and reads them back equal, in order, with the new length', async () => {
      const store = backend().store();
      const run = fresh();
      await store.acquire(run, 'w1', LEASE);
      assert.equal(await store.append(run, STEP.slice(0, 2), { owner: 'w1' }), 2);
      assert.equal(await store.append(run, STEP.slice(2), { owner: 'w1' }), STEP.length);
      assert.deepEqual(await store.read(run), { entries: STEP, length: STEP.length, finished: false });
    });

    it('reads from an index, for incremental reads', async () => {
      const store = backend().store();
      const run = fresh();
      await store.acquire(run, 'w1', LEASE);
      await store.append(run, STEP, { owner: 'w1' });
      const tail = await store.read(run, { from: 4 });
      assert.deepEqual(tail, { entries: STEP.slice(4), length: STEP.length, finished: false });
      assert.deepEqual((await store.read(run, { from: 99 })).entries, []);
    });

    it('refuses an append without the lease (RunLeaseError `LEASE_LOST`) and writes nothing', async () => {
      const store = backend().store();
      const run = fresh();
      await assert.rejects(store.append(run, STEP, { owner: 'w1' }), (e: unknown) => {
        assert.ok(RunLeaseError.isInstance(e) && ModelwareError.isInstance(e));
        assert.deepEqual([e.code, e.runId, e.owner], ['LEASE_LOST', run, 'w1']);
        return true;
      });
      await store.acquire(run, 'w2', LEASE);
      await assert.rejects(store.append(run, STEP, { owner: 'w1' }), { name: 'RunLeaseError', code: 'LEASE_LOST' });
      assert.equal((await store.read(run)).length, 0);
    });

    it('lets one owner hold a lease: a second acquirer gets `held`; the holder re-acquires; release frees it', async () => {
      const store = backend().store();
      const run = fresh();
      assert.deepEqual(await store.acquire(run, 'w1', LEASE), { runId: run, owner: 'w1', ttlMs: 600_000 });
      await assert.rejects(store.acquire(run, 'w2', LEASE), (e: unknown) => {
        assert.ok(RunLeaseError.isInstance(e));
        assert.equal(e.code, 'LEASE_HELD');
        assert.match(e.message, /leased to another worker/);
        return true;
      });
      await store.acquire(run, 'w1', LEASE);
      assert.equal(await store.release(run, 'w2'), false);
      assert.equal(await store.release(run, 'w1'), true);
      assert.equal(await store.release(run, 'w1'), false);
      await store.acquire(run, 'w2', LEASE);
      assert.equal(await store.append(run, STEP.slice(0, 1), { owner: 'w2' }), 1);
    });

    it('of many owners acquiring at once, exactly one gets the lease', async () => {
      const b = backend();
      const run = fresh();
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => b.store().acquire(run, `w${i}`, LEASE)),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.equal((r.reason as RunLeaseError).code, 'LEASE_HELD');
      }
    });

    it('expires a lease after ttlMs: another owner takes over and the old one can neither append nor renew', async () => {
      const b = backend();
      const store = b.store();
      const run = fresh();
      await store.acquire(run, 'w1', { ttlMs: 300_000 });
      await b.advance(200_000);
      await assert.rejects(store.acquire(run, 'w2', LEASE), { code: 'LEASE_HELD' });
      await b.advance(200_000);
      await store.acquire(run, 'w2', LEASE);
      await assert.rejects(store.append(run, STEP.slice(0, 1), { owner: 'w1' }), { code: 'LEASE_LOST' });
      await assert.rejects(store.renew(run, 'w1', LEASE), { name: 'RunLeaseError', code: 'LEASE_LOST' });
      assert.equal(await store.release(run, 'w1'), false);
      assert.equal((await store.read(run)).length, 0);
    });

    it('extends the lease on renew and on every append', async () => {
      const b = backend();
      const store = b.store();
      const run = fresh();
      await store.acquire(run, 'w1', { ttlMs: 300_000 });
      await b.advance(200_000);
      await store.append(run, STEP.slice(0, 1), { owner: 'w1' });
      await b.advance(200_000);
      await store.renew(run, 'w1', { ttlMs: 300_000 });
      await b.advance(200_000);
      await assert.rejects(store.acquire(run, 'w2', LEASE), { code: 'LEASE_HELD' });
      assert.equal(await store.append(run, STEP.slice(1, 2), { owner: 'w1' }), 2);
    });

    it('ends the log at a `finished` entry: read says so and later appends are refused', async () => {
      const store = backend().store();
      const run = fresh();
      await store.acquire(run, 'w1', LEASE);
      await store.append(run, [...STEP.slice(0, 2), { type: 'finished', meta: { stopReason: 'done' } }], {
        owner: 'w1',
      });
      const log = await store.read(run);
      assert.equal(log.finished, true);
      assert.deepEqual(log.entries.at(-1), { type: 'finished', meta: { stopReason: 'done' } });
      await assert.rejects(store.append(run, STEP.slice(0, 1), { owner: 'w1' }), (e: unknown) => {
        assert.ok(RunStoreError.isInstance(e) && ModelwareError.isInstance(e));
        assert.deepEqual([e.code, e.runId], ['RUN_FINISHED', run]);
        return true;
      });
      assert.equal((await store.read(run)).length, 3);
    });

    it('refuses a log over maxEntries, appending nothing of that call', async () => {
      const store = backend().store({ maxEntries: 3 });
      const run = fresh();
      await store.acquire(run, 'w1', LEASE);
      await store.append(run, STEP.slice(0, 2), { owner: 'w1' });
      await assert.rejects(store.append(run, STEP.slice(2, 4), { owner: 'w1' }), (e: unknown) => {
        assert.ok(RunStoreError.isInstance(e));
        assert.deepEqual([e.code, e.runId], ['LOG_FULL', run]);
        return true;
      });
      assert.equal((await store.read(run)).length, 2);
      assert.equal(await store.append(run, STEP.slice(2, 3), { owner: 'w1' }), 3);
    });

    it('refuses entries that are not run log entries, appending nothing', async () => {
      const store = backend().store();
      const run = fresh();
      await store.acquire(run, 'w1', LEASE);
      const cases: unknown[][] = [
        [STEP[1], { type: 'tool-started', toolCallId: 1, toolName: 'x' }],
        [{ type: 'tool-result', message: {} }],
        [{ type: 'bogus' }],
        [null],
        [],
      ];
      for (const entries of cases) {
        await assert.rejects(store.append(run, entries as RunLogEntry[], { owner: 'w1' }), TypeError);
      }
      assert.equal((await store.read(run)).length, 0);
    });

    it('rejects a run id that cannot be a key, an empty owner and a bad ttlMs', async () => {
      const store = backend().store();
      await assert.rejects(store.read('has space'), TypeError);
      await assert.rejects(store.read('{tag}'), TypeError);
      await assert.rejects(store.acquire(fresh(), '', LEASE), TypeError);
      await assert.rejects(store.acquire(fresh(), 'w1', { ttlMs: 0 }), TypeError);
      await assert.rejects(store.read(fresh(), { from: -1 }), TypeError);
    });

    it('delete() removes the log and the lease', async () => {
      const store = backend().store();
      const run = fresh();
      await store.acquire(run, 'w1', LEASE);
      await store.append(run, STEP, { owner: 'w1' });
      assert.equal(await store.delete(run), true);
      assert.equal(await store.delete(run), false);
      assert.deepEqual(await store.read(run), { entries: [], length: 0, finished: false });
      await store.acquire(run, 'w2', LEASE);
    });

    it('rejects with the reason of an aborted signal', async () => {
      const store = backend().store();
      const reason = new Error('stop');
      const signal = AbortSignal.abort(reason);
      await assert.rejects(store.read(fresh(), { signal }), reason);
      await assert.rejects(store.acquire(fresh(), 'w1', { ttlMs: 1000, signal }), reason);
    });
  });
}

describe('memoryRunStore', () => {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const shared = memoryRunStore({ now });
  contract('memory', () => ({
    store: (options) => (options ? memoryRunStore({ now, ...options }) : shared),
    advance: async (ms) => {
      clock += ms;
    },
  }));

  it('drops the least recently written finished run past maxRuns, and refuses a new run when none is finished', async () => {
    const store = memoryRunStore({ maxRuns: 2 });
    for (const run of ['a', 'b']) await store.acquire(run, 'w', LEASE);
    await store.append('a', [{ type: 'finished' }], { owner: 'w' });
    await store.append('b', STEP.slice(0, 1), { owner: 'w' });
    await store.release('a', 'w');
    await store.acquire('c', 'w', LEASE);
    await store.append('c', STEP.slice(0, 1), { owner: 'w' });
    assert.equal(store.size, 2);
    assert.equal((await store.read('a')).length, 0);
    await store.release('c', 'w');
    await store.acquire('d', 'w', LEASE);
    await assert.rejects(store.append('d', STEP.slice(0, 1), { owner: 'w' }), { code: 'STORE_FULL' });
  });

  it('evicts finished runs in the order they finished, however long ago they started', async () => {
    const store = memoryRunStore({ maxRuns: 2 });
    for (const run of ['old', 'new']) await store.acquire(run, 'w', LEASE);
    await store.append('old', STEP.slice(0, 1), { owner: 'w' });
    await store.append('new', [{ type: 'finished' }], { owner: 'w' });
    await store.append('old', [{ type: 'finished' }], { owner: 'w' });
    for (const run of ['old', 'new']) await store.release(run, 'w');
    await store.acquire('c', 'w', LEASE);
    await store.append('c', STEP.slice(0, 1), { owner: 'w' });
    assert.deepEqual([(await store.read('new')).length, (await store.read('old')).length], [0, 2]);
  });

  it('appendSync appends at once, returning the new length, and throws what append rejects with', async () => {
    const store = memoryRunStore();
    await store.acquire('s', 'w', LEASE);
    assert.equal(store.appendSync('s', STEP.slice(0, 2), { owner: 'w' }), 2);
    assert.equal((await store.read('s')).length, 2);
    assert.throws(
      () => store.appendSync('s', STEP.slice(0, 1), { owner: 'other' }),
      (e: unknown) => RunLeaseError.isInstance(e) && e.code === 'LEASE_LOST',
    );
    assert.throws(() => store.appendSync('s', [], { owner: 'w' }), /non-empty array/);
    assert.equal((await store.read('s')).length, 2);
  });

  it('rejects unknown options and bad limits when made', () => {
    assert.throws(() => memoryRunStore({ maxRun: 3 } as never), /unknown option `maxRun`/);
    assert.throws(() => memoryRunStore({ maxEntries: 0 }), /`maxEntries`/);
  });
});

describe('redisRunStore', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  let main: Redis;
  const clients: Redis[] = [];
  before(async () => {
    server = await startRedis();
    main = new Redis({ port: server.port, host: '127.0.0.1', lazyConnect: true });
    await main.connect();
  });
  after(async () => {
    await Promise.all([main, ...clients].map((c) => c.quit()));
    await server.stop();
  });
  // Each store() gets its own connection, so concurrent acquires really race across clients.
  const client = () => {
    const c = new Redis({ port: server.port, host: '127.0.0.1' });
    clients.push(c);
    return c;
  };
  contract('redis', () => ({
    store: (options) => redisRunStore({ client: client(), prefix: 'contract:', ...options }),
    advance: async (ms) => {
      await main.eval(ADVANCE, 0, ms);
    },
  }));

  it('gives copies: changing what was appended or read changes nothing stored', async () => {
    const store = redisRunStore({ client: main, prefix: 'copies:' });
    const run = fresh();
    const message = { role: 'assistant', content: 'original' };
    await store.acquire(run, 'w1', LEASE);
    await store.append(run, [{ type: 'message', message }], { owner: 'w1' });
    message.content = 'changed';
    const first = await store.read(run);
    (first.entries[0] as { message: { content: string } }).message.content = 'changed too';
    assert.deepEqual((await store.read(run)).entries, [
      { type: 'message', message: { role: 'assistant', content: 'original' } },
    ]);
  });

  it('refuses an entry over maxEntryBytes and a log over maxEntries, appending nothing of that call', async () => {
    const store = redisRunStore({ client: main, prefix: 'big:', maxEntries: 3, maxEntryBytes: 200 });
    const run = fresh();
    await store.acquire(run, 'w1', LEASE);
    const big = { type: 'message', message: { role: 'user', content: 'secret '.repeat(50) } } as const;
    await assert.rejects(store.append(run, [STEP[1] as RunLogEntry, big], { owner: 'w1' }), (e: unknown) => {
      assert.ok(RunStoreError.isInstance(e));
      assert.equal(e.code, 'ENTRY_TOO_LARGE');
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
    await store.append(run, STEP.slice(0, 2), { owner: 'w1' });
    await assert.rejects(store.append(run, STEP.slice(2, 4), { owner: 'w1' }), { code: 'LOG_FULL' });
    assert.equal((await store.read(run)).length, 2);
    assert.equal(await store.append(run, STEP.slice(2, 3), { owner: 'w1' }), 3);
  });

  it('refuses entries that are not JSON data or not run log entries, naming the entry, not its content', async () => {
    const store = redisRunStore({ client: main, prefix: 'json:' });
    const run = fresh();
    await store.acquire(run, 'w1', LEASE);
    const cyclic: Record<string, unknown> = { text: 'private' };
    cyclic.self = cyclic;
    const cases: unknown[][] = [
      [{ type: 'message', message: cyclic }],
      [{ type: 'message', message: 10n }],
      [{ type: 'message', message: () => 1 }],
      [{ type: 'tool-started', toolCallId: 1, toolName: 'x' }],
      [{ type: 'bogus' }],
      [],
    ];
    for (const entries of cases) {
      await assert.rejects(store.append(run, entries as RunLogEntry[], { owner: 'w1' }), (e: unknown) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.doesNotMatch(e.message, /private/);
        return true;
      });
    }
    assert.equal((await store.read(run)).length, 0);
  });

  it('keeps a run in three keys of one hash slot, and each append pushes only its new entries', async () => {
    const store = redisRunStore({ client: main, prefix: 'layout:' });
    await store.acquire('r1', 'w1', LEASE);
    await store.append('r1', STEP.slice(0, 2), { owner: 'w1' });
    const before = await main.lrange('layout:run:{r1}:log', 0, -1);
    await store.append('r1', STEP.slice(2, 3), { owner: 'w1' });
    const afterAppend = await main.lrange('layout:run:{r1}:log', 0, -1);
    assert.deepEqual(afterAppend.slice(0, 2), before);
    assert.deepEqual(afterAppend.slice(2), ['T["c1","add"]']);
    assert.equal(await main.hget('layout:run:{r1}:lease', 'owner'), 'w1');
    await store.append('r1', [{ type: 'finished' }], { owner: 'w1' });
    assert.equal(await main.exists('layout:run:{r1}:done'), 1);
  });

  it('reports a damaged entry as RunStoreError `LOG_CORRUPT` without its content', async () => {
    const store = redisRunStore({ client: main, prefix: 'corrupt:' });
    await main.rpush('corrupt:run:{r1}:log', 'M{"secret":');
    await assert.rejects(store.read('r1'), (e: unknown) => {
      assert.ok(RunStoreError.isInstance(e));
      assert.equal(e.code, 'LOG_CORRUPT');
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
  });

  it('loads its scripts again after SCRIPT FLUSH', async () => {
    const store = redisRunStore({ client: main, prefix: 'flush:' });
    await store.acquire('r1', 'w1', LEASE);
    await main.script('FLUSH');
    assert.equal(await store.append('r1', STEP.slice(0, 1), { owner: 'w1' }), 1);
  });

  it('turns an unreachable server into a retryable StoreError naming the operation and run', async () => {
    const dead = new Redis({
      port: 1,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    try {
      await assert.rejects(redisRunStore({ client: dead }).read('r1'), (e: unknown) => {
        assert.ok(StoreError.isInstance(e));
        assert.deepEqual([e.operation, e.key, e.retryable], ['read', 'r1', true]);
        return true;
      });
    } finally {
      dead.disconnect();
    }
  });

  it('rejects unknown options and a client that is not an ioredis client', () => {
    assert.throws(() => redisRunStore({ client: main, prefx: 'x' } as never), /unknown option `prefx`/);
    assert.throws(() => redisRunStore({ client: {} as never }), /`client`/);
  });
});
