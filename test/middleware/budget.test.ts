import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { BudgetExceededError, type ModelRequest, StoreError, pipeline } from 'modelware';
import { budget } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { memoryStore } from '../../lib/stores/memory.js';
import type { LedgerStore, Store } from '../../lib/stores/store.js';

const BASE_REQUEST: ModelRequest = { model: 'test-model', messages: [{ role: 'user', content: 'hi' }] };
const forTenant = (tenant: string): ModelRequest => ({ ...BASE_REQUEST, metadata: { tenant } });
const byTenant = (ctx: { request: { metadata?: Record<string, unknown> | undefined } }) =>
  `tenant:${String(ctx.request.metadata?.tenant ?? 'none')}`;

/** A model that reports `tokens` total tokens per call. */
function spending(tokens: number) {
  return scriptedExecutor([{ text: 'ok', usage: { inputTokens: tokens, outputTokens: 0, totalTokens: tokens } }], {
    whenDone: 'repeat-last',
  });
}

/** What the ledger of `key` holds now. */
async function used(store: LedgerStore, key: string, layer = 'budget'): Promise<number> {
  const { used } = await store.reserve(`budget:${layer}:${key}`, { amounts: { tokens: 0 }, limits: {} });
  return used.tokens as number;
}

describe('budget()', () => {
  it('refuses the call whose estimate would cross the limit, before it is sent', async () => {
    const model = spending(40);
    const store = memoryStore();
    const app = pipeline(model).use(
      budget({ store, limit: { tokens: 100 }, key: byTenant, estimate: () => ({ tokens: 40 }) }),
    );
    await app.generate(forTenant('acme'));
    await app.generate(forTenant('acme'));
    const error = await app.generate(forTenant('acme')).catch((e: unknown) => e);
    assert.ok(BudgetExceededError.isInstance(error));
    assert.equal(error.code, 'BUDGET_EXCEEDED');
    assert.equal(error.limit, 'tokens');
    assert.equal(error.budget, 100);
    assert.equal(error.counted, 120);
    assert.match(error.key ?? '', /^sha256:[0-9a-f]{12}$/);
    assert.ok(!error.message.includes('acme'), 'the key itself never appears in the message');
    assert.equal(model.calls.length, 2);
    assert.equal(await used(store, 'tenant:acme'), 80);
  });

  it('settles against the actual usage, so a generous estimate does not waste the budget', async () => {
    const model = spending(10);
    const store = memoryStore();
    const app = pipeline(model).use(
      budget({ store, limit: { tokens: 100 }, key: byTenant, estimate: () => ({ tokens: 60 }) }),
    );
    let sent = 0;
    for (let i = 0; i < 10; i++) {
      const ok = await app.generate(forTenant('acme')).then(
        () => true,
        (e: unknown) => (BudgetExceededError.isInstance(e) ? false : Promise.reject(e)),
      );
      if (ok) sent++;
    }
    // Admitted while 10 × sent + 60 ≤ 100.
    assert.equal(sent, 5);
    assert.equal(await used(store, 'tenant:acme'), 50);
  });

  it('keeps one ledger per key: one tenant spending all of it leaves another untouched', async () => {
    const store = memoryStore();
    const app = pipeline(spending(50)).use(
      budget({ store, limit: { tokens: 100 }, key: byTenant, estimate: () => ({ tokens: 50 }) }),
    );
    await app.generate(forTenant('a'));
    await app.generate(forTenant('a'));
    await assert.rejects(app.generate(forTenant('a')), BudgetExceededError);
    await app.generate(forTenant('b'));
    assert.deepEqual([await used(store, 'tenant:a'), await used(store, 'tenant:b')], [100, 50]);
  });

  it('a failed call releases its reservation', async () => {
    const store = memoryStore();
    const model = scriptedExecutor([new Error('provider down')]);
    const app = pipeline(model).use(
      budget({ store, limit: { tokens: 100 }, key: byTenant, estimate: () => ({ tokens: 70 }) }),
    );
    await assert.rejects(app.generate(forTenant('acme')), /provider down/);
    assert.equal(await used(store, 'tenant:acme'), 0);
  });

  it('a stream settles at its end with the usage of its finish part', async () => {
    const store = memoryStore();
    const app = pipeline(spending(12)).use(
      budget({ store, limit: { tokens: 100 }, key: byTenant, estimate: () => ({ tokens: 90 }) }),
    );
    const parts = [];
    for await (const part of app.stream(forTenant('acme'))) parts.push(part.type);
    assert.equal(parts.at(-1), 'finish');
    assert.equal(await used(store, 'tenant:acme'), 12);
  });

  it('a stream abandoned before its end releases its reservation', async () => {
    const store = memoryStore();
    const model = scriptedExecutor(
      [{ text: 'a long answer in many parts', usage: { inputTokens: 5, outputTokens: 5 } }],
      {
        chunkSize: 2,
      },
    );
    const app = pipeline(model).use(
      budget({ store, limit: { tokens: 100 }, key: byTenant, estimate: () => ({ tokens: 90 }) }),
    );
    for await (const part of app.stream(forTenant('acme'))) {
      assert.equal(part.type, 'text-delta');
      break;
    }
    assert.equal(await used(store, 'tenant:acme'), 0);
  });

  it('estimates by default from the counted input and the request maxOutputTokens', async () => {
    const store = memoryStore();
    const estimates: number[] = [];
    const app = pipeline(spending(1)).use(
      budget({
        store,
        limit: { tokens: 1_000 },
        key: () => 'k',
        tokenizer: (text) => text.length,
        defaultOutputTokens: 500,
      }),
    );
    // Seen through the refusal: 'hi' is 2 tokens + 4 of framing, plus the output allowance.
    const probe = budget({ store: memoryStore(), limit: { tokens: 1 }, key: () => 'k', tokenizer: (t) => t.length });
    for (const request of [BASE_REQUEST, { ...BASE_REQUEST, options: { maxOutputTokens: 100 } }]) {
      const error = await pipeline(spending(1))
        .use(probe)
        .generate(request)
        .catch((e: unknown) => e);
      assert.ok(BudgetExceededError.isInstance(error));
      estimates.push(error.counted);
    }
    assert.deepEqual(estimates, [6 + 4096, 6 + 100]);
    await app.generate(BASE_REQUEST);
    assert.equal(await used(store, 'k'), 1);
  });

  it('limits cost in US dollars with prices, settling on the model that answered', async () => {
    const store = memoryStore();
    const prices = { 'test-model': { inputPerMillion: 1_000, outputPerMillion: 1_000 } };
    // $0.001 per token: 40 tokens = $0.04.
    const app = pipeline(spending(40)).use(
      budget({
        store,
        limit: { costUsd: 0.1 },
        key: () => 'k',
        prices,
        estimate: () => ({ tokens: 40, costUsd: 0.04 }),
      }),
    );
    await app.generate(BASE_REQUEST);
    await app.generate(BASE_REQUEST);
    const error = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
    assert.ok(BudgetExceededError.isInstance(error));
    assert.equal(error.limit, 'costUsd');
    assert.equal(error.budget, 0.1);
    assert.ok(Math.abs(error.counted - 0.12) < 1e-9);
  });

  it('warns once per model when a cost limit meets a model without a price', async () => {
    const warn = mock.method(process, 'emitWarning', () => {});
    try {
      const app = pipeline(spending(10)).use(
        budget({ store: memoryStore(), limit: { costUsd: 1 }, key: () => 'k', tokenizer: (t) => t.length }),
      );
      await app.generate(BASE_REQUEST);
      await app.generate(BASE_REQUEST);
      assert.equal(warn.mock.callCount(), 1);
      assert.match(String(warn.mock.calls[0]?.arguments[0]), /no price for model `test-model`/);
    } finally {
      warn.mock.restore();
    }
  });

  it('with windowMs, each window has a fresh ledger (fake clock)', async () => {
    let clock = 1_000_000;
    const store = memoryStore({ now: () => clock });
    const app = pipeline(spending(60)).use(
      budget({
        store,
        limit: { tokens: 100 },
        key: () => 'k',
        estimate: () => ({ tokens: 60 }),
        windowMs: 60_000,
        now: () => clock,
      }),
    );
    await app.generate(BASE_REQUEST);
    await assert.rejects(app.generate(BASE_REQUEST), BudgetExceededError);
    clock += 60_000;
    await app.generate(BASE_REQUEST);
  });

  it("a store that never answers: 'fail-closed' refuses after storeTimeoutMs, 'fail-open' sends the call", async () => {
    const hanging = {
      ...memoryStore(),
      name: 'hanging',
      reserve: () => new Promise<never>(() => {}),
    } as unknown as Store;
    for (const policy of ['fail-closed', 'fail-open'] as const) {
      const model = spending(1);
      const app = pipeline(model).use(
        budget({
          store: hanging,
          limit: { tokens: 100 },
          key: () => 'k',
          estimate: () => ({ tokens: 1 }),
          storeTimeoutMs: 5,
          onStoreError: policy,
        }),
      );
      const outcome = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
      if (policy === 'fail-closed') {
        assert.ok(StoreError.isInstance(outcome));
        assert.equal(outcome.operation, 'reserve');
        assert.equal(model.calls.length, 0);
      } else {
        assert.equal(model.calls.length, 1);
      }
    }
  });

  it('an aborted call stops waiting for the store with the abort reason', async () => {
    const hanging = { ...memoryStore(), reserve: () => new Promise<never>(() => {}) } as unknown as Store;
    const app = pipeline(spending(1)).use(
      budget({
        store: hanging,
        limit: { tokens: 100 },
        key: () => 'k',
        estimate: () => ({ tokens: 1 }),
        storeTimeoutMs: 600_000,
      }),
    );
    const controller = new AbortController();
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    await assert.rejects(pending, /caller gave up/);
  });

  for (const [label, options, pattern] of [
    ['an unknown option', { limitTokens: 5 }, /unknown option/],
    ['no limit', { limit: {} }, /`limit`/],
    ['a store without ledgers', { store: { name: 'x', get() {}, set() {} } }, /`store`/],
    ['no key', { key: undefined }, /`key`/],
    ['a bad onStoreError', { onStoreError: 'ignore' }, /`onStoreError`/],
  ] as const) {
    it(`rejects ${label} when the factory is called`, () => {
      const base = { store: memoryStore(), limit: { tokens: 10 }, key: () => 'k' };
      assert.throws(
        () => budget({ ...base, ...options } as never),
        (e: unknown) => e instanceof TypeError && pattern.test(e.message),
      );
    });
  }
});
