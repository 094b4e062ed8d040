import { createHash } from 'node:crypto';
import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { BudgetExceededError } from '../lib/core/errors.js';
import type { ModelResponse } from '../lib/core/messages.js';
import { type Tokenizer, countTokens } from '../lib/core/tokens.js';
import { checkFunction, checkInteger, checkKeys, checkMs, checkOneOf, checkString, describeValue } from '../lib/kit.js';
import { StoreError } from '../lib/stores/errors.js';
import { type LedgerAmounts, type LedgerStore, type Store, isLedgerStore } from '../lib/stores/store.js';
import type { StoreFailurePolicy } from './rate-limit.js';
import { storeCall } from './store-call.js';
import type { ModelPrice } from './usage.js';

/** The limits of one budget key; give at least one. */
export interface BudgetLimit {
  /** Most tokens (input + output) the key may spend. */
  readonly tokens?: number | undefined;
  /** Most US dollars the key may spend; needs `prices`. */
  readonly costUsd?: number | undefined;
}

/** What a call is expected to spend at most, reserved before it is sent. */
export interface BudgetEstimate {
  readonly tokens: number;
  readonly costUsd?: number | undefined;
}

export interface BudgetOptions {
  /** Where the ledgers live: a `redisStore()` makes every worker spend from one budget. Must keep ledgers (`isLedgerStore`). */
  readonly store: Store;
  /** The limits per key. */
  readonly limit: BudgetLimit;
  /** Whose budget a call spends, e.g. `(ctx) => \`tenant:${ctx.request.metadata?.tenant}\``. No default: name the owner. */
  readonly key: (ctx: Context) => string | Promise<string>;
  /**
   * What to reserve for a call. @default the request's input tokens (`countTokens`, with `tokenizer`)
   * plus its `options.maxOutputTokens` (else `defaultOutputTokens`), priced at the requested model's `prices`
   */
  readonly estimate?: ((ctx: Context) => BudgetEstimate | Promise<BudgetEstimate>) | undefined;
  /** Output tokens reserved when the request sets no `maxOutputTokens`. @default 4096 */
  readonly defaultOutputTokens?: number | undefined;
  /** Prices keyed by model id (as in `usage()`); needed for `limit.costUsd`. @default {} */
  readonly prices?: Readonly<Record<string, ModelPrice>> | undefined;
  /** Counts the input of the default estimate. @default gpt-tokenizer's o200k_base */
  readonly tokenizer?: Tokenizer | undefined;
  /**
   * Fixed windows of this many ms (aligned on the epoch, by `now`): each window has a fresh ledger.
   * @default none: a key's budget never resets
   */
  readonly windowMs?: number | undefined;
  /** The clock that picks the window, in ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** How long to wait for the store on each phase before treating it as unreachable. @default 1_000 */
  readonly storeTimeoutMs?: number | undefined;
  /**
   * When the store cannot be reached or does not answer within `storeTimeoutMs`: `'fail-closed'`
   * refuses the call with the `StoreError`, `'fail-open'` sends it unbudgeted. A function decides
   * per failure. @default 'fail-closed' (an outage never lets spend through unbounded)
   */
  readonly onStoreError?: StoreFailurePolicy | ((error: StoreError, ctx: Context) => StoreFailurePolicy) | undefined;
  /** Names the layer and its ledgers: give each budget() sharing a store its own. @default 'budget' */
  readonly name?: string | undefined;
}

const OPTIONS = [
  'store',
  'limit',
  'key',
  'estimate',
  'defaultOutputTokens',
  'prices',
  'tokenizer',
  'windowMs',
  'now',
  'storeTimeoutMs',
  'onStoreError',
  'name',
] as const;

const NANO = 1e9;

/**
 * A budget every worker sharing `store` spends from. Before each call it reserves the call's
 * estimate in the key's ledger, atomically (one Lua script in Redis); a call whose estimate would
 * pass a limit is refused with `BudgetExceededError` before it is sent. After the call the ledger
 * is settled with the real usage (streams at their end); a failed or abandoned call releases its
 * reservation. So total spend passes a limit by at most the estimation error of the calls in flight.
 *
 * @example
 * app.use(budget({
 *   store: redisStore({ client }),
 *   limit: { tokens: 1_000_000 },
 *   key: (ctx) => `tenant:${ctx.request.metadata?.tenant}`,
 * }));
 */
export function budget(options: BudgetOptions): Middleware {
  const where = 'budget()';
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: expected an options object { store, limit, key }, got ${describeValue(options)}.`);
  }
  checkKeys(where, options, OPTIONS);
  const {
    store,
    limit,
    key,
    estimate,
    defaultOutputTokens = 4096,
    prices = {},
    tokenizer,
    windowMs,
    now = Date.now,
    storeTimeoutMs = 1_000,
    onStoreError = 'fail-closed',
    name = 'budget',
  } = options;
  if (typeof store !== 'object' || store === null || !isLedgerStore(store)) {
    throw new TypeError(
      `${where}: expected \`store\` to be a Store that keeps ledgers (memoryStore(), redisStore({ client }), or one with reserve() and settle()), got ${describeValue(store)}.`,
    );
  }
  const ledgers: LedgerStore = store;
  if (typeof limit !== 'object' || limit === null || (limit.tokens === undefined && limit.costUsd === undefined)) {
    throw new TypeError(
      `${where}: expected \`limit\` to be { tokens?, costUsd? } with at least one, got ${describeValue(limit)}.`,
    );
  }
  if (limit.tokens !== undefined) checkInteger(where, 'limit.tokens', limit.tokens);
  if (limit.costUsd !== undefined && !(typeof limit.costUsd === 'number' && limit.costUsd > 0 && limit.costUsd < 9e6)) {
    throw new TypeError(
      `${where}: expected \`limit.costUsd\` to be a positive number of US dollars below 9e6, got ${describeValue(limit.costUsd)}.`,
    );
  }
  checkFunction(where, 'key', key);
  if (estimate !== undefined) checkFunction(where, 'estimate', estimate);
  if (tokenizer !== undefined) checkFunction(where, 'tokenizer', tokenizer);
  checkFunction(where, 'now', now);
  checkInteger(where, 'defaultOutputTokens', defaultOutputTokens, { sign: 'non-negative' });
  if (windowMs !== undefined) checkMs(where, 'windowMs', windowMs, { integer: true });
  checkMs(where, 'storeTimeoutMs', storeTimeoutMs, { integer: true });
  if (typeof onStoreError !== 'function') checkOneOf(where, 'onStoreError', onStoreError, ['fail-closed', 'fail-open']);
  checkString(where, 'name', name);
  if (typeof prices !== 'object' || prices === null) {
    throw new TypeError(
      `${where}: expected \`prices\` to be an object keyed by model id, got ${describeValue(prices)}.`,
    );
  }
  const priceOf = new Map(Object.entries(prices));
  const unpriced = new Set<string>();
  const limits: Record<string, number> = {};
  if (limit.tokens !== undefined) limits.tokens = limit.tokens;
  if (limit.costUsd !== undefined) limits.nanoUsd = Math.floor(limit.costUsd * NANO);
  Object.freeze(limits);

  function amountsOf(tokens: number, costUsd: number | undefined): LedgerAmounts {
    const amounts: Record<string, number> = { tokens: Math.max(0, Math.ceil(tokens)) };
    if (limits.nanoUsd !== undefined) amounts.nanoUsd = Math.max(0, Math.ceil((costUsd ?? 0) * NANO));
    // Frozen: the store checks a frozen object once, and settle() reuses the reserved one.
    return Object.freeze(amounts);
  }

  async function defaultEstimate(ctx: Context): Promise<BudgetEstimate> {
    const input = await countTokens(ctx.request.messages, tokenizer ? { tokenizer } : {});
    const output = ctx.request.options?.maxOutputTokens ?? defaultOutputTokens;
    return { tokens: input + output, costUsd: cost(ctx.request.model, input, 0, output) };
  }

  function cost(model: string, input: number, cached: number, output: number): number | undefined {
    const price = priceOf.get(model);
    if (!price) {
      if (limit.costUsd !== undefined && !unpriced.has(model)) {
        // A silent $0 would let an unpriced model spend past the cost limit.
        unpriced.add(model);
        process.emitWarning(
          `${name}: no price for model \`${model}\`, so its calls count as $0 towards limit.costUsd. Add it to \`prices\`.`,
          { code: 'MODELWARE_BUDGET_UNPRICED' },
        );
      }
      return undefined;
    }
    const cachedRate = price.cachedInputPerMillion ?? price.inputPerMillion;
    return ((input - cached) * price.inputPerMillion + cached * cachedRate + output * price.outputPerMillion) / 1e6;
  }

  function actualOf(ctx: Context, response: ModelResponse, reserved: LedgerAmounts): LedgerAmounts {
    const u = response.usage;
    // No usage reported: the reservation stands, the safe side of an unknown.
    if (!u) return reserved;
    const input = u.inputTokens ?? 0;
    const output = u.outputTokens ?? 0;
    const cached = Math.min(u.cachedInputTokens ?? 0, input);
    const total = u.totalTokens ?? input + output;
    return amountsOf(total, cost(ctx.model.resolved, input, cached, output));
  }

  function bounded<T>(
    operation: 'reserve' | 'settle',
    id: string,
    run: (signal: AbortSignal | undefined) => Promise<T>,
    outer?: AbortSignal,
  ): Promise<T> {
    return storeCall(store, name, operation, id, storeTimeoutMs, run, outer);
  }

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const owner = await key(ctx);
      if (typeof owner !== 'string' || owner.length === 0 || owner.length > 512) {
        throw new TypeError(
          `${name}: \`key\` must return a non-empty string of at most 512 characters, got ${describeValue(owner)}.`,
        );
      }
      const guess = await (estimate ?? defaultEstimate)(ctx);
      if (typeof guess !== 'object' || guess === null || !(typeof guess.tokens === 'number' && guess.tokens >= 0)) {
        throw new TypeError(
          `${name}: \`estimate\` must return { tokens, costUsd? } with non-negative numbers, got ${describeValue(guess)}.`,
        );
      }
      const reserved = amountsOf(guess.tokens, guess.costUsd);
      const id = `budget:${name}:${owner}${windowMs === undefined ? '' : `:${Math.floor(now() / windowMs)}`}`;
      const ttl = windowMs === undefined ? {} : { ttlMs: windowMs * 2 };
      let reservation: Promise<Awaited<ReturnType<LedgerStore['reserve']>>> | undefined;
      let result: Awaited<ReturnType<LedgerStore['reserve']>>;
      try {
        result = await bounded(
          'reserve',
          id,
          (signal) => (reservation = ledgers.reserve(id, { amounts: reserved, limits, signal, ...ttl })),
          ctx.signalIfAny,
        );
      } catch (error) {
        // A reservation that lands after we stopped waiting would hold budget for nothing: give it back.
        reservation
          ?.then((late): unknown =>
            late.allowed ? ledgers.settle(id, { reserved, actual: zero(reserved) }) : undefined,
          )
          .catch(() => {});
        if (ctx.signalIfAny?.aborted || !StoreError.isInstance(error) || !error.retryable) throw error;
        const policy = typeof onStoreError === 'function' ? onStoreError(error, ctx) : onStoreError;
        if (policy === 'fail-open') return next();
        throw error;
      }
      if (!result.allowed) throw refuse(owner, result.refusedBy, result.used, reserved);

      let settled = false;
      const settle = (actual: LedgerAmounts): Promise<void> => {
        if (settled) return Promise.resolve();
        settled = true;
        // Never fails the call: a settle that does not land leaves the estimate charged (over-counts, never under).
        return bounded('settle', id, (signal) => ledgers.settle(id, { reserved, actual, signal })).then(
          () => {},
          () => {},
        );
      };
      try {
        await next();
      } catch (error) {
        await settle(zero(reserved));
        throw error;
      }
      await ctx.tapStream({
        onFinish: (response) => settle(actualOf(ctx, response, reserved)),
        // A failed or abandoned stream gives its reservation back.
        onClose: () => void settle(zero(reserved)),
      });
    },
  });

  function refuse(
    owner: string,
    by: string | undefined,
    used: LedgerAmounts,
    reserved: LedgerAmounts,
  ): BudgetExceededError {
    const hashed = `sha256:${createHash('sha256').update(owner).digest('hex').slice(0, 12)}`;
    const tokens = by !== 'nanoUsd';
    const counter = tokens ? 'tokens' : 'nanoUsd';
    const counted = ((used[counter] ?? 0) + (reserved[counter] ?? 0)) / (tokens ? 1 : NANO);
    const max = tokens ? (limit.tokens as number) : (limit.costUsd as number);
    const what = tokens ? `${counted} tokens` : `$${Number(counted.toPrecision(6))}`;
    return new BudgetExceededError({
      budget: max,
      counted,
      layer: name,
      limit: tokens ? 'tokens' : 'costUsd',
      key: hashed,
      message: `${name}: key ${hashed} would reach ${what} with this call's estimate, past its limit.${tokens ? 'tokens' : 'costUsd'} of ${max}; the call is refused before it is sent. Raise the limit${windowMs === undefined ? '' : ', wait for the next window'} or lower the call's maxOutputTokens.`,
    });
  }
}

function zero(amounts: LedgerAmounts): LedgerAmounts {
  const none: Record<string, number> = {};
  for (const name of Object.keys(amounts)) none[name] = 0;
  return Object.freeze(none);
}
