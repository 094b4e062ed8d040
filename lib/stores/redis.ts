import { createHash } from 'node:crypto';
import {
  DEFAULT_PREFIX,
  type Store,
  type StoreTtlOptions,
  type TakeOptions,
  type TakeResult,
  checkIncrement,
  checkKey,
  checkTake,
  checkTtl,
} from './store.js';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the store uses. Typed structurally, so
 * modelware neither imports ioredis nor makes its types a dependency of yours.
 */
export interface RedisClientLike {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** An ioredis client you created (and will `quit()`); the store never closes it. */
  readonly client: RedisClientLike;
  /** Namespace of every key. @default 'modelware:' */
  readonly prefix?: string | undefined;
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
  // A missing counter starts at 0 with the TTL; INCRBY keeps an existing key's TTL.
  increment: `if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], 0, 'PX', ARGV[2]) end
return redis.call('INCRBY', KEYS[1], ARGV[1])`,
  // The token bucket of memory.ts, in the same integer units (exact in Lua's doubles below 2^53).
  take: `local cost = tonumber(ARGV[1])
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
return { allowed, math.floor(level / window), retry }`,
} as const;

type ScriptName = keyof typeof SCRIPTS;
const SHAS = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, body]) => [name, createHash('sha1').update(body).digest('hex')]),
) as Record<ScriptName, string>;

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
export function redisStore(options: RedisStoreOptions): Store {
  const { client, prefix = DEFAULT_PREFIX } = options ?? ({} as RedisStoreOptions);
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.eval !== 'function' ||
    typeof client.evalsha !== 'function'
  ) {
    throw new TypeError(
      `redisStore(): expected \`client\` to be an ioredis client (new Redis(url)), got \`${String(client)}\`.`,
    );
  }
  if (typeof prefix !== 'string') {
    throw new TypeError(`redisStore(): expected \`prefix\` to be a string, got \`${String(prefix)}\`.`);
  }

  async function run(name: ScriptName, key: string, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(SHAS[name], 1, prefix + key, ...args);
    } catch (error) {
      // After a restart or SCRIPT FLUSH the server has forgotten the script; EVAL caches it again.
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return client.eval(SCRIPTS[name], 1, prefix + key, ...args);
    }
  }

  return {
    name: 'redis',
    async get(key) {
      checkKey('redisStore get()', key);
      const value = await run('get', key);
      return value === null || value === undefined ? undefined : String(value);
    },
    async set(key, value, options?: StoreTtlOptions) {
      checkKey('redisStore set()', key);
      if (typeof value !== 'string') {
        throw new TypeError(`redisStore set(): expected \`value\` to be a string, got ${typeof value}. Store JSON.`);
      }
      const ttlMs = checkTtl('redisStore set()', options);
      await run('set', key, value, ttlMs ?? '');
    },
    async delete(key) {
      checkKey('redisStore delete()', key);
      return Number(await run('delete', key)) > 0;
    },
    async increment(key, by, options?: StoreTtlOptions) {
      checkKey('redisStore increment()', key);
      checkIncrement('redisStore increment()', by);
      const ttlMs = checkTtl('redisStore increment()', options);
      return Number(await run('increment', key, by, ttlMs ?? ''));
    },
    async take(key, options: TakeOptions): Promise<TakeResult> {
      checkKey('redisStore take()', key);
      checkTake('redisStore take()', options);
      const { cost, limit, windowMs, now } = options;
      const reply = (await run('take', key, cost, limit, windowMs, now === undefined ? '' : Math.floor(now))) as [
        number,
        number,
        number,
      ];
      return { allowed: Number(reply[0]) === 1, remaining: Number(reply[1]), retryAfterMs: Number(reply[2]) };
    },
  };
}
