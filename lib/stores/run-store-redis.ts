import { randomBytes } from 'node:crypto';
import {
  FINISHED_CODE,
  RunLeaseError,
  type RunLog,
  type RunStore,
  RunStoreError,
  type RunStoreLimits,
  checkFrom,
  checkKnownKeys,
  checkLeaseTtl,
  checkLimit,
  checkOwner,
  checkRunId,
  decodeEntry,
  encodeEntries,
} from './run-store.js';
import { DEFAULT_PREFIX } from './store.js';
import { type RedisClientLike, checkRedisOptions, scriptRunner } from './redis-scripts.js';

export interface RedisRunStoreOptions extends RunStoreLimits {
  /** An ioredis client you created (and will `quit()`); the store never closes it. */
  readonly client: RedisClientLike;
  /** Namespace of every key (`<prefix>run:{<runId>}:log`, `:lease`, `:done`). @default 'modelware:' */
  readonly prefix?: string | undefined;
  /**
   * How long the server remembers the request id of each `append`, in ms: a resend of the same
   * command within it (ioredis resends unanswered commands after a reconnect) gets the first answer
   * instead of appending the entries twice. Keep it above the client's longest reconnect.
   * @default 60_000
   */
  readonly dedupeTtlMs?: number | undefined;
  /**
   * Most bytes one entry may take once encoded (about its JSON size). A larger entry rejects with
   * `RunStoreError` (code `ENTRY_TOO_LARGE`) and nothing is appended. @default 1_048_576 (1 MiB)
   */
  readonly maxEntryBytes?: number | undefined;
}

// One script per operation, so each is atomic. The lease is a hash { owner, ttl } with Redis' own
// expiry (PX); `done` marks a finished log. Answers are arrays of integers: a negative first one
// says why nothing was written.
const SCRIPTS = {
  append: `local seen = redis.call('GET', KEYS[4])
if seen then return {tonumber(seen)} end
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[1] then return {-1} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {-2} end
local length = redis.call('LLEN', KEYS[1]) + #ARGV - 4
if length > tonumber(ARGV[2]) then return {-3, length} end
for i = 5, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if ARGV[3] == '1' then redis.call('SET', KEYS[3], '1') end
redis.call('PEXPIRE', KEYS[2], redis.call('HGET', KEYS[2], 'ttl'))
redis.call('SET', KEYS[4], length, 'PX', ARGV[4])
return {length}`,
  read: `return {redis.call('LLEN', KEYS[1]), redis.call('EXISTS', KEYS[2]), redis.call('LRANGE', KEYS[1], ARGV[1], -1)}`,
  acquire: `local holder = redis.call('HGET', KEYS[1], 'owner')
if holder and holder ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'ttl', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
  renew: `if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'ttl', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
  release: `if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`,
  delete: `local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return existed`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

const OPTIONS = ['client', 'prefix', 'dedupeTtlMs', 'maxEntryBytes', 'maxEntries'] as const;

/**
 * A `RunStore` in Redis, shared by every worker connected to it: a run's log is a list that each
 * step extends with `RPUSH` of its new entries only (never a rewrite of the transcript), and its
 * lease a key with Redis' own expiry. Each operation is one Lua script, so the lease check and the
 * append are one atomic step. A run's keys share one Cluster hash slot (`{<runId>}`).
 *
 * @example
 * import { Redis } from 'ioredis';
 * const store = redisRunStore({ client: new Redis(process.env.REDIS_URL), prefix: 'myapp:' });
 */
export function redisRunStore(options: RedisRunStoreOptions): RunStore {
  const where = 'redisRunStore()';
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: expected an options object { client }, got \`${String(options)}\`.`);
  }
  checkKnownKeys(where, options, OPTIONS);
  const { client, prefix = DEFAULT_PREFIX, dedupeTtlMs = 60_000 } = options;
  const maxEntries = checkLimit(where, 'maxEntries', options.maxEntries, 100_000);
  const maxEntryBytes = checkLimit(where, 'maxEntryBytes', options.maxEntryBytes, 1_048_576);
  checkRedisOptions(where, client, prefix, dedupeTtlMs);
  const run = scriptRunner<ScriptName>(client, SCRIPTS, 'redisRunStore');

  const keys = (runId: string) => {
    const base = `${prefix}run:{${runId}}`;
    return { log: `${base}:log`, lease: `${base}:lease`, done: `${base}:done`, base };
  };

  return {
    name: 'redis',
    async append(runId, entries, appendOptions) {
      checkRunId('redisRunStore append()', runId);
      const owner = appendOptions?.owner;
      checkOwner('redisRunStore append()', owner);
      const encoded = encodeEntries('redisRunStore append()', runId, entries, maxEntryBytes);
      const k = keys(runId);
      const request = `${k.base}:req:${randomBytes(12).toString('base64url')}`;
      const finishes = encoded.some((entry) => entry[0] === FINISHED_CODE) ? '1' : '0';
      const reply = (await run('append', runId, [k.log, k.lease, k.done, request], appendOptions?.signal, [
        owner,
        maxEntries,
        finishes,
        dedupeTtlMs,
        ...encoded,
      ])) as number[];
      const [length = 0, wanted] = reply.map(Number);
      if (length === -1)
        throw new RunLeaseError({ code: 'LEASE_LOST', runId, owner, store: 'redis', operation: 'append' });
      if (length === -2) {
        throw new RunStoreError({
          code: 'RUN_FINISHED',
          runId,
          message: `redisRunStore append(): run \`${runId}\` is finished; its log takes no more entries.`,
        });
      }
      if (length === -3) {
        throw new RunStoreError({
          code: 'LOG_FULL',
          runId,
          message: `redisRunStore append(): run \`${runId}\` would hold ${wanted} entries, over \`maxEntries\` (${maxEntries}).`,
        });
      }
      return length;
    },
    async read(runId, readOptions): Promise<RunLog> {
      checkRunId('redisRunStore read()', runId);
      const from = checkFrom('redisRunStore read()', readOptions);
      const k = keys(runId);
      const [length, done, raw] = (await run('read', runId, [k.log, k.done], readOptions?.signal, [from])) as [
        number,
        number,
        string[],
      ];
      const entries = raw.map((encoded, i) => decodeEntry('redis', runId, from + i, String(encoded)));
      return { entries, length: Number(length), finished: Number(done) === 1 };
    },
    async acquire(runId, owner, leaseOptions) {
      checkRunId('redisRunStore acquire()', runId);
      checkOwner('redisRunStore acquire()', owner);
      const ttlMs = checkLeaseTtl('redisRunStore acquire()', leaseOptions);
      const ok = await run('acquire', runId, [keys(runId).lease], leaseOptions?.signal, [owner, ttlMs]);
      if (Number(ok) !== 1)
        throw new RunLeaseError({ code: 'LEASE_HELD', runId, owner, store: 'redis', operation: 'acquire' });
      return { runId, owner, ttlMs };
    },
    async renew(runId, owner, leaseOptions) {
      checkRunId('redisRunStore renew()', runId);
      checkOwner('redisRunStore renew()', owner);
      const ttlMs = checkLeaseTtl('redisRunStore renew()', leaseOptions);
      const ok = await run('renew', runId, [keys(runId).lease], leaseOptions?.signal, [owner, ttlMs]);
      if (Number(ok) !== 1)
        throw new RunLeaseError({ code: 'LEASE_LOST', runId, owner, store: 'redis', operation: 'renew' });
      return { runId, owner, ttlMs };
    },
    async release(runId, owner, callOptions) {
      checkRunId('redisRunStore release()', runId);
      checkOwner('redisRunStore release()', owner);
      return Number(await run('release', runId, [keys(runId).lease], callOptions?.signal, [owner])) === 1;
    },
    async delete(runId, callOptions) {
      checkRunId('redisRunStore delete()', runId);
      const k = keys(runId);
      return Number(await run('delete', runId, [k.log, k.lease, k.done], callOptions?.signal, [])) === 1;
    },
  };
}
