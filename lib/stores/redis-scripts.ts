// What redisStore and redisRunStore share: their common options, and running one Lua script a call.
import { createHash } from 'node:crypto';
import { StoreError, type StoreOperation } from './errors.js';
import { untilAborted } from './store.js';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the store uses. Typed structurally, so
 * modelware neither imports ioredis nor makes its types a dependency of yours.
 */
export interface RedisClientLike {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** @internal Checks the options both Redis stores have; each failure is a `TypeError` starting with `where`. */
export function checkRedisOptions(where: string, client: unknown, prefix: unknown, dedupeTtlMs: unknown): void {
  const c = client as Partial<RedisClientLike> | null;
  if (typeof c !== 'object' || c === null || typeof c.eval !== 'function' || typeof c.evalsha !== 'function') {
    throw new TypeError(
      `${where}: expected \`client\` to be an ioredis client (new Redis(url)), got \`${String(client)}\`.`,
    );
  }
  if (typeof prefix !== 'string') {
    throw new TypeError(`${where}: expected \`prefix\` to be a string, got \`${String(prefix)}\`.`);
  }
  if (!Number.isSafeInteger(dedupeTtlMs) || (dedupeTtlMs as number) < 1) {
    throw new TypeError(
      `${where}: expected \`dedupeTtlMs\` to be a positive integer of ms, got \`${String(dedupeTtlMs)}\`.`,
    );
  }
}

/** Runs the script `name` on `keys`; rejects with the signal's reason once it aborts. */
export type ScriptRunner<N extends StoreOperation> = (
  name: N,
  key: string,
  keys: readonly string[],
  signal: AbortSignal | undefined,
  args: (string | number)[],
) => Promise<unknown>;

/**
 * @internal Runs a store's scripts by SHA (EVALSHA), falling back to EVAL when the server has not
 * cached one (first use, a restart, SCRIPT FLUSH). A Redis failure rejects with a `StoreError` of
 * `store` (`'redisStore'`, `'redisRunStore'`) naming the operation and `key`.
 */
export function scriptRunner<N extends StoreOperation>(
  client: RedisClientLike,
  scripts: Readonly<Record<N, string>>,
  store: string,
): ScriptRunner<N> {
  const shas = new Map<N, string>();
  for (const name of Object.keys(scripts) as N[]) {
    shas.set(name, createHash('sha1').update(scripts[name]).digest('hex'));
  }

  async function send(name: N, keys: readonly string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(shas.get(name) as string, keys.length, ...keys, ...args);
    } catch (error) {
      // After a restart or SCRIPT FLUSH the server has forgotten the script; EVAL caches it again.
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return client.eval(scripts[name], keys.length, ...keys, ...args);
    }
  }

  return async (name, key, keys, signal, args) => {
    signal?.throwIfAborted();
    const reply = send(name, keys, args).catch((error: unknown) => {
      throw storeError(store, name, key, error);
    });
    return untilAborted(reply, signal);
  };
}

/**
 * The client's error as a StoreError. A reply error (the server refused the command: a wrong
 * type, a key that is not a counter) will fail again; anything else (a closed connection, no
 * answer within the client's retries) is worth retrying.
 */
function storeError(store: string, operation: StoreOperation, key: string, error: unknown): StoreError {
  const refused = (error as { name?: unknown })?.name === 'ReplyError';
  const detail = error instanceof Error ? error.message : String(error);
  return new StoreError({
    store: 'redis',
    operation,
    key,
    retryable: !refused,
    cause: error,
    message: refused
      ? `${store} ${operation}(): Redis refused the command (${detail}).`
      : `${store} ${operation}(): Redis did not answer (${detail}). Check that the server is reachable; the call may be retried.`,
  });
}
