import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { CircuitOpenError, type ModelRequest, type ReadonlyModelRequest, pipeline, runAgent } from 'modelware';
import { circuitBreaker, fallback, retry, router } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { memoryStore } from '../../lib/stores/memory.js';
import { redisStore } from '../../lib/stores/redis.js';
import type { Store } from '../../lib/stores/store.js';
import { USER, add } from '../fixtures/agent.js';
import { REDIS_MISSING, type RedisServer, startRedis } from '../fixtures/redis.js';

const BASE_REQUEST: ModelRequest = { model: 'primary', messages: [{ role: 'user', content: 'hi' }] };

/** `primary` always fails with a provider error; `backup` asks for `add` once, then answers. */
function deadPrimary() {
  const received: string[] = [];
  let backupCalls = 0;
  const model = scriptedExecutor(
    [
      (request: ReadonlyModelRequest) => {
        received.push(request.model);
        if (request.model === 'primary') return new Error('503 from primary');
        return ++backupCalls === 1 ? { toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] } : 'done';
      },
    ],
    { whenDone: 'repeat-last' },
  );
  return { model, received };
}

describe('circuitBreaker()', () => {
  for (const withBreaker of [false, true]) {
    it(`fallback over a 2-turn run with a dead primary: ${withBreaker ? '1 request to it with the breaker' : '8 requests to it without'}`, async () => {
      const { model, received } = deadPrimary();
      const app = pipeline(model)
        .use(fallback(['backup']))
        .use(retry({ retries: 3, initialDelayMs: 0 }));
      if (withBreaker) app.use(circuitBreaker({ store: memoryStore(), failureThreshold: 1 }));
      const result = await runAgent({ model: app, modelId: 'primary', messages: [USER], tools: [add] });
      assert.equal(result.turns.length, 2);
      assert.equal(received.filter((m) => m === 'primary').length, withBreaker ? 1 : 8);
      assert.equal(received.filter((m) => m === 'backup').length, 2);
    });
  }

  it('refuses with CircuitOpenError until the cool-down, then lets one probe through; its success closes it (fake clock)', async () => {
    let clock = 1_000_000;
    let healthy = false;
    const states: string[] = [];
    const model = scriptedExecutor([() => (healthy ? 'ok' : new Error('503'))], { whenDone: 'repeat-last' });
    const breaker = circuitBreaker({
      failureThreshold: 2,
      cooldownMs: 10_000,
      now: () => clock,
      onStateChange: ({ state }) => states.push(state),
    });
    const app = pipeline(model).use(breaker);
    await assert.rejects(app.generate(BASE_REQUEST), /503/);
    await assert.rejects(app.generate(BASE_REQUEST), /503/);
    assert.equal(await breaker.state('primary'), 'open');
    clock += 4_000;
    const refused = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
    assert.ok(CircuitOpenError.isInstance(refused));
    assert.equal(refused.code, 'CIRCUIT_OPEN');
    assert.equal(refused.model, 'primary');
    assert.equal(refused.retryAfterMs, 6_000);
    assert.equal(model.calls.length, 2);
    clock += 6_000;
    assert.equal(await breaker.state('primary'), 'half-open');
    // The probe fails: open again for a whole cool-down.
    await assert.rejects(app.generate(BASE_REQUEST), /503/);
    await assert.rejects(app.generate(BASE_REQUEST), CircuitOpenError);
    clock += 10_000;
    healthy = true;
    await app.generate(BASE_REQUEST);
    assert.equal(await breaker.state('primary'), 'closed');
    await app.generate(BASE_REQUEST);
    assert.equal(model.calls.length, 5);
    assert.deepEqual(states, ['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('lets one probe at a time: concurrent calls after the cool-down send exactly one', async () => {
    let clock = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sent = 0;
    const model = scriptedExecutor(
      [
        async () => {
          sent++;
          if (sent === 1) return new Error('503');
          await gate;
          return 'ok';
        },
      ],
      { whenDone: 'repeat-last' },
    );
    const breaker = circuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: () => clock });
    const app = pipeline(model).use(breaker);
    await assert.rejects(app.generate(BASE_REQUEST), /503/);
    clock = 100;
    const calls = Array.from({ length: 5 }, () =>
      app.generate(BASE_REQUEST).then(
        () => 'ok',
        (e: unknown) => e,
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const outcomes = await Promise.all(calls);
    assert.equal(outcomes.filter((o) => o === 'ok').length, 1);
    assert.equal(outcomes.filter((o) => CircuitOpenError.isInstance(o)).length, 4);
    assert.equal(sent, 2);
  });

  it('does not count invalid requests or aborts as failures of the model', async () => {
    const model = scriptedExecutor([Object.assign(new Error('bad request'), { retryable: false })], {
      whenDone: 'repeat-last',
    });
    const breaker = circuitBreaker({ failureThreshold: 1 });
    const app = pipeline(model).use(breaker);
    await assert.rejects(app.generate(BASE_REQUEST), /bad request/);
    assert.equal(await breaker.state('primary'), 'closed');
  });

  it('router({ breaker }) routes around a model whose circuit is open', async () => {
    const { model, received } = deadPrimary();
    const breaker = circuitBreaker({ failureThreshold: 1 });
    const app = pipeline(model)
      .use(router({ routes: [{ when: () => true, model: 'primary' }], default: 'backup', breaker }))
      .use(breaker);
    await assert.rejects(app.generate(BASE_REQUEST), /503/);
    await app.generate(BASE_REQUEST);
    assert.deepEqual(received, ['primary', 'backup']);
  });

  it("a store that never answers: 'fail-open' (the default) sends the call", async () => {
    const hanging = { ...memoryStore(), get: () => new Promise<never>(() => {}) } as unknown as Store;
    const model = scriptedExecutor(['ok']);
    const app = pipeline(model).use(circuitBreaker({ store: hanging, storeTimeoutMs: 5 }));
    await app.generate(BASE_REQUEST);
    assert.equal(model.calls.length, 1);
  });

  for (const [label, options, pattern] of [
    ['an unknown option', { threshold: 3 }, /unknown option/],
    ['a zero failureThreshold', { failureThreshold: 0 }, /`failureThreshold`/],
    ['a bad cooldownMs', { cooldownMs: -1 }, /`cooldownMs`/],
    ['a bad onStoreError', { onStoreError: 'ignore' }, /`onStoreError`/],
  ] as const) {
    it(`rejects ${label} when the factory is called`, () => {
      assert.throws(
        () => circuitBreaker(options as never),
        (e: unknown) => e instanceof TypeError && pattern.test(e.message),
      );
    });
  }
});

describe('circuitBreaker() shared through Redis', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await server?.stop();
  });

  it('a model opened by one worker is skipped by another; one probe in the fleet closes it', async () => {
    let clock = 0;
    const worker = () => {
      const client = new Redis({ host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 });
      clients.push(client);
      const { model, received } = deadPrimary();
      const breaker = circuitBreaker({
        store: redisStore({ client, prefix: 'cb:' }),
        failureThreshold: 2,
        cooldownMs: 1_000,
        now: () => clock,
      });
      return {
        app: pipeline(model)
          .use(fallback(['backup']))
          .use(breaker),
        received,
        breaker,
      };
    };
    const [one, two] = [worker(), worker()];
    await one.app.generate(BASE_REQUEST);
    await one.app.generate(BASE_REQUEST);
    assert.equal(await two.breaker.state('primary'), 'open');
    await two.app.generate(BASE_REQUEST);
    assert.deepEqual(two.received, ['backup']);
    clock = 1_000;
    // Both workers call at once after the cool-down: the fleet sends one probe to primary.
    await Promise.all([one.app.generate(BASE_REQUEST), two.app.generate(BASE_REQUEST)]);
    const probes = [...one.received, ...two.received].filter((m) => m === 'primary').length;
    assert.equal(probes, 2 + 1);
  });
});
