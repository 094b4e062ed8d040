import {
  DEFAULT_PREFIX,
  type LedgerAmounts,
  type LedgerStore,
  type ReserveOptions,
  type ReserveResult,
  type SettleOptions,
  type SettleResult,
  type StoreCallOptions,
  type StoreTtlOptions,
  type TakeOptions,
  type TakeResult,
  checkIncrement,
  checkKey,
  checkReserve,
  checkSettle,
  checkTake,
  checkTtl,
} from './store.js';
import { checkKnownKeys } from './run-store.js';

export interface MemoryStoreOptions {
  /** Namespace of every key. @default 'modelware:' */
  readonly prefix?: string | undefined;
  /** The clock, in ms; inject one in tests to expire keys without waiting. @default Date.now */
  readonly now?: (() => number) | undefined;
  /**
   * Most keys held at once. Past it, expired keys are dropped first, then the least recently
   * written ones (a rate-limit bucket evicted this way starts full again). @default 10_000
   */
  readonly maxKeys?: number | undefined;
}

/** The in-process store; `size` counts the keys held, including expired ones not yet dropped. */
export interface MemoryStore extends LedgerStore {
  readonly size: number;
}

type Entry =
  | { kind: 'value'; value: string; expiresAt: number | undefined }
  | { kind: 'bucket'; level: number; at: number; expiresAt: number | undefined }
  | { kind: 'ledger'; counts: Map<string, number>; expiresAt: number | undefined };

/**
 * A `Store` in this process's memory: the default of every built-in that keeps state. TTLs follow
 * the injectable clock and no timer runs: expired keys are dropped when read, and swept now and
 * then as keys are written, so keys nobody reads again do not pile up.
 *
 * @example
 * const store = memoryStore({ prefix: 'app:' });
 * await store.set('greeting', 'hi', { ttlMs: 60_000 });
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const { prefix = DEFAULT_PREFIX, now = Date.now, maxKeys = 10_000 } = options;
  checkKnownKeys('memoryStore()', options, ['prefix', 'now', 'maxKeys'] satisfies (keyof MemoryStoreOptions)[]);
  if (typeof prefix !== 'string') {
    throw new TypeError(`memoryStore(): expected \`prefix\` to be a string, got \`${String(prefix)}\`.`);
  }
  if (typeof now !== 'function') {
    throw new TypeError(`memoryStore(): expected \`now\` to be a function returning ms, got \`${String(now)}\`.`);
  }
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new TypeError(`memoryStore(): expected \`maxKeys\` to be a positive integer, got \`${String(maxKeys)}\`.`);
  }
  const entries = new Map<string, Entry>();
  let writesSinceSweep = 0;
  let sizeAfterSweep = 0;

  function live(key: string, at: number): Entry | undefined {
    const entry = entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= at) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  function sweep(at: number): void {
    for (const [key, entry] of entries) if (entry.expiresAt !== undefined && entry.expiresAt <= at) entries.delete(key);
    writesSinceSweep = 0;
    sizeAfterSweep = entries.size;
  }

  // Re-inserting moves the key to the end of the Map's order, which makes eviction least-recently-written.
  function write(key: string, entry: Entry, at: number): void {
    entries.delete(key);
    // A sweep once the writes since the last one outnumber the keys it left keeps the cost per write constant.
    if (++writesSinceSweep >= Math.max(64, sizeAfterSweep) || entries.size >= maxKeys) sweep(at);
    while (entries.size >= maxKeys) entries.delete(entries.keys().next().value as string);
    entries.set(key, entry);
  }

  function wrongType(where: string, key: string, entry: Entry): Error {
    const holds =
      entry.kind === 'bucket' ? 'a rate-limit bucket' : entry.kind === 'ledger' ? 'a ledger' : 'a plain value';
    return new TypeError(`memoryStore ${where}: key \`${key}\` holds ${holds}; use another key.`);
  }

  return {
    name: 'memory',
    get size() {
      return entries.size;
    },
    async get(key, options?: StoreCallOptions) {
      // Each operation completes synchronously, so a signal only matters if it already aborted.
      options?.signal?.throwIfAborted();
      checkKey('memoryStore get()', key);
      const k = prefix + key;
      const entry = live(k, now());
      if (entry === undefined) return undefined;
      if (entry.kind !== 'value') throw wrongType('get()', key, entry);
      return entry.value;
    },
    async set(key, value, options?: StoreTtlOptions) {
      options?.signal?.throwIfAborted();
      checkKey('memoryStore set()', key);
      if (typeof value !== 'string') {
        throw new TypeError(`memoryStore set(): expected \`value\` to be a string, got ${typeof value}. Store JSON.`);
      }
      const ttlMs = checkTtl('memoryStore set()', options);
      const at = now();
      write(prefix + key, { kind: 'value', value, expiresAt: ttlMs === undefined ? undefined : at + ttlMs }, at);
    },
    async delete(key, options?: StoreCallOptions) {
      options?.signal?.throwIfAborted();
      checkKey('memoryStore delete()', key);
      const k = prefix + key;
      const existed = live(k, now()) !== undefined;
      entries.delete(k);
      return existed;
    },
    async increment(key, by, options?: StoreTtlOptions) {
      options?.signal?.throwIfAborted();
      checkKey('memoryStore increment()', key);
      checkIncrement('memoryStore increment()', by);
      const ttlMs = checkTtl('memoryStore increment()', options);
      const k = prefix + key;
      const at = now();
      const entry = live(k, at);
      if (entry === undefined) {
        write(k, { kind: 'value', value: String(by), expiresAt: ttlMs === undefined ? undefined : at + ttlMs }, at);
        return by;
      }
      if (entry.kind !== 'value') throw wrongType('increment()', key, entry);
      const current = /^-?\d+$/.test(entry.value) ? Number(entry.value) : Number.NaN;
      const next = current + by;
      if (!Number.isSafeInteger(current) || !Number.isSafeInteger(next)) {
        throw new TypeError(`memoryStore increment(): key \`${key}\` holds \`${entry.value}\`, not an integer.`);
      }
      // The entry object is updated in place: it keeps its TTL and its place in the eviction order.
      entry.value = String(next);
      return next;
    },
    async take(key, options: TakeOptions) {
      options?.signal?.throwIfAborted();
      checkKey('memoryStore take()', key);
      checkTake('memoryStore take()', options);
      const k = prefix + key;
      const at = Math.floor(options.now ?? now());
      const entry = live(k, at);
      if (entry !== undefined && entry.kind !== 'bucket') throw wrongType('take()', key, entry);
      const { result, level, since, ttlMs } = takeFromBucket(entry, options, at);
      if (ttlMs === 0) entries.delete(k);
      else write(k, { kind: 'bucket', level, at: since, expiresAt: since + ttlMs }, at);
      return result;
    },
    async reserve(key, options: ReserveOptions): Promise<ReserveResult> {
      options?.signal?.throwIfAborted();
      checkKey('memoryStore reserve()', key);
      const names = checkReserve('memoryStore reserve()', options);
      const ttlMs = checkTtl('memoryStore reserve()', options);
      const k = prefix + key;
      const at = now();
      let entry = live(k, at);
      if (entry !== undefined && entry.kind !== 'ledger') throw wrongType('reserve()', key, entry);
      const { amounts, limits } = options;
      const counts = entry?.counts;
      let refusedBy: string | undefined;
      for (const name of names) {
        const limit = limits[name];
        if (limit !== undefined && (counts?.get(name) ?? 0) + (amounts[name] as number) > limit) {
          refusedBy = name;
          break;
        }
      }
      if (refusedBy === undefined) {
        if (entry === undefined) {
          entry = {
            kind: 'ledger',
            counts: new Map(),
            expiresAt: ttlMs === undefined ? undefined : at + ttlMs,
          };
          write(k, entry, at);
        }
        for (const name of names) entry.counts.set(name, (entry.counts.get(name) ?? 0) + (amounts[name] as number));
      }
      return { allowed: refusedBy === undefined, used: pick(names, entry?.counts), refusedBy };
    },
    async settle(key, options: SettleOptions): Promise<SettleResult> {
      options?.signal?.throwIfAborted();
      checkKey('memoryStore settle()', key);
      const names = checkSettle('memoryStore settle()', options);
      const entry = live(prefix + key, now());
      if (entry === undefined) return { applied: false, used: pick(names, undefined) };
      if (entry.kind !== 'ledger') throw wrongType('settle()', key, entry);
      const { reserved, actual } = options;
      for (const name of names) {
        entry.counts.set(name, (entry.counts.get(name) ?? 0) + (actual[name] ?? 0) - (reserved[name] as number));
      }
      return { applied: true, used: pick(names, entry.counts) };
    },
  };
}

function pick(names: readonly string[], counts: Map<string, number> | undefined): LedgerAmounts {
  const used: Record<string, number> = {};
  for (const name of names) used[name] = counts?.get(name) ?? 0;
  return used;
}

/**
 * The token bucket, in integers: one unit of cost is `windowMs` units of level, and the bucket
 * refills `limit` units of level per ms. Mirrors the Lua script of `redisStore`.
 */
function takeFromBucket(
  state: { level: number; at: number } | undefined,
  { cost, limit, windowMs }: TakeOptions,
  now: number,
): { result: TakeResult; level: number; since: number; ttlMs: number } {
  const capacity = limit * windowMs;
  let level = state?.level ?? capacity;
  // A clock behind the last take (another worker's skew) refills nothing and never moves time back.
  const since = Math.max(state?.at ?? now, now);
  if (state !== undefined && now > state.at) level = Math.min(capacity, level + (now - state.at) * limit);
  const need = cost * windowMs;
  let allowed = false;
  let retryAfterMs = 0;
  if (level >= need) {
    level -= need;
    allowed = true;
  } else {
    retryAfterMs = Math.ceil((need - level) / limit) + (since - now);
  }
  // Once refilled the bucket is the same as a missing one: let the key expire then (counted from `since`).
  const ttlMs = Math.ceil((capacity - level) / limit);
  return { result: { allowed, remaining: Math.floor(level / windowMs), retryAfterMs }, level, since, ttlMs };
}
