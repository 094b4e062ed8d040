/**
 * State shared by every worker that enforces one budget, rate limit or cache: `memoryStore()` for
 * one process, `redisStore({ client })` for a fleet. Both pass the same conformance suite.
 *
 * Values are strings (callers store JSON); keys are namespaced by the store's `prefix`. Every
 * method is atomic on its own, so `increment` and `take` never over-admit, even from many
 * processes at once. Every method takes a `signal`: once it aborts the call rejects with its
 * reason at once, even when the server never answers (the command may still have run).
 * A store that cannot be reached rejects with a retryable `StoreError` naming the operation.
 */
export interface Store {
  /** Shown in errors, e.g. `memory`, `redis`. */
  readonly name: string;
  /** The value, or `undefined` when the key is missing or expired. */
  get(key: string, options?: StoreCallOptions): Promise<string | undefined>;
  /** Sets a value, replacing any value and TTL the key had. */
  set(key: string, value: string, options?: StoreTtlOptions): Promise<void>;
  /** Removes a key; resolves to whether it existed. */
  delete(key: string, options?: StoreCallOptions): Promise<boolean>;
  /**
   * Adds `by` (a safe integer, may be negative) and resolves to the new value. A missing key starts
   * at 0 and gets `ttlMs`; an existing key keeps its TTL, so a counter with a TTL is a fixed window.
   * Counted once per call, even when the client resends the command after a reconnect.
   */
  increment(key: string, by: number, options?: StoreTtlOptions): Promise<number>;
  /**
   * Takes `cost` units from a token bucket of `limit` units that refills continuously at `limit`
   * per `windowMs` (bursts up to `limit`, `limit / windowMs` in the long run). A missing bucket
   * is full. When the bucket holds less than `cost`, nothing is taken and `retryAfterMs` says
   * when it will hold enough. `cost: 0` only reads the bucket. Counted once per call, even when
   * the client resends the command after a reconnect.
   */
  take(key: string, options: TakeOptions): Promise<TakeResult>;
}

export interface StoreCallOptions {
  /** Stops waiting for the store: the call rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

export interface StoreTtlOptions extends StoreCallOptions {
  /** Expire the key after this many ms (a positive integer). @default no expiry */
  readonly ttlMs?: number | undefined;
}

export interface TakeOptions extends StoreCallOptions {
  /** Units to take: a non-negative integer no larger than `limit`. */
  readonly cost: number;
  /** Capacity of the bucket, and units refilled per `windowMs`: a positive integer. */
  readonly limit: number;
  /** A positive integer number of ms. */
  readonly windowMs: number;
  /**
   * The current time in ms. @default the store's clock (`memoryStore`), the Redis server's `TIME`
   * (`redisStore`, so workers with skewed clocks agree)
   */
  readonly now?: number | undefined;
}

export interface TakeResult {
  /** Whether `cost` was taken. */
  readonly allowed: boolean;
  /** Whole units left in the bucket after this call. */
  readonly remaining: number;
  /** 0 when allowed; otherwise ms until the bucket holds `cost`. */
  readonly retryAfterMs: number;
}

/** The default `prefix` of every store. */
export const DEFAULT_PREFIX = 'modelware:';

/** @internal Checks a TTL option; shared so both stores reject the same values the same way. */
export function checkTtl(where: string, options: StoreTtlOptions | undefined): number | undefined {
  const ttlMs = options?.ttlMs;
  if (ttlMs === undefined) return undefined;
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new TypeError(`${where}: expected \`ttlMs\` to be a positive integer of ms, got \`${String(ttlMs)}\`.`);
  }
  return ttlMs;
}

/** @internal */
export function checkKey(where: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new TypeError(`${where}: expected \`key\` to be a non-empty string, got \`${String(key)}\`.`);
  }
}

/** @internal */
export function checkIncrement(where: string, by: unknown): asserts by is number {
  if (!Number.isSafeInteger(by)) {
    throw new TypeError(`${where}: expected \`by\` to be a safe integer, got \`${String(by)}\`.`);
  }
}

/**
 * @internal Checks a take's options. The bucket counts in units of `1 / windowMs` token so the
 * arithmetic stays in integers (exact in JavaScript and in Redis' Lua alike): its capacity,
 * `limit * windowMs`, must be a safe integer.
 */
export function checkTake(where: string, options: TakeOptions): void {
  const { cost, limit, windowMs, now } = options ?? ({} as TakeOptions);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError(`${where}: expected \`limit\` to be a positive integer, got \`${String(limit)}\`.`);
  }
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new TypeError(`${where}: expected \`windowMs\` to be a positive integer of ms, got \`${String(windowMs)}\`.`);
  }
  if (!Number.isSafeInteger(limit * windowMs)) {
    throw new TypeError(
      `${where}: \`limit\` × \`windowMs\` (${limit} × ${windowMs}) is too large to count exactly; use a coarser unit of cost.`,
    );
  }
  if (!Number.isSafeInteger(cost) || cost < 0 || cost > limit) {
    throw new TypeError(
      `${where}: expected \`cost\` to be an integer from 0 to \`limit\` (${limit}), got \`${String(cost)}\`. A cost above the limit could never be admitted.`,
    );
  }
  if (now !== undefined && !Number.isFinite(now)) {
    throw new TypeError(`${where}: expected \`now\` to be a finite number of ms, got \`${String(now)}\`.`);
  }
}
