import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AgentError, BudgetExceededError, type ModelResponse, defineMiddleware, pipeline, runAgent } from 'modelware';
import { fallback } from 'modelware/middleware';
import { type ScriptStep, scriptedExecutor } from 'modelware/testing';
import { type UsageReport, usage } from '../../middleware/usage.js';
import { USER, add } from '../fixtures/agent.js';
import { providerError } from '../fixtures/core.js';

const REQUEST = { model: 'mini', messages: [{ role: 'user', content: 'hi' }] } as const;
const PRICES = {
  mini: { inputPerMillion: 1, outputPerMillion: 4 },
  big: { inputPerMillion: 10, outputPerMillion: 40, cachedInputPerMillion: 1 },
};
const MODES = ['generate', 'stream'] as const;

const tokens = (inputTokens: number, outputTokens: number, cachedInputTokens?: number) =>
  cachedInputTokens === undefined
    ? { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }
    : { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, cachedInputTokens };

/** Three turns: two tool calls, then an answer, each with its own usage. */
function agentScript(): ScriptStep[] {
  return [
    { toolCalls: [{ id: 'a1', name: 'add', input: { a: 1, b: 2 } }], usage: tokens(100_000, 10_000) },
    { toolCalls: [{ id: 'a2', name: 'add', input: { a: 3, b: 4 } }], usage: tokens(200_000, 20_000) },
    { text: 'Done.', usage: tokens(300_000, 30_000) },
  ];
}

async function call(app: ReturnType<typeof pipeline>, mode: (typeof MODES)[number]): Promise<ModelResponse> {
  if (mode === 'generate') return app.generate(REQUEST);
  const stream = app.stream(REQUEST);
  await stream.text();
  return stream.response;
}

describe('usage: an agent run', () => {
  test('sums each turn into ctx.state, ctx.run.state and onUsage, with cost from the price table', async () => {
    const reports: UsageReport[] = [];
    const seen: unknown[] = [];
    const app = pipeline(scriptedExecutor(agentScript())).use(
      defineMiddleware({
        name: 'probe',
        async call(ctx, next) {
          await next();
          seen.push(ctx.state.usage);
        },
      }),
      usage({ prices: PRICES, onUsage: (r) => reports.push(r) }),
    );
    const result = await runAgent({ model: app, messages: [USER], tools: [add], modelId: 'mini' });
    assert.deepEqual(
      reports.map((r) => [r.scope, r.turn, r.runId === result.runId, r.call.totalTokens, r.call.costUsd]),
      [
        ['run', 1, true, 110_000, 0.14],
        ['run', 2, true, 220_000, 0.28],
        ['run', 3, true, 330_000, 0.42],
      ],
    );
    assert.deepEqual(
      reports.map((r) => [r.totals.calls, r.totals.totalTokens, round(r.totals.costUsd)]),
      [
        [1, 110_000, 0.14],
        [2, 330_000, 0.42],
        [3, 660_000, 0.84],
      ],
    );
    assert.deepEqual(
      seen,
      reports.map((r) => r.call),
    );
    const { costUsd, ...counts } = result.state.usage ?? assert.fail('no run totals');
    assert.deepEqual(counts, {
      calls: 3,
      inputTokens: 600_000,
      outputTokens: 60_000,
      cachedInputTokens: 0,
      totalTokens: 660_000,
    });
    assert.equal(round(costUsd), 0.84);
    // The agent's own sum agrees.
    assert.equal(result.usage.totalTokens, 660_000);
  });

  test('each run has its own totals and budget', async () => {
    const meter = usage({ prices: PRICES, budget: { maxTokens: 500_000 } });
    const app = pipeline(scriptedExecutor(agentScript(), { whenDone: 'cycle' })).use(meter);
    const first = await runAgent({ model: app, messages: [USER], tools: [add], modelId: 'mini' });
    // The first run went past 500k on its last turn; a new run starts from zero.
    const second = await runAgent({ model: app, messages: [USER], tools: [add], modelId: 'mini' });
    assert.equal(first.state.usage?.totalTokens, 660_000);
    assert.equal(second.state.usage?.totalTokens, 660_000);
  });

  test('budget.maxTokens stops the run at the first call after the total is reached', async () => {
    const model = scriptedExecutor(agentScript());
    const app = pipeline(model).use(usage({ budget: { maxTokens: 330_000 } }));
    await assert.rejects(
      runAgent({ model: app, messages: [USER], tools: [add], modelId: 'mini' }),
      (failure: unknown) => {
        // The run fails with AgentError (its transcript so far); the budget's error is the cause.
        assert.equal(AgentError.isInstance(failure) && failure.reason, 'model-call-failed');
        const error = (failure as AgentError).cause;
        if (!BudgetExceededError.isInstance(error)) return false;
        assert.equal(error.budget, 330_000);
        assert.equal(error.counted, 330_000);
        assert.equal(error.layer, 'usage');
        assert.match(
          error.message,
          /the run run_\w+ has used 330000 tokens over 2 call\(s\), reaching its budget\.maxTokens of 330000/,
        );
        return true;
      },
    );
    // Turns 1 and 2 reached the model; turn 3 was refused before it.
    assert.equal(model.calls.length, 2);
  });

  test('budget.maxCostUsd stops the run once the priced cost is reached', async () => {
    const model = scriptedExecutor(agentScript());
    const app = pipeline(model).use(usage({ prices: PRICES, budget: { maxCostUsd: 0.1 } }));
    await assert.rejects(
      runAgent({ model: app, messages: [USER], tools: [add], modelId: 'mini' }),
      (failure: unknown) => {
        // The run fails with AgentError (its transcript so far); the budget's error is the cause.
        assert.equal(AgentError.isInstance(failure) && failure.reason, 'model-call-failed');
        const error = (failure as AgentError).cause;
        if (!BudgetExceededError.isInstance(error)) return false;
        assert.equal(error.budget, 0.1);
        assert.equal(error.counted, 0.14);
        assert.match(error.message, /has spent \$0\.14 over 1 call\(s\), reaching its budget\.maxCostUsd of \$0\.1/);
        return true;
      },
    );
    assert.equal(model.calls.length, 1);
  });
});

for (const mode of MODES) {
  describe(`usage (${mode}): outside runs`, () => {
    test('charges the model that answered after fallback, at its price', async () => {
      const reports: UsageReport[] = [];
      const model = scriptedExecutor([
        providerError('mini down'),
        { text: 'from big', usage: tokens(1_000_000, 100_000, 400_000) },
      ]);
      const app = pipeline(model).use(
        usage({ prices: PRICES, onUsage: (r) => reports.push(r) }),
        fallback({ models: ['big'] }),
      );
      await call(app, mode);
      assert.deepEqual(reports, [
        {
          call: {
            model: 'big',
            inputTokens: 1_000_000,
            outputTokens: 100_000,
            cachedInputTokens: 400_000,
            totalTokens: 1_100_000,
            // 600k uncached × $10 + 400k cached × $1 + 100k × $40, per million
            costUsd: 10.4,
          },
          totals: {
            calls: 1,
            inputTokens: 1_000_000,
            outputTokens: 100_000,
            cachedInputTokens: 400_000,
            totalTokens: 1_100_000,
            costUsd: 10.4,
          },
          scope: 'pipeline',
          callId: reports[0]?.callId,
          runId: undefined,
          turn: undefined,
        },
      ]);
      assert.match(String(reports[0]?.callId), /^call_/);
    });

    test('inside fallback each attempt that answers is charged; a failed one has no usage', async () => {
      const charged: string[] = [];
      const model = scriptedExecutor([providerError('mini down'), { text: 'ok', usage: tokens(10, 5) }]);
      const app = pipeline(model).use(
        fallback({ models: ['big'] }),
        usage({ onUsage: (r) => charged.push(`${r.call.model}:${r.call.totalTokens}`) }),
      );
      await call(app, mode);
      assert.deepEqual(charged, ['big:15']);
    });

    test('pipeline budget: totals accumulate across calls and the call after the limit is refused', async () => {
      const model = scriptedExecutor([{ text: 'a', usage: tokens(6, 4) }], { whenDone: 'repeat-last' });
      const app = pipeline(model).use(usage({ budget: { maxTokens: 20 } }));
      await call(app, mode);
      await call(app, mode);
      await assert.rejects(call(app, mode), (e: unknown) => BudgetExceededError.isInstance(e) && e.counted === 20);
      assert.equal(model.calls.length, 2);
    });

    test('a model missing from prices has costUsd undefined and adds nothing to the cost', async () => {
      const reports: UsageReport[] = [];
      const app = pipeline(scriptedExecutor([{ text: 'a', usage: tokens(6, 4) }])).use(
        usage({ prices: PRICES, onUsage: (r) => reports.push(r) }),
      );
      await app.generate({ ...REQUEST, model: 'unknown' });
      assert.equal(reports[0]?.call.costUsd, undefined);
      assert.equal(reports[0]?.totals.costUsd, 0);
      assert.equal(reports[0]?.totals.totalTokens, 10);
    });
  });
}

describe('usage: stream mode', () => {
  test('usage is recorded from the final part only when the stream ends, not on early exit', async () => {
    const reports: UsageReport[] = [];
    const model = scriptedExecutor([{ text: 'a long answer in parts', usage: tokens(7, 3) }], {
      chunkSize: 2,
      whenDone: 'repeat-last',
    });
    const app = pipeline(model).use(usage({ onUsage: (r) => reports.push(r) }));
    const stream = app.stream(REQUEST);
    for await (const part of stream) {
      assert.equal(part.type, 'text-delta');
      break;
    }
    assert.equal(reports.length, 0);
    const full = app.stream(REQUEST);
    let parts = 0;
    for await (const _ of full) parts++;
    assert.equal(parts, 12);
    assert.deepEqual(
      reports.map((r) => r.call.totalTokens),
      [10],
    );
  });
});

describe('usage: options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['onUsage not a function', { onUsage: 1 }, /`onUsage` to be a function .* got number `1`/],
    ['prices an array', { prices: [] }, /`prices` to be an object keyed by model id/],
    [
      'negative price',
      { prices: { m: { inputPerMillion: -1, outputPerMillion: 1 } } },
      /`prices\['m'\]\.inputPerMillion`/,
    ],
    [
      'missing output price',
      { prices: { m: { inputPerMillion: 1 } } },
      /`prices\['m'\]\.outputPerMillion` .* got `undefined`/,
    ],
    ['zero cost budget', { budget: { maxCostUsd: 0 } }, /`budget\.maxCostUsd` to be a positive number/],
    ['fractional token budget', { budget: { maxTokens: 1.5 } }, /`budget\.maxTokens` to be a positive integer/],
    ['null budget', { budget: null }, /`budget` to be an object \{ maxCostUsd\?, maxTokens\? \}, got `null`/],
  ];
  for (const [name, options, message] of cases) {
    test(`${name} is rejected at factory time`, () => {
      assert.throws(() => usage(options as never), { name: 'TypeError', message });
    });
  }
});

function round(usd: number): number {
  return Number(usd.toFixed(10));
}
