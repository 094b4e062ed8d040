// Issue 9, "keep what already holds": guarantees that held when the adversarial review ran, each
// pinned here so a later change cannot lose it silently.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { z } from 'zod';
import {
  type Executor,
  type ModelResponse,
  PluginConfigError,
  type PluginFactories,
  definePlugin,
  defineMiddleware,
  parsePluginConfig,
  pipeline,
  pluginFactory,
  runAgent,
  tool,
} from 'modelware';
import { cache, redactPii, retry, timeout } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { memoryStore } from '../../lib/stores/memory.js';
import { redisStore } from '../../lib/stores/redis.js';
import { deferred } from '../fixtures/agent.js';
import { REDIS_MISSING, type RedisServer, startRedis } from '../fixtures/redis.js';

/** Attack payloads as they arrive from the wire: `JSON.parse` makes `__proto__` an own key. */
const POISON = '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}';
const poison = (): Record<string, unknown> => JSON.parse(POISON);

function assertClean(): void {
  const probe: Record<string, unknown> = {};
  assert.equal(probe.polluted, undefined, 'Object.prototype was polluted');
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
}

describe('no prototype pollution', () => {
  test('through tool arguments: a loose schema passes the keys as own data, nothing global changes', async () => {
    const seen: unknown[] = [];
    const echo = tool({
      name: 'echo',
      description: 'Echoes',
      input: z.looseObject({}),
      execute: (input) => {
        seen.push(input);
        return 'done';
      },
    });
    await runAgent({
      modelId: 'test-model',
      model: scriptedExecutor([{ toolCalls: [{ id: 'c1', name: 'echo', input: poison() }] }, 'ok']),
      messages: [{ role: 'user', content: 'go' }],
      tools: [echo],
    });
    assertClean();
    const input = seen[0] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(input), Object.prototype);
    assert.equal(input.polluted, undefined);
  });

  test('through tool arguments: a strict schema drops them', async () => {
    const seen: unknown[] = [];
    const add = tool({
      name: 'add',
      description: 'Adds',
      input: z.object({ a: z.number() }),
      execute: (input) => {
        seen.push(input);
        return 'done';
      },
    });
    await runAgent({
      modelId: 'test-model',
      model: scriptedExecutor([{ toolCalls: [{ id: 'c1', name: 'add', input: { ...poison(), a: 1 } }] }, 'ok']),
      messages: [{ role: 'user', content: 'go' }],
      tools: [add],
    });
    assertClean();
    assert.deepEqual(seen, [{ a: 1 }]);
  });

  test('through metadata: layers updating it, and plugin `when.metadata` conditions', async () => {
    const executor = scriptedExecutor(['ok']);
    const app = pipeline(executor).use(
      defineMiddleware({
        name: 'tagger',
        async call(ctx, next) {
          ctx.update((draft) => {
            if (draft.metadata) draft.metadata.tagged = true;
          });
          await next();
        },
      }),
    );
    await app.generate({ model: 'm', messages: [{ role: 'user', content: 'hi' }], metadata: poison() as never });
    assertClean();
    const metadata = executor.calls[0]?.request.metadata as Record<string, unknown>;
    assert.equal(metadata.tagged, true);
    assert.ok(Object.hasOwn(metadata, '__proto__'));
  });

  test('through cached responses: a hit returns the stored tool input as data', async () => {
    const store = memoryStore();
    const app = pipeline(
      scriptedExecutor([{ toolCalls: [{ id: 'c1', name: 'echo', input: poison() }] }], { whenDone: 'throw' }),
    ).use(cache({ store, shouldCache: () => true }));
    const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
    const miss = await app.generate(request);
    const hit = await app.generate(request);
    assertClean();
    assert.deepEqual(hit, miss);
    const part = (hit.message.content as readonly { input?: unknown }[])[0];
    assert.equal(Object.getPrototypeOf(part?.input), Object.prototype);
  });

  test('through a cache entry planted in the store', async () => {
    // A store shared with something hostile answers every read with a crafted entry: it is read
    // with JSON.parse and checked, never merged into anything.
    const hostile = `{"v": 1, "__proto__": {"polluted": "yes"}, "response": ${POISON}}`;
    const store = { ...memoryStore(), name: 'hostile', get: async () => hostile };
    const app = pipeline(scriptedExecutor(['fresh'])).use(cache({ store }));
    const response = await app.generate({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    assertClean();
    assert.equal(response.message.content, 'fresh');
  });

  test('through config: `__proto__` and `constructor.prototype` keys in YAML and JSON', async () => {
    const received: unknown[] = [];
    const keep = (options: unknown) => {
      received.push(options);
      return definePlugin({ name: `p${received.length}`, hooks: {} });
    };
    const factories: PluginFactories = { raw: { create: keep }, typed: pluginFactory(z.looseObject({}), keep) };
    const yaml = [
      'plugins:',
      '  - plugin: raw',
      '    options: { __proto__: { polluted: yes }, constructor: { prototype: { polluted: yes } } }',
      '  - plugin: typed',
      '    name: typed',
      '    options: { __proto__: { polluted: yes } }',
      '    when: { metadata: { __proto__: x } }',
    ].join('\n');
    await parsePluginConfig(yaml, { file: 'p.yaml', factories });
    await parsePluginConfig(`{"plugins": [{"plugin": "raw", "options": ${POISON}}]}`, { file: 'p.json', factories });
    assertClean();
    for (const options of received) assert.equal(Object.getPrototypeOf(options), Object.prototype);
    await assert.rejects(
      parsePluginConfig('{"__proto__": {"plugins": []}, "plugins": []}', { file: 'p.json', factories }),
      (error: unknown) => PluginConfigError.isInstance(error) && /Unrecognized key: "__proto__"/.test(error.message),
    );
  });
});

describe('config never evaluates code or loads modules', () => {
  const factories: PluginFactories = {};
  const CASES: [string, string][] = [
    ['a !!js/function tag', 'plugins:\n  - !!js/function "function () { globalThis.ran = true }"\n'],
    ['a !!js/undefined tag', 'plugins: [!!js/undefined ""]\n'],
    ['a !!python/object tag', 'plugins: [!!python/object:os.system "true"]\n'],
    ['a custom tag', 'plugins: [!include other.yaml]\n'],
  ];
  for (const [label, text] of CASES) {
    test(`${label} is refused`, async () => {
      await assert.rejects(parsePluginConfig(text, { file: 'p.yaml', factories }), (error: unknown) =>
        PluginConfigError.isInstance(error),
      );
      assert.equal((globalThis as { ran?: unknown }).ran, undefined);
    });
  }

  for (const name of ['node:child_process', './evil.js', 'constructor', 'toString', '__proto__']) {
    test(`a plugin named \`${name}\` is an unknown factory, not a module or a prototype member`, async () => {
      await assert.rejects(
        parsePluginConfig(JSON.stringify({ plugins: [{ plugin: name }] }), { file: 'p.json', factories }),
        (error: unknown) =>
          PluginConfigError.isInstance(error) &&
          /no plugin factory has this name\. Registered: \(none\)/.test(error.message),
      );
    });
  }
});

describe('Redis keys and Lua arguments are data', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  let client: Redis;
  before(async () => {
    server = await startRedis();
    client = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 });
  });
  after(async () => {
    await client?.quit();
    await server?.stop();
  });

  const HOSTILE = [
    `k"]) redis.call('FLUSHALL') --`,
    "k'..redis.call('SET','owned','1')..'",
    'k\r\nFLUSHALL\r\n',
    '*1\r\n$8\r\nFLUSHALL\r\n',
    'k {KEYS[1]} ARGV[1] * ? [a-z]',
  ];

  test('set/get/increment/take/delete store hostile keys and values literally', async () => {
    const store = redisStore({ client, prefix: 'sec:' });
    await client.set('sentinel', 'still here');
    for (const key of HOSTILE) {
      await store.set(key, `value of ${key}`);
      assert.equal(await client.get(`sec:${key}`), `value of ${key}`);
      assert.equal(await store.get(key), `value of ${key}`);
      assert.equal(await store.increment(`n:${key}`, 2), 2);
      assert.equal(await client.get(`sec:n:${key}`), '2');
      assert.equal((await store.take(`b:${key}`, { cost: 1, limit: 3, windowMs: 60_000 })).remaining, 2);
      assert.equal(await store.delete(key), true);
      assert.equal(await client.exists(`sec:${key}`), 0);
    }
    assert.equal(await client.get('sentinel'), 'still here');
    assert.equal(await client.get('owned'), null);
    // Nothing matched as a pattern: only the keys written exist under the prefix (besides the
    // short-lived request ids that make take/increment count once, see redisStore's dedupeTtlMs).
    const written = (await client.keys('sec:*')).filter((key) => !/:req:[^:]+$/.test(key));
    assert.equal(written.length, HOSTILE.length * 2);
  });
});

describe('restore sessions are isolated across concurrent calls', () => {
  test('two interleaved calls each get back their own value, never the other one', async () => {
    const gates = [deferred(), deferred()];
    let call = 0;
    // Echoes the placeholder the user message carried, after a gate the test opens in reverse order.
    const executor: Executor = {
      name: 'echo',
      async generate(request): Promise<ModelResponse> {
        const gate = gates[call++];
        const user = request.messages.at(-1)?.content as string;
        await gate?.promise;
        return { message: { role: 'assistant', content: `You wrote: ${user}` }, finishReason: 'stop' };
      },
    };
    const app = pipeline(executor).use(redactPii({ restore: true }));
    const ask = (email: string) => app.generate({ model: 'm', messages: [{ role: 'user', content: `Mail ${email}` }] });
    const first = ask('alice@example.com');
    const second = ask('bob@example.org');
    await new Promise((resolve) => setImmediate(resolve));
    gates[1]?.resolve();
    gates[0]?.resolve();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.message.content, 'You wrote: Mail alice@example.com');
    assert.equal(b.message.content, 'You wrote: Mail bob@example.org');
  });
});

describe('cancellation leaves no timers or listeners', () => {
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

  test('aborting a call inside timeout() and retry() while the model waits', async () => {
    const controller = new AbortController();
    const before = timers();
    const app = pipeline(scriptedExecutor([{ text: 'late', delayMs: 3_600_000 }])).use(
      retry({ retries: 3, initialDelayMs: 3_600_000 }),
      timeout({ timeoutMs: 3_600_000 }),
    );
    const pending = app.generate(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      { signal: controller.signal },
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(timers() > before, 'the model and timeout() hold timers while the call runs');
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(timers(), before);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  test("aborting during retry()'s back-off sleep", async () => {
    const controller = new AbortController();
    const before = timers();
    const failing = new Error('flaky');
    const app = pipeline(scriptedExecutor([failing, 'ok'])).use(
      retry({ retries: 3, initialDelayMs: 3_600_000, shouldRetry: () => true }),
      timeout({ timeoutMs: 3_600_000 }),
    );
    const pending = app.generate(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      { signal: controller.signal },
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(timers() > before, 'retry() sleeps on a timer');
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(timers(), before);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  test('a stream abandoned by break inside timeout()', async () => {
    const controller = new AbortController();
    const before = timers();
    const app = pipeline(scriptedExecutor([{ text: 'a long answer in many parts' }], { chunkSize: 2 })).use(
      timeout({ timeoutMs: 3_600_000 }),
    );
    for await (const _part of app.stream(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      { signal: controller.signal },
    )) {
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(timers(), before);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});
