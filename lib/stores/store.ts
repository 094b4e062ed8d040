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

/**
 * A `Store` that also keeps ledgers: named integer counters under one key, reserved against limits
 * and settled later, each step one atomic operation (one Lua script, one round trip, in Redis).
 * `budget()` keeps a fleet's spend in one. `memoryStore()` and `redisStore()` are ledger stores;
 * a custom `Store` may add `reserve` and `settle` to become one (check with `isLedgerStore`).
 */
export interface LedgerStore extends Store {
  /**
   * Adds every amount to its counter if, for each counter with a limit, `used + amount <= limit`;
   * otherwise adds nothing. A missing ledger starts at 0 and gets `ttlMs`. Counted once per call,
   * even when the client resends the command after a reconnect.
   */
  reserve(key: string, options: ReserveOptions): Promise<ReserveResult>;
  /**
   * Replaces a reservation by what was really used: adds `actual - reserved` to each counter
   * (`actual` all 0 releases it). Does nothing when the ledger has expired since the reservation,
   * so a late settle never charges the next window. Counted once per call.
   */
  settle(key: string, options: SettleOptions): Promise<SettleResult>;
}

/** Amounts per counter name: names of 1-32 letters, digits or `_`, values safe integers. */
export type LedgerAmounts = Readonly<Record<string, number>>;

export interface ReserveOptions extends StoreTtlOptions {
  /** What to reserve per counter: non-negative safe integers, at most 8 counters. */
  readonly amounts: LedgerAmounts;
  /** The most each counter may hold once this reservation is added; a counter without one is unlimited. */
  readonly limits: LedgerAmounts;
}

export interface ReserveResult {
  /** Whether the amounts were added. */
  readonly allowed: boolean;
  /** The counters of `amounts` after this call (with the reservation when allowed). */
  readonly used: LedgerAmounts;
  /** When refused: the first counter that would have passed its limit. */
  readonly refusedBy: string | undefined;
}

export interface SettleOptions extends StoreCallOptions {
  /** What the reservation added (the `amounts` given to `reserve`). */
  readonly reserved: LedgerAmounts;
  /** What was really used, per counter of `reserved`: non-negative safe integers. */
  readonly actual: LedgerAmounts;
}

export interface SettleResult {
  /** `false` when the ledger had expired (nothing was changed). */
  readonly applied: boolean;
  /** The counters of `reserved` after this call (0 when not applied). */
  readonly used: LedgerAmounts;
}

/** Whether a store keeps ledgers (`reserve` and `settle`), as `memoryStore()` and `redisStore()` do. */
export function isLedgerStore(store: Store): store is LedgerStore {
  const s = store as Partial<LedgerStore>;
  return typeof s.reserve === 'function' && typeof s.settle === 'function';
}

const COUNTER_NAME = /^[A-Za-z0-9_]{1,32}$/;
const KNOWN_NAMES = new Set<string>();

// Frozen amounts already checked, with their names: a budget passes the same frozen limits on
// every call, and settles with the frozen amounts it reserved, so each is checked once.
const CHECKED = new WeakMap<object, string[]>();

function checkAmounts(where: string, option: string, amounts: unknown, names?: readonly string[]): string[] {
  if (typeof amounts !== 'object' || amounts === null || Array.isArray(amounts)) {
    throw new TypeError(
      `${where}: expected \`${option}\` to be an object of counter amounts, got \`${String(amounts)}\`.`,
    );
  }
  const known = CHECKED.get(amounts);
  if (known !== undefined && (names === undefined || known.every((name) => names.includes(name)))) return known;
  const keys = Object.keys(amounts);
  if (keys.length > 8) throw new TypeError(`${where}: \`${option}\` names ${keys.length} counters; at most 8.`);
  for (const name of keys) {
    // Names seen before skip the pattern: a budget reuses the same two names on every call.
    if (!KNOWN_NAMES.has(name)) {
      if (!COUNTER_NAME.test(name)) {
        throw new TypeError(
          `${where}: counter names are 1-32 letters, digits or \`_\`; \`${option}\` has one that is not.`,
        );
      }
      if (KNOWN_NAMES.size < 256) KNOWN_NAMES.add(name);
    }
    const value = (amounts as Record<string, unknown>)[name];
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw new TypeError(
        `${where}: expected \`${option}.${name}\` to be a non-negative safe integer, got \`${String(value)}\`.`,
      );
    }
    if (names !== undefined && !names.includes(name)) {
      throw new TypeError(`${where}: \`${option}.${name}\` is not one of the reserved counters (${names.join(', ')}).`);
    }
  }
  if (Object.isFrozen(amounts)) CHECKED.set(amounts, keys);
  return keys;
}

/** @internal Checks a reserve's options; resolves to the counter names, in order. */
export function checkReserve(where: string, options: ReserveOptions): string[] {
  const names = checkAmounts(where, 'amounts', options?.amounts);
  checkAmounts(where, 'limits', options.limits, names);
  return names;
}

/** @internal Checks a settle's options; resolves to the counter names, in order. */
export function checkSettle(where: string, options: SettleOptions): string[] {
  const names = checkAmounts(where, 'reserved', options?.reserved);
  checkAmounts(where, 'actual', options.actual, names);
  return names;
}

/**
 * @internal The reply, or the signal's reason as soon as it aborts. The command may still answer
 * (or fail) after the abort: nobody waits for it any more, and its rejection is handled.
 */
export async function untilAborted<T>(reply: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return reply;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([reply, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort as () => void);
    reply.catch(() => {});
  }
}
