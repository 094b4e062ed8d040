import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { type Executor, type Middleware, type ModelRequest, type StreamPart, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { cache, requestHash } from '../../middleware/cache.js';
import { StoreError } from '../../lib/stores/errors.js';
import { memoryStore } from '../../lib/stores/memory.js';
import { redisStore } from '../../lib/stores/redis.js';
import type { Store } from '../../lib/stores/store.js';
import { REDIS_MISSING, type RedisServer, startRedis } from '../fixtures/redis.js';

const BASE_REQUEST: ModelRequest = { model: 'test-model', messages: [{ role: 'user', content: 'hi' }] };

/** Logs what an outer layer sees of the cache, and whether the layers inside ran. */
function probes(log: string[]): { outer: Middleware; inner: Middleware } {
  return {
    async outer(ctx, next) {
      await next();
      log.push(ctx.state.cache?.hit ? 'hit' : 'miss');
    },
    async inner(_ctx, next) {
      log.push('inner');
      await next();
    },
  };
}

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

const textOf = (parts: readonly StreamPart[]) => parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');

/** The behaviour every store must give the cache. */
function cacheSuite(label: string, makeStore: () => Store): void {
  describe(`cache() with ${label}`, () => {
    it('answers a repeated request from the store without running the layers inside', async () => {
      const log: string[] = [];
      const model = scriptedExecutor(['first answer', 'second answer']);
      const { outer, inner } = probes(log);
      const app = pipeline(model).use(outer, cache({ store: makeStore() }), inner);
      const one = await app.generate(BASE_REQUEST);
      const two = await app.generate(BASE_REQUEST);
      assert.equal(two.message.content, 'first answer');
      assert.deepEqual(two, one);
      assert.notEqual(two, one);
      assert.equal(model.calls.length, 1);
      assert.deepEqual(log, ['inner', 'miss', 'hit']);
    });

    it('does not store errors: the next call reaches the model again', async () => {
      const model = scriptedExecutor([new Error('provider down'), 'ok', 'never']);
      const app = pipeline(model).use(cache({ store: makeStore() }));
      await assert.rejects(app.generate(BASE_REQUEST), /provider down/);
      assert.equal((await app.generate(BASE_REQUEST)).message.content, 'ok');
      assert.equal((await app.generate(BASE_REQUEST)).message.content, 'ok');
      assert.equal(model.calls.length, 2);
    });

    it('stream mode: a miss stores the assembled answer when the stream completes; a hit replays it as parts', async () => {
      const model = scriptedExecutor(['streamed answer', 'never'], { chunkSize: 4 });
      const log: string[] = [];
      const { outer } = probes(log);
      const app = pipeline(model).use(outer, cache({ store: makeStore() }));
      const first = await collect(app.stream(BASE_REQUEST));
      assert.ok(first.filter((p) => p.type === 'text-delta').length > 1);
      const replay = await collect(app.stream(BASE_REQUEST));
      assert.equal(textOf(replay), 'streamed answer');
      assert.equal(replay.at(-1)?.type, 'finish');
      // Stored from a stream, served to generate() too.
      assert.equal((await app.generate(BASE_REQUEST)).message.content, 'streamed answer');
      assert.equal(model.calls.length, 1);
      assert.deepEqual(log, ['miss', 'hit', 'hit']);
    });

    it('stream mode: a stream the consumer leaves early is not stored', async () => {
      const model = scriptedExecutor(['a long answer cut short', 'complete'], { chunkSize: 2 });
      const app = pipeline(model).use(cache({ store: makeStore() }));
      for await (const _ of app.stream(BASE_REQUEST)) break;
      assert.equal((await app.generate(BASE_REQUEST)).message.content, 'complete');
      assert.equal(model.calls.length, 2);
    });
  });
}

cacheSuite('memoryStore', () => memoryStore());

describe('cache() with redisStore', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  let client: Redis;
  let n = 0;
  before(async () => {
    server = await startRedis();
    client = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 });
  });
  after(async () => {
    await client?.quit();
    await server?.stop();
  });
  cacheSuite('redisStore', () => redisStore({ client, prefix: `cache-test-${++n}:` }));

  it('two workers on one Redis share answers', async () => {
    const other = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 });
    try {
      const [modelA, modelB] = [scriptedExecutor(['from worker A']), scriptedExecutor(['from worker B'])];
      const workerA = pipeline(modelA).use(cache({ store: redisStore({ client, prefix: 'fleet:' }) }));
      const workerB = pipeline(modelB).use(cache({ store: redisStore({ client: other, prefix: 'fleet:' }) }));
      await workerA.generate(BASE_REQUEST);
      assert.equal((await workerB.generate(BASE_REQUEST)).message.content, 'from worker A');
      assert.equal(modelB.calls.length, 0);
    } finally {
      await other.quit();
    }
  });
});

describe('cache(): keys, TTL and what is stored', () => {
  it('the key covers model, messages, tools and options, not metadata; option key order does not matter', async () => {
    const base = requestHash(BASE_REQUEST);
    const variants: ModelRequest[] = [
      { ...BASE_REQUEST, model: 'other-model' },
      { ...BASE_REQUEST, messages: [{ role: 'user', content: 'hello' }] },
      { ...BASE_REQUEST, tools: [{ name: 'search', inputSchema: { type: 'object' } }] },
      { ...BASE_REQUEST, options: { temperature: 0 } },
    ];
    for (const variant of variants) assert.notEqual(requestHash(variant), base);
    assert.equal(requestHash({ ...BASE_REQUEST, metadata: { tenant: 'acme', traceId: 'x' } }), base);
    assert.equal(
      requestHash({ ...BASE_REQUEST, options: { temperature: 0, seed: 1 } }),
      requestHash({ ...BASE_REQUEST, options: { seed: 1, temperature: 0 } }),
    );
    // Not one serialisation for two different requests.
    assert.notEqual(
      requestHash({
        ...BASE_REQUEST,
        messages: [
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ],
      }),
      requestHash({ ...BASE_REQUEST, messages: [{ role: 'user', content: 'ab' }] }),
    );
  });

  it('by default a request differing only in metadata is a miss: entries are partitioned by metadata', async () => {
    const model = scriptedExecutor(['for a', 'for b', 'never']);
    const app = pipeline(model).use(cache());
    await app.generate({ ...BASE_REQUEST, metadata: { tenant: 'a' } });
    assert.equal((await app.generate({ ...BASE_REQUEST, metadata: { tenant: 'b' } })).message.content, 'for b');
    // Equal metadata, keys in another order: the same partition.
    assert.equal((await app.generate({ ...BASE_REQUEST, metadata: { tenant: 'a' } })).message.content, 'for a');
    assert.equal(model.calls.length, 2);
  });

  it('partition(ctx) chooses who shares entries; false shares them among every caller', async () => {
    const model = scriptedExecutor(['acme answer', 'globex answer', 'never']);
    const byTenant = pipeline(model).use(cache({ partition: (ctx) => String(ctx.request.metadata?.tenant) }));
    await byTenant.generate({ ...BASE_REQUEST, metadata: { tenant: 'acme', user: 'ann' } });
    const bob = await byTenant.generate({ ...BASE_REQUEST, metadata: { tenant: 'acme', user: 'bob' } });
    assert.equal(bob.message.content, 'acme answer');
    const other = await byTenant.generate({ ...BASE_REQUEST, metadata: { tenant: 'globex', user: 'ann' } });
    assert.equal(other.message.content, 'globex answer');
    assert.equal(model.calls.length, 2);

    const shared = scriptedExecutor(['one', 'never']);
    const app = pipeline(shared).use(cache({ partition: false }));
    await app.generate({ ...BASE_REQUEST, metadata: { tenant: 'a' } });
    assert.equal((await app.generate({ ...BASE_REQUEST, metadata: { tenant: 'b' } })).message.content, 'one');
    assert.equal(shared.calls.length, 1);
  });

  it('a `:` in a partition cannot make two (partition, key) pairs one entry', async () => {
    const store = memoryStore();
    const model = scriptedExecutor(['first', 'second', 'never']);
    const app = pipeline(model).use(
      cache({
        store,
        partition: (ctx) => String(ctx.request.metadata?.p),
        key: (request) => String(request.metadata?.k),
      }),
    );
    await app.generate({ ...BASE_REQUEST, metadata: { p: 'a:b', k: 'c' } });
    assert.equal((await app.generate({ ...BASE_REQUEST, metadata: { p: 'a', k: 'b:c' } })).message.content, 'second');
    assert.ok(await store.get('cache:a%3Ab:c'));
    assert.ok(await store.get('cache:a:b:c'));
  });

  it('rejects a call whose `partition` gives no string instead of putting every such caller in one partition', async () => {
    const model = scriptedExecutor(['never']);
    const app = pipeline(model).use(cache({ partition: (ctx) => ctx.request.metadata?.tenant as string }));
    await assert.rejects(
      app.generate(BASE_REQUEST),
      (e: unknown) =>
        e instanceof TypeError &&
        /`partition` must return a non-empty string, got `undefined`.*`partition: false`/.test(e.message),
    );
    assert.equal(model.calls.length, 0);
  });

  it('a request differing in options is a miss', async () => {
    const model = scriptedExecutor(['one', 'two', 'never']);
    const app = pipeline(model).use(cache());
    await app.generate(BASE_REQUEST);
    assert.equal((await app.generate({ ...BASE_REQUEST, options: { temperature: 1 } })).message.content, 'two');
    assert.equal(model.calls.length, 2);
  });

  it('expires entries after ttlMs on the store clock', async () => {
    let clock = 1_000;
    const model = scriptedExecutor(['first', 'second', 'never']);
    const app = pipeline(model).use(cache({ store: memoryStore({ now: () => clock }), ttlMs: 500 }));
    await app.generate(BASE_REQUEST);
    clock += 499;
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'first');
    clock += 1;
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'second');
    assert.equal(model.calls.length, 2);
  });

  it('stores only finishReason stop by default: cut-off answers and tool calls are asked again', async () => {
    const model = scriptedExecutor([
      { text: 'cut', finishReason: 'length' },
      { toolCalls: [{ name: 'search' }] },
      'done',
      'never',
    ]);
    const app = pipeline(model).use(cache());
    assert.equal((await app.generate(BASE_REQUEST)).finishReason, 'length');
    assert.equal((await app.generate(BASE_REQUEST)).finishReason, 'tool-calls');
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'done');
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'done');
    assert.equal(model.calls.length, 3);
  });

  it('shouldCache and key replace the defaults', async () => {
    const model = scriptedExecutor([{ text: 'cut', finishReason: 'length' }, 'never']);
    const app = pipeline(model).use(
      cache({
        key: (request) => String(request.metadata?.tenant),
        shouldCache: (response) => response.finishReason !== 'error',
      }),
    );
    await app.generate({ ...BASE_REQUEST, metadata: { tenant: 'acme' } });
    const other = {
      model: 'm2',
      messages: [{ role: 'user' as const, content: 'different' }],
      metadata: { tenant: 'acme' },
    };
    assert.equal((await app.generate(other)).message.content, 'cut');
    assert.equal(model.calls.length, 1);
  });

  it('keys entries under `cache:<partition>:` in the store, as JSON with a format version', async () => {
    const store = memoryStore();
    const app = pipeline(scriptedExecutor(['stored'])).use(cache({ store, partition: () => 'tenant-1' }));
    const response = await app.generate(BASE_REQUEST);
    const raw = await store.get(`cache:tenant-1:${requestHash(BASE_REQUEST)}`);
    assert.deepEqual(JSON.parse(raw as string), { v: 1, response });
  });

  it('reads an unreadable entry as a miss and overwrites it', async () => {
    const store = memoryStore();
    const key = `cache:*:${requestHash(BASE_REQUEST)}`;
    const model = scriptedExecutor(['fresh'], { whenDone: 'repeat-last' });
    const app = pipeline(model).use(cache({ store, partition: false }));
    for (const junk of ['not json', '{"v":1,"response":{"finishReason":"stop"}}', '{"v":0,"response":null}']) {
      await store.set(key, junk);
      const before = model.calls.length;
      assert.equal((await app.generate(BASE_REQUEST)).message.content, 'fresh');
      assert.equal(model.calls.length, before + 1, `a miss for ${junk}`);
      assert.notEqual(await store.get(key), junk);
    }
  });

  it('stream mode: a stream that fails midway is not stored', async () => {
    let calls = 0;
    const flaky: Executor = {
      name: 'flaky',
      async generate() {
        calls++;
        return { message: { role: 'assistant', content: 'whole' }, finishReason: 'stop' };
      },
      async *stream() {
        calls++;
        yield { type: 'text-delta', text: 'half' };
        throw new Error('connection reset');
      },
    };
    const app = pipeline(flaky).use(cache());
    await assert.rejects(collect(app.stream(BASE_REQUEST)), /connection reset/);
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'whole');
    assert.equal(calls, 2);
  });

  it('stream mode: an answer longer than maxBufferedChars streams through whole and is not stored', async () => {
    const long = 'y'.repeat(100);
    const model = scriptedExecutor([long, 'short', 'never'], { chunkSize: 10 });
    const app = pipeline(model).use(cache({ maxBufferedChars: 50 }));
    assert.equal(await app.stream(BASE_REQUEST).text(), long);
    assert.equal(await app.stream(BASE_REQUEST).text(), 'short');
    assert.equal(await app.stream(BASE_REQUEST).text(), 'short');
    assert.equal(model.calls.length, 2);
  });

  it('stream mode: a consumer that stops right after the finish part has the whole answer: it is stored', async () => {
    const model = scriptedExecutor(['whole answer', 'never'], { chunkSize: 4 });
    const app = pipeline(model).use(cache());
    const stream = app.stream(BASE_REQUEST);
    for await (const part of stream) if (part.type === 'finish') break;
    assert.equal((await stream.response).message.content, 'whole answer');
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'whole answer');
    assert.equal(model.calls.length, 1);
    assert.equal(model.openStreams, 0);
  });

  it('with onStoreError, a failing store makes every call a miss instead of failing it', async () => {
    const broken: Store = {
      ...memoryStore(),
      name: 'broken',
      get: () => Promise.reject(new Error('store down')),
      set: () => Promise.reject(new Error('store down')),
    };
    const errors: string[] = [];
    const model = scriptedExecutor(['one', 'two']);
    const app = pipeline(model).use(cache({ store: broken, onStoreError: (e) => errors.push((e as Error).message) }));
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'one');
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'two');
    assert.deepEqual(errors, ['store down', 'store down', 'store down', 'store down']);
    const strict = pipeline(scriptedExecutor(['never'])).use(cache({ store: broken }));
    await assert.rejects(strict.generate(BASE_REQUEST), /store down/);
  });

  it('a store that never answers: the call fails after storeTimeoutMs, or goes on as a miss with onStoreError', async () => {
    const hanging: Store = {
      ...memoryStore(),
      name: 'hanging',
      get: () => new Promise<never>(() => {}),
      set: () => new Promise<never>(() => {}),
    };
    const strict = pipeline(scriptedExecutor(['never'])).use(cache({ store: hanging, storeTimeoutMs: 5 }));
    const outcome = await strict.generate(BASE_REQUEST).catch((e: unknown) => e);
    assert.ok(StoreError.isInstance(outcome), String(outcome));
    assert.equal(outcome.operation, 'get');
    assert.equal(outcome.retryable, true);
    assert.match(outcome.message, /did not answer get\(\) within 5 ms \(storeTimeoutMs\)/);

    const seen: string[] = [];
    const model = scriptedExecutor(['answered']);
    const lenient = pipeline(model).use(
      cache({ store: hanging, storeTimeoutMs: 5, onStoreError: (e) => seen.push((e as StoreError).operation) }),
    );
    assert.equal((await lenient.generate(BASE_REQUEST)).message.content, 'answered');
    assert.deepEqual(seen, ['get', 'set']);
    assert.equal(model.calls.length, 1);
  });

  it('rejects a call whose `key` function gives no string, instead of sharing one entry among all such calls', async () => {
    // A key like (req) => req.metadata?.user that comes back undefined must not make every
    // request `cache:undefined` and answer one user's request with another's cached answer.
    const model = scriptedExecutor(['for alice', 'for bob']);
    const app = pipeline(model).use(cache({ key: (request) => request.metadata?.user as string }));
    for (const content of ['alice asks', 'bob asks']) {
      await assert.rejects(
        app.generate({ ...BASE_REQUEST, messages: [{ role: 'user', content }] }),
        (e: unknown) =>
          e instanceof TypeError && /`key` must return a non-empty string, got `undefined`/.test(e.message),
      );
    }
    assert.equal(model.calls.length, 0);
  });

  for (const [option, value] of [
    ['store', {}],
    ['ttlMs', 0],
    ['key', 'tenant'],
    ['shouldCache', true],
    ['onStoreError', 1],
    ['partition', 'tenant'],
    ['maxBufferedChars', 0],
    ['storeTimeoutMs', 0],
  ] as const) {
    it(`rejects \`${option}\` = ${JSON.stringify(value)} at factory time`, () => {
      assert.throws(
        () => cache({ [option]: value } as never),
        (e: unknown) => e instanceof TypeError && e.message.includes(`\`${option}\``),
      );
    });
  }
});
