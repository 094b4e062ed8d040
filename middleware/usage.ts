import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { CallUsage, Context, RunContext, UsageTotals } from '../lib/core/context.js';
import { BudgetExceededError } from '../lib/core/errors.js';
import { describeValue, checkKeys, optionNames } from '../lib/kit.js';
import type { ModelResponse } from '../lib/core/messages.js';

/** What a model costs, in US dollars per million tokens. */
export interface ModelPrice {
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
  /** Input tokens served from the provider's cache. @default inputPerMillion */
  readonly cachedInputPerMillion?: number | undefined;
  /** Input tokens written to the provider's cache (`usage.cacheWriteTokens`, Anthropic). @default inputPerMillion */
  readonly cacheWriteInputPerMillion?: number | undefined;
}

// CallUsage and UsageTotals are declared in lib/core/context.ts (the types of `ctx.state.usage` and
// `ctx.run.state.usage`), so core names no built-in; they are exported from here as before.
export type { CallUsage, UsageTotals };

/** What `onUsage` receives after each call. */
export interface UsageReport {
  readonly call: CallUsage;
  /** A snapshot of the totals of the scope the call counts towards, this call included. */
  readonly totals: Readonly<UsageTotals>;
  /** `'run'` inside `runAgent()`, else `'pipeline'` (every call this `usage()` layer sees outside runs). */
  readonly scope: 'run' | 'pipeline';
  readonly callId: string;
  readonly runId: string | undefined;
  readonly turn: number | undefined;
}

export interface UsageBudget {
  /** Refuse calls once the scope's priced cost reaches this many US dollars. */
  readonly maxCostUsd?: number | undefined;
  /** Refuse calls once the scope's total tokens reach this many. */
  readonly maxTokens?: number | undefined;
}

export interface UsageOptions {
  /** Called after each call with its usage and the running totals. */
  readonly onUsage?: ((report: UsageReport) => void) | undefined;
  /** Prices keyed by model id, looked up by the effective model. @default {} (no costs) */
  readonly prices?: Readonly<Record<string, ModelPrice>> | undefined;
  /**
   * Limits per run inside `runAgent()`, else per pipeline: once a total reaches a limit, further
   * calls throw `BudgetExceededError` before reaching the model. Calls already running are not
   * stopped, so concurrent calls can overshoot by what they use.
   * @default no limits
   */
  readonly budget?: UsageBudget | undefined;
  /** Names the layer. @default 'usage' */
  readonly name?: string | undefined;
}

const KEYS = optionNames<UsageOptions>({ onUsage: true, prices: true, budget: true, name: true });

/**
 * Counts tokens and cost per call (`ctx.state.usage`), per run (`ctx.run.state.usage`) and per
 * pipeline, charging each call to the model that actually answered. Works in stream mode from the
 * final part's usage; a stream the consumer abandons reports no usage, as the provider sent none.
 *
 * @example
 * app.use(usage({
 *   prices: { 'gpt-5-mini': { inputPerMillion: 0.25, outputPerMillion: 2 } },
 *   budget: { maxCostUsd: 0.5 },
 *   onUsage: ({ call, totals }) => console.log(call.model, call.costUsd, totals.costUsd),
 * }));
 */
export function usage(options: UsageOptions = {}): Middleware {
  checkKeys('usage()', options, KEYS);
  const { onUsage, prices = {}, budget = {}, name = 'usage' } = options ?? {};
  if (onUsage !== undefined && typeof onUsage !== 'function') {
    throw new TypeError(
      `usage(): expected \`onUsage\` to be a function (report) => void, got ${describeValue(onUsage)}.`,
    );
  }
  // A Map of the own entries: a model id such as `constructor` or `__proto__` must not find a
  // price on Object.prototype (a NaN cost would disable budget.maxCostUsd for good).
  const priceOf = checkPrices(prices);
  if (typeof budget !== 'object' || budget === null) {
    throw new TypeError(
      `usage(): expected \`budget\` to be an object { maxCostUsd?, maxTokens? }, got ${describeValue(budget)}.`,
    );
  }
  const { maxCostUsd, maxTokens } = budget;
  if (maxCostUsd !== undefined && !(typeof maxCostUsd === 'number' && maxCostUsd > 0)) {
    throw new TypeError(
      `usage(): expected \`budget.maxCostUsd\` to be a positive number of US dollars, got ${describeValue(maxCostUsd)}.`,
    );
  }
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) {
    throw new TypeError(
      `usage(): expected \`budget.maxTokens\` to be a positive integer, got ${describeValue(maxTokens)}.`,
    );
  }
  const pipelineTotals = emptyTotals();
  // Per run and per instance, so two usage() layers in one run never count a call twice.
  const runTotals = new WeakMap<object, UsageTotals>();
  const unpriced = new Set<string>();

  function totalsFor(run: RunContext | undefined): UsageTotals {
    if (!run) return pipelineTotals;
    let totals = runTotals.get(run.state);
    if (!totals) {
      totals = emptyTotals();
      runTotals.set(run.state, totals);
      run.state.usage = totals;
    }
    return totals;
  }

  function refuseOverBudget(ctx: Context, totals: UsageTotals): void {
    const scope = ctx.run ? `run ${ctx.run.runId}` : 'pipeline';
    const fix = ctx.run ? 'start a new run' : 'create a new usage() layer';
    // `!(a < b)`, not `a >= b`: a NaN total (a broken usage report) refuses instead of passing forever.
    if (maxTokens !== undefined && !(totals.totalTokens < maxTokens)) {
      throw new BudgetExceededError({
        budget: maxTokens,
        counted: totals.totalTokens,
        layer: name,
        message: `${name}: the ${scope} has used ${totals.totalTokens} tokens over ${totals.calls} call(s), reaching its budget.maxTokens of ${maxTokens}; the call to \`${ctx.request.model}\` is refused. Raise budget.maxTokens or ${fix}.`,
      });
    }
    if (maxCostUsd !== undefined && !(totals.costUsd < maxCostUsd)) {
      throw new BudgetExceededError({
        budget: maxCostUsd,
        counted: totals.costUsd,
        layer: name,
        message: `${name}: the ${scope} has spent $${round(totals.costUsd)} over ${totals.calls} call(s), reaching its budget.maxCostUsd of $${maxCostUsd}; the call to \`${ctx.request.model}\` is refused. Raise budget.maxCostUsd or ${fix}.`,
      });
    }
  }

  function record(ctx: Context, totals: UsageTotals, response: ModelResponse): void {
    const model = ctx.model.resolved;
    const call = measure(model, response, priceOf.get(model));
    if (call.costUsd === undefined && maxCostUsd !== undefined && !unpriced.has(model)) {
      // A silent zero would let an unpriced model spend past the cost budget.
      unpriced.add(model);
      process.emitWarning(
        `${name}: no price for model \`${model}\`, so its calls count as $0 towards budget.maxCostUsd. Add it to \`prices\`.`,
        { code: 'MODELWARE_USAGE_UNPRICED' },
      );
    }
    ctx.state.usage = call;
    totals.calls++;
    totals.inputTokens += call.inputTokens;
    totals.outputTokens += call.outputTokens;
    totals.cachedInputTokens += call.cachedInputTokens;
    totals.totalTokens += call.totalTokens;
    if (call.costUsd !== undefined) totals.costUsd += call.costUsd;
    onUsage?.({
      call,
      totals: Object.freeze({ ...totals }),
      scope: ctx.run ? 'run' : 'pipeline',
      callId: ctx.id,
      runId: ctx.run?.runId,
      turn: ctx.run?.turn,
    });
  }

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const totals = totalsFor(ctx.run);
      refuseOverBudget(ctx, totals);
      await next();
      if (ctx.mode === 'generate') {
        if (ctx.response) record(ctx, totals, ctx.response);
        return;
      }
      await ctx.tapStream({ onFinish: (response) => record(ctx, totals, response) });
    },
  });
}

/** The usage and cost of one response. */
function measure(model: string, response: ModelResponse, price: ModelPrice | undefined): CallUsage {
  const u = response.usage;
  const inputTokens = u?.inputTokens ?? 0;
  const outputTokens = u?.outputTokens ?? 0;
  const cachedInputTokens = Math.min(u?.cachedInputTokens ?? 0, inputTokens);
  const writtenTokens = Math.min(u?.cacheWriteTokens ?? 0, inputTokens - cachedInputTokens);
  const totalTokens = u?.totalTokens ?? inputTokens + outputTokens;
  let costUsd: number | undefined;
  if (price) {
    const cachedRate = price.cachedInputPerMillion ?? price.inputPerMillion;
    const writeRate = price.cacheWriteInputPerMillion ?? price.inputPerMillion;
    costUsd =
      ((inputTokens - cachedInputTokens - writtenTokens) * price.inputPerMillion +
        cachedInputTokens * cachedRate +
        writtenTokens * writeRate +
        outputTokens * price.outputPerMillion) /
      1_000_000;
    // Prices are finite (checked by the factory), so only a broken usage report (validation off)
    // or an overflow gets here: such a call counts as over any budget rather than as NaN, which
    // every later comparison would let through.
    if (!Number.isFinite(costUsd)) costUsd = Number.POSITIVE_INFINITY;
  }
  return { model, inputTokens, outputTokens, cachedInputTokens, totalTokens, costUsd };
}

function emptyTotals(): UsageTotals {
  return { calls: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, totalTokens: 0, costUsd: 0 };
}

function checkPrices(prices: unknown): ReadonlyMap<string, ModelPrice> {
  if (typeof prices !== 'object' || prices === null || Array.isArray(prices)) {
    throw new TypeError(
      `usage(): expected \`prices\` to be an object keyed by model id, e.g. { 'gpt-5-mini': { inputPerMillion: 0.25, outputPerMillion: 2 } }, got ${describeValue(prices)}.`,
    );
  }
  const map = new Map<string, ModelPrice>();
  for (const [model, price] of Object.entries(prices)) {
    if (typeof price !== 'object' || price === null) {
      throw new TypeError(
        `usage(): expected \`prices['${model}']\` to be { inputPerMillion, outputPerMillion, cachedInputPerMillion?, cacheWriteInputPerMillion? }, got ${describeValue(price)}.`,
      );
    }
    const copy: { -readonly [K in keyof ModelPrice]: ModelPrice[K] } = { inputPerMillion: 0, outputPerMillion: 0 };
    for (const field of [
      'inputPerMillion',
      'outputPerMillion',
      'cachedInputPerMillion',
      'cacheWriteInputPerMillion',
    ] as const) {
      // Own fields only, read once: a getter or an inherited field cannot change the price later.
      const value = Object.hasOwn(price, field) ? (price as Partial<ModelPrice>)[field] : undefined;
      if (value === undefined && (field === 'cachedInputPerMillion' || field === 'cacheWriteInputPerMillion')) continue;
      if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
        throw new TypeError(
          `usage(): expected \`prices['${model}'].${field}\` to be a finite non-negative number of US dollars per million tokens, got ${describeValue(value)}.`,
        );
      }
      copy[field] = value;
    }
    map.set(model, copy);
  }
  return map;
}

/** Dollars for messages: enough digits for sub-cent calls, no float noise. */
function round(usd: number): string {
  return Number(usd.toPrecision(6)).toString();
}
