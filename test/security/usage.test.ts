// Issue 9, item 9: a model id cannot disable usage()'s cost budget. Prices are looked up among the
// table's own entries; non-finite prices are refused by the factory; a cost that cannot be computed
// at call time counts as over budget instead of NaN.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BudgetExceededError, type Executor, type ModelResponse, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { type UsageReport, usage } from '../../middleware/usage.js';

const PRICES = { mini: { inputPerMillion: 1_000_000, outputPerMillion: 0 } }; // $1 per input token
const call = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hi' }] });
const ONE_TOKEN = { inputTokens: 1, outputTokens: 0, totalTokens: 1 };

/** An executor answering every call with one input token, reporting the model it was asked for. */
function echoModel(): Executor {
  return {
    name: 'echo',
    async generate(request): Promise<ModelResponse> {
      return {
        message: { role: 'assistant', content: 'ok' },
        finishReason: 'stop',
        usage: ONE_TOKEN,
        model: request.model,
      };
    },
  };
}

describe('usage(): model ids are never looked up on Object.prototype', () => {
  for (const model of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
    test(`a call to \`${model}\` is unpriced, and the budget still refuses later calls`, async (t) => {
      t.mock.method(process, 'emitWarning', () => {});
      const reports: UsageReport[] = [];
      const app = pipeline(echoModel()).use(
        usage({ prices: PRICES, budget: { maxCostUsd: 2 }, onUsage: (r) => reports.push(r) }),
      );
      await app.generate(call(model));
      assert.equal(reports[0]?.call.costUsd, undefined);
      assert.equal(reports[0]?.totals.costUsd, 0);
      await app.generate(call('mini'));
      await app.generate(call('mini'));
      await assert.rejects(app.generate(call('mini')), (error: unknown) => {
        assert.ok(BudgetExceededError.isInstance(error));
        assert.equal(error.counted, 2);
        return true;
      });
    });
  }

  test('a price given for `__proto__` as an own key (e.g. from JSON) prices that model', async () => {
    const prices = JSON.parse('{"__proto__": {"inputPerMillion": 1000000, "outputPerMillion": 0}}');
    const reports: UsageReport[] = [];
    const app = pipeline(echoModel()).use(usage({ prices, onUsage: (r) => reports.push(r) }));
    await app.generate(call('__proto__'));
    assert.equal(reports[0]?.call.costUsd, 1);
  });

  test('inherited prices are ignored', async (t) => {
    t.mock.method(process, 'emitWarning', () => {});
    const prices = Object.create({ mini: PRICES.mini }) as typeof PRICES;
    const reports: UsageReport[] = [];
    const app = pipeline(echoModel()).use(usage({ prices, onUsage: (r) => reports.push(r) }));
    await app.generate(call('mini'));
    assert.equal(reports[0]?.call.costUsd, undefined);
  });
});

describe('usage(): non-finite costs', () => {
  const BAD = [
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-1', -1],
    ['a string', '1'],
  ] as const;
  for (const [label, value] of BAD) {
    test(`a price of ${label} is refused when the factory is called`, () => {
      assert.throws(
        () => usage({ prices: { mini: { inputPerMillion: 1, outputPerMillion: value as number } } }),
        /usage\(\): expected `prices\['mini'\]\.outputPerMillion` to be a finite non-negative number/,
      );
    });
  }

  test('a price that is not an object is refused', () => {
    assert.throws(
      () => usage({ prices: { mini: null as never } }),
      /expected `prices\['mini'\]` to be \{ inputPerMillion/,
    );
  });

  test('a price changed after the factory ran does not change the cost (the table is copied)', async () => {
    const prices = { mini: { ...PRICES.mini } };
    const reports: UsageReport[] = [];
    const app = pipeline(echoModel()).use(usage({ prices, onUsage: (r) => reports.push(r) }));
    prices.mini.inputPerMillion = Number.NaN;
    await app.generate(call('mini'));
    assert.equal(reports[0]?.call.costUsd, 1);
  });

  test('a usage report that makes the cost NaN (validation off) counts as over budget', async () => {
    const broken = { inputTokens: Number.NaN, outputTokens: 0, totalTokens: Number.NaN };
    const app = pipeline({
      executor: scriptedExecutor([{ text: 'a', usage: broken }, 'b']),
      validate: false,
    }).use(usage({ prices: PRICES, budget: { maxCostUsd: 1000, maxTokens: 1000 } }));
    await app.generate(call('mini'));
    await assert.rejects(app.generate(call('mini')), (error: unknown) => BudgetExceededError.isInstance(error));
  });

  test('an overflowing cost counts as over budget', async () => {
    const huge = { mini: { inputPerMillion: Number.MAX_VALUE, outputPerMillion: Number.MAX_VALUE } };
    const reports: UsageReport[] = [];
    const app = pipeline(
      scriptedExecutor([{ text: 'a', usage: { inputTokens: 10, outputTokens: 10, totalTokens: 20 } }, 'b']),
    ).use(usage({ prices: huge, budget: { maxCostUsd: 1000 }, onUsage: (r) => reports.push(r) }));
    await app.generate(call('mini'));
    assert.equal(reports[0]?.call.costUsd, Number.POSITIVE_INFINITY);
    await assert.rejects(app.generate(call('mini')), (error: unknown) => BudgetExceededError.isInstance(error));
  });
});
