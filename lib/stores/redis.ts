import { randomBytes } from 'node:crypto';
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
import { type RedisClientLike, checkRedisOptions, scriptRunner } from './redis-scripts.js';

export type { RedisClientLike };

export interface RedisStoreOptions {
  /** An ioredis client you created (and will `quit()`); the store never closes it. */
  readonly client: RedisClientLike;
  /** Namespace of every key. @default 'modelware:' */
  readonly prefix?: string | undefined;
  /**
   * How long the server remembers the request id of each `increment` and `take`, in ms: a resend
   * of the same command within it (ioredis resends unanswered commands after a reconnect) gets
   * the first answer instead of counting again. Keep it above the client's longest reconnect.
   * @default 60_000
   */
  readonly dedupeTtlMs?: number | undefined;
}

// Every operation is one script, so each is atomic and the client interface stays two methods.
// Empty ARGV means "not given": Lua has no undefined.
const SCRIPTS = {
  get: `local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return false end
if t ~= 'string' then return redis.error_reply('WRONGTYPE key holds a rate-limit bucket; use another key') end
return redis.call('GET', KEYS[1])`,
  set: `if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`,
  delete: `return redis.call('DEL', KEYS[1])`,
  // A missing counter starts at 0 with the TTL; INCRBY keeps an existing key's TTL. KEYS[2] holds
  // the answer to this request id, so a resent command answers again without counting again.
  increment: `local seen = redis.call('GET', KEYS[2])
if seen then return seen end
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], 0, 'PX', ARGV[2]) end
local reply = tostring(redis.call('INCRBY', KEYS[1], ARGV[1]))
redis.call('SET', KEYS[2], reply, 'PX', ARGV[3])
return reply`,
  // The token bucket of memory.ts, in the same integer units (exact in Lua's doubles below 2^53),
  // deduplicated like increment.
  take: `local seen = redis.call('GET', KEYS[2])
if seen then return seen end
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if now == nil then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local capacity = limit * window
local state = redis.call('HMGET', KEYS[1], 'level', 'at')
local level = tonumber(state[1])
local at = tonumber(state[2])
local since = now
if level == nil then
  level = capacity
else
  if at > now then since = at end
  if now > at then level = math.min(capacity, level + (now - at) * limit) end
end
local need = cost * window
local allowed = 0
local retry = 0
if level >= need then
  level = level - need
  allowed = 1
else
  retry = math.ceil((need - level) / limit) + (since - now)
end
local ttl = math.ceil((capacity - level) / limit)
if ttl > 0 then
  -- Formatted here: older servers turn a Lua number into text with 14 significant digits.
  redis.call('HSET', KEYS[1], 'level', string.format('%.0f', level), 'at', string.format('%.0f', since))
  redis.call('PEXPIRE', KEYS[1], ttl + since - now)
else
  redis.call('DEL', KEYS[1])
end
local reply = allowed .. ':' .. string.format('%.0f', math.floor(level / window)) .. ':' .. string.format('%.0f', retry)
redis.call('SET', KEYS[2], reply, 'PX', ARGV[5])
return reply`,
  // A ledger is a hash of counters. ARGV: n, ttl ('' none), dedupe ttl, then name, amount, limit
  // ('' none) per counter. Checks every limit first, so a refusal adds nothing.
  reserve: `local seen = redis.call('GET', KEYS[2])
if seen then return seen end
local n = tonumber(ARGV[1])
local used = {}
local refused = ''
for i = 0, n - 1 do
  local u = tonumber(redis.call('HGET', KEYS[1], ARGV[4 + i * 3]) or '0')
  used[i + 1] = u
  local limit = ARGV[6 + i * 3]
  if refused == '' and limit ~= '' and u + tonumber(ARGV[5 + i * 3]) > tonumber(limit) then refused = ARGV[4 + i * 3] end
end
if refused == '' then
  local fresh = redis.call('EXISTS', KEYS[1]) == 0
  for i = 0, n - 1 do used[i + 1] = redis.call('HINCRBY', KEYS[1], ARGV[4 + i * 3], ARGV[5 + i * 3]) end
  if fresh and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
end
local parts = {}
for i = 1, n do parts[i] = string.format('%.0f', used[i]) end
local reply = (refused == '' and '1' or '0') .. ':' .. refused .. ':' .. table.concat(parts, ',')
redis.call('SET', KEYS[2], reply, 'PX', ARGV[3])
return reply`,
  // ARGV: n, dedupe ttl, then name, actual - reserved per counter. An expired ledger stays gone.
  settle: `local seen = redis.call('GET', KEYS[2])
if seen then return seen end
local n = tonumber(ARGV[1])
local applied = redis.call('EXISTS', KEYS[1])
local parts = {}
for i = 0, n - 1 do
  local u = 0
  if applied == 1 then u = redis.call('HINCRBY', KEYS[1], ARGV[3 + i * 2], ARGV[4 + i * 2]) end
  parts[i + 1] = string.format('%.0f', u)
end
local reply = applied .. ':' .. table.concat(parts, ',')
redis.call('SET', KEYS[2], reply, 'PX', ARGV[2])
return reply`,
} as const;

type ScriptName = keyof typeof SCRIPTS;
const DEDUPED: ReadonlySet<ScriptName> = new Set(['increment', 'take', 'reserve', 'settle']);

/**
 * A `Store` in Redis, shared by every worker connected to it. Each operation is one Lua script
 * (EVALSHA, falling back to EVAL when the server has not cached it yet), so `increment` and `take`
 * are atomic across processes; TTLs are Redis' own (PX). Pass a client you created: modelware
 * never loads ioredis itself.
 *
 * @example
 * import { Redis } from 'ioredis';
 * const store = redisStore({ client: new Redis(process.env.REDIS_URL), prefix: 'myapp:' });
 */
export function redisStore(options: RedisStoreOptions): LedgerStore {
  const { client, prefix = DEFAULT_PREFIX, dedupeTtlMs = 60_000 } = options ?? ({} as RedisStoreOptions);
  checkKnownKeys('redisStore()', options ?? {}, [
    'client',
    'prefix',
    'dedupeTtlMs',
  ] satisfies (keyof RedisStoreOptions)[]);
  checkRedisOptions('redisStore()', client, prefix, dedupeTtlMs);
  const runScript = scriptRunner<ScriptName>(client, SCRIPTS, 'redisStore');

  /** Runs a script on `key` (and its request key, where answers are remembered). */
  function run(name: ScriptName, key: string, signal: AbortSignal | undefined, args: (string | number)[]) {
    const full = prefix + key;
    return runScript(name, key, DEDUPED.has(name) ? [full, dedupeKey(full)] : [full], signal, args);
  }

  return {
    name: 'redis',
    async get(key, options?: StoreCallOptions) {
      checkKey('redisStore get()', key);
      const value = await run('get', key, options?.signal, []);
      return value === null || value === undefined ? undefined : String(value);
    },
    async set(key, value, options?: StoreTtlOptions) {
      checkKey('redisStore set()', key);
      if (typeof value !== 'string') {
        throw new TypeError(`redisStore set(): expected \`value\` to be a string, got ${typeof value}. Store JSON.`);
      }
      const ttlMs = checkTtl('redisStore set()', options);
      await run('set', key, options?.signal, [value, ttlMs ?? '']);
    },
    async delete(key, options?: StoreCallOptions) {
      checkKey('redisStore delete()', key);
      return Number(await run('delete', key, options?.signal, [])) > 0;
    },
    async increment(key, by, options?: StoreTtlOptions) {
      checkKey('redisStore increment()', key);
      checkIncrement('redisStore increment()', by);
      const ttlMs = checkTtl('redisStore increment()', options);
      return Number(await run('increment', key, options?.signal, [by, ttlMs ?? '', dedupeTtlMs]));
    },
    async take(key, options: TakeOptions): Promise<TakeResult> {
      checkKey('redisStore take()', key);
      checkTake('redisStore take()', options);
      const { cost, limit, windowMs, now } = options;
      const at = now === undefined ? '' : Math.floor(now);
      const reply = String(await run('take', key, options.signal, [cost, limit, windowMs, at, dedupeTtlMs]));
      const [allowed, remaining, retryAfterMs] = reply.split(':').map(Number) as [number, number, number];
      return { allowed: allowed === 1, remaining, retryAfterMs };
    },
    async reserve(key, options: ReserveOptions): Promise<ReserveResult> {
      checkKey('redisStore reserve()', key);
      const names = checkReserve('redisStore reserve()', options);
      const ttlMs = checkTtl('redisStore reserve()', options);
      const args: (string | number)[] = [names.length, ttlMs ?? '', dedupeTtlMs];
      for (const name of names) args.push(name, options.amounts[name] as number, options.limits[name] ?? '');
      const reply = String(await run('reserve', key, options.signal, args));
      const [allowed, refused, counts] = reply.split(':') as [string, string, string];
      return { allowed: allowed === '1', used: zip(names, counts), refusedBy: refused === '' ? undefined : refused };
    },
    async settle(key, options: SettleOptions): Promise<SettleResult> {
      checkKey('redisStore settle()', key);
      const names = checkSettle('redisStore settle()', options);
      const args: (string | number)[] = [names.length, dedupeTtlMs];
      for (const name of names) args.push(name, (options.actual[name] ?? 0) - (options.reserved[name] as number));
      const reply = String(await run('settle', key, options.signal, args));
      const [applied, counts] = reply.split(':') as [string, string];
      return { applied: applied === '1', used: zip(names, counts) };
    },
  };
}

function zip(names: readonly string[], counts: string): LedgerAmounts {
  const values = counts.split(',');
  const used: Record<string, number> = {};
  names.forEach((name, i) => {
    used[name] = Number(values[i] ?? 0);
  });
  return used;
}

/**
 * The key that remembers one request's answer: a fresh id per call, so a command the client
 * resends after a reconnect finds its first answer. It shares the key's hash slot, so scripts
 * stay single-slot on Redis Cluster: through the key's own `{tag}` when it has one, else by
 * making the whole key the tag (impossible only for a key holding `}` outside a tag).
 */
function dedupeKey(full: string): string {
  const id = randomBytes(12).toString('base64url');
  return hasHashTag(full) || full.includes('}') ? `${full}:req:${id}` : `{${full}}:req:${id}`;
}

/** Redis Cluster's rule: the part between the first `{` and the next `}`, if not empty, decides the slot. */
function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  if (open === -1) return false;
  const close = key.indexOf('}', open + 1);
  return close > open + 1;
}
