import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { RateLimitError } from '../lib/core/errors.js';
import { StoreError } from '../lib/stores/errors.js';
import { checkMs, describeValue, sleep as abortableSleep, checkKeys, optionNames } from '../lib/kit.js';
import { memoryStore } from '../lib/stores/memory.js';
import { storeCall } from './store-call.js';
import type { Store, TakeResult } from '../lib/stores/store.js';

/** What `rateLimit` does when its store cannot be reached. */
export type StoreFailurePolicy = 'fail-closed' | 'fail-open';

export interface RateLimitOptions {
  /** Units of cost admitted per `windowMs`, and the largest burst: a positive integer. */
  readonly limit: number;
  /** The window, in ms: the bucket refills `limit` units per `windowMs`, continuously. */
  readonly windowMs: number;
  /**
   * Where the buckets live; a `redisStore()` makes a fleet of workers share one limit.
   * @default a memoryStore() of this layer's own
   */
  readonly store?: Store | undefined;
  /** Which bucket a call draws from, e.g. `(ctx) => String(ctx.request.metadata?.tenant)`. @default one bucket for every call */
  readonly key?: ((ctx: Context) => string | Promise<string>) | undefined;
  /**
   * What a call costs: a number, or a function of the call (e.g. its estimated tokens; fractions
   * round up). A cost above `limit` can never be admitted and fails at once. @default 1
   */
  readonly cost?: number | ((ctx: Context) => number | Promise<number>) | undefined;
  /**
   * Over the limit: `'wait'` until the bucket holds the cost (aborting `ctx.signal` stops the
   * wait), `'reject'` with a `RateLimitError` carrying `retryAfterMs`. @default 'wait'
   */
  readonly onLimited?: 'wait' | 'reject' | undefined;
  /** In `'wait'` mode, reject instead once the total wait would pass this many ms. @default Infinity */
  readonly maxWaitMs?: number | undefined;
  /** Called before each wait. */
  readonly onWait?:
    | ((info: { readonly key: string; readonly cost: number; readonly waitMs: number }) => void)
    | undefined;
  /** The clock passed to the store, in ms. @default the store's own (the Redis server's time for redisStore) */
  readonly now?: (() => number) | undefined;
  /** How to wait; must reject when the signal aborts. @default an abortable timer that waits in chunks, so any length works */
  readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /**
   * How long to wait for the store's answer on each attempt to take from the bucket, in ms, before
   * treating it as unreachable (a retryable `StoreError`, operation `take`, handled by `onStoreError`).
   * @default 1_000
   */
  readonly storeTimeoutMs?: number | undefined;
  /**
   * When the store cannot be reached (a retryable `StoreError`, e.g. Redis is down or silent past `storeTimeoutMs`): `'fail-closed'`
   * rejects the call with that error, `'fail-open'` lets it through without counting it. A function
   * decides per failure (and may log it). Any other store error fails the call. A Redis restart
   * without persistence forgets every bucket: they start full again. @default 'fail-closed'
   */
  readonly onStoreError?: StoreFailurePolicy | ((error: StoreError, ctx: Context) => StoreFailurePolicy) | undefined;
  /** Names the layer and its buckets: give each rateLimit() sharing a store its own. @default 'rateLimit' */
  readonly name?: string | undefined;
}

const KEYS = optionNames<RateLimitOptions>({
  limit: true,
  windowMs: true,
  store: true,
  key: true,
  cost: true,
  onLimited: true,
  maxWaitMs: true,
  onWait: true,
  now: true,
  sleep: true,
  storeTimeoutMs: true,
  onStoreError: true,
  name: true,
});

/**
 * Limits the calls (or tokens, through `cost`) that pass this layer, per key, with a token bucket
 * in a `Store`: bursts up to `limit`, then `limit` per `windowMs`. Waiting calls are not queued in
 * order: whichever asks first once the bucket has refilled goes first.
 *
 * @example
 * app.use(rateLimit({ limit: 60, windowMs: 60_000, key: (ctx) => String(ctx.request.metadata?.tenant) }));
 */
export function rateLimit(options: RateLimitOptions): Middleware {
  checkKeys('rateLimit()', options, KEYS);
  const {
    limit,
    windowMs,
    store = memoryStore(),
    key,
    cost = 1,
    onLimited = 'wait',
    maxWaitMs = Number.POSITIVE_INFINITY,
    onWait,
    now,
    sleep = abortableSleep,
    onStoreError = 'fail-closed',
    storeTimeoutMs = 1_000,
    name = 'rateLimit',
  } = options ?? ({} as RateLimitOptions);
  check(Number.isSafeInteger(limit) && limit >= 1, 'limit', limit, 'a positive integer');
  checkMs('rateLimit()', 'windowMs', windowMs, { integer: true });
  check(
    Number.isSafeInteger(limit * windowMs),
    'limit',
    limit,
    `small enough that limit × windowMs (${windowMs}) is a safe integer`,
  );
  check(typeof store?.take === 'function', 'store', store, 'a Store (memoryStore(), redisStore({ client }))');
  check(typeof cost === 'function' || costOk(cost), 'cost', cost, 'a non-negative number or a function');
  check(onLimited === 'wait' || onLimited === 'reject', 'onLimited', onLimited, "'wait' or 'reject'");
  check(
    onStoreError === 'fail-closed' || onStoreError === 'fail-open' || typeof onStoreError === 'function',
    'onStoreError',
    onStoreError,
    "'fail-closed', 'fail-open' or a function returning one",
  );
  checkMs('rateLimit()', 'storeTimeoutMs', storeTimeoutMs, { integer: true });
  checkMs('rateLimit()', 'maxWaitMs', maxWaitMs, { sign: 'non-negative', infinite: true });
  for (const [option, value] of [
    ['key', key],
    ['onWait', onWait],
    ['now', now],
    ['sleep', sleep],
  ] as const) {
    check(value === undefined || typeof value === 'function', option, value, 'a function');
  }

  function refuse(bucket: string, units: number, retryAfterMs: number | undefined, why: string): RateLimitError {
    return new RateLimitError({
      key: bucket,
      limit,
      windowMs,
      cost: units,
      retryAfterMs,
      layer: name,
      message: `${name}: ${why} (limit ${limit} per ${windowMs} ms, key \`${bucket}\`).`,
    });
  }

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const bucket = key ? await key(ctx) : 'global';
      if (typeof bucket !== 'string' || bucket.length === 0) {
        throw new TypeError(`${name}: \`key\` must return a non-empty string, got ${describeValue(bucket)}.`);
      }
      const raw = typeof cost === 'function' ? await cost(ctx) : cost;
      if (!costOk(raw)) {
        throw new TypeError(`${name}: \`cost\` must give a non-negative number, got ${describeValue(raw)}.`);
      }
      const units = Math.ceil(raw);
      if (units > limit) {
        throw refuse(
          bucket,
          units,
          undefined,
          `a call costing ${units} can never pass a limit of ${limit}; raise \`limit\``,
        );
      }
      if (units > 0) {
        const id = `ratelimit:${name}:${bucket}`;
        let waited = 0;
        for (;;) {
          const signal = ctx.signal;
          signal.throwIfAborted();
          let taken: TakeResult;
          try {
            // Bounded: a custom store may ignore the signal, and a hung one may never answer.
            const at = now?.();
            taken = await storeCall(
              store,
              name,
              'take',
              id,
              storeTimeoutMs,
              (bound) => store.take(id, { cost: units, limit, windowMs, now: at, signal: bound }),
              signal,
            );
          } catch (error) {
            if (signal.aborted || !StoreError.isInstance(error) || !error.retryable) throw error;
            const policy = typeof onStoreError === 'function' ? onStoreError(error, ctx) : onStoreError;
            if (policy === 'fail-open') break;
            throw error;
          }
          if (taken.allowed) break;
          const waitMs = Math.max(1, taken.retryAfterMs);
          if (onLimited === 'reject') {
            throw refuse(bucket, units, waitMs, `over the limit; retry in ${waitMs} ms, or use onLimited: 'wait'`);
          }
          if (waited + waitMs > maxWaitMs) {
            throw refuse(
              bucket,
              units,
              waitMs,
              `still over the limit after waiting ${waited} ms, and the next wait of ${waitMs} ms would pass maxWaitMs (${maxWaitMs})`,
            );
          }
          onWait?.({ key: bucket, cost: units, waitMs });
          await sleep(waitMs, ctx.signal);
          waited += waitMs;
        }
      }
      await next();
    },
  });
}

function costOk(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function check(ok: boolean, option: string, value: unknown, expected: string): void {
  if (!ok) {
    const shown =
      typeof value === 'object' && value !== null ? 'an object without the Store methods' : `\`${String(value)}\``;
    throw new TypeError(`rateLimit(): expected \`${option}\` to be ${expected}, got ${shown}.`);
  }
}
