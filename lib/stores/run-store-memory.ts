import {
  type RunAppendOptions,
  type RunLease,
  type RunLogEntry,
  RunLeaseError,
  type RunStore,
  RunStoreError,
  type RunStoreLimits,
  checkFrom,
  checkKnownKeys,
  checkLeaseTtl,
  checkEntries,
  checkLimit,
  checkOwner,
  checkRunId,
} from './run-store.js';

export interface MemoryRunStoreOptions extends RunStoreLimits {
  /** The clock, in ms; inject one in tests to expire leases without waiting. @default Date.now */
  readonly now?: (() => number) | undefined;
  /**
   * Most runs held at once. Past it, the least recently written finished run is dropped; when
   * every run is unfinished, `append` to a new run rejects with `RunStoreError` (code `STORE_FULL`).
   * @default 10_000
   */
  readonly maxRuns?: number | undefined;
}

/** The in-process run store; `size` counts the runs whose logs it holds. */
export interface MemoryRunStore extends RunStore {
  readonly size: number;
  /**
   * `append` done at once: returns the log's new length, or throws what `append` rejects with. A
   * checkpointed run uses it when no write is in flight, which saves a promise per step.
   */
  appendSync(runId: string, entries: readonly RunLogEntry[], options: RunAppendOptions): number;
}

interface Log {
  readonly entries: RunLogEntry[];
  finished: boolean;
}

interface Lease {
  readonly owner: string;
  ttlMs: number;
  expiresAt: number;
}

const OPTIONS = ['now', 'maxRuns', 'maxEntries'] as const;

/**
 * A `RunStore` in this process's memory: checkpoints that survive a failed run, not a crashed
 * process (use `redisRunStore` for that). Entries are kept as given, not copied or encoded (that
 * is what keeps checkpointing nearly free): do not change an object after appending it (the agent
 * loop never does; its messages are immutable). `read` returns the same objects, in new arrays.
 *
 * @example
 * const store = memoryRunStore();
 * const result = await runAgent({ model, messages, tools, checkpoint: { store } });
 */
export function memoryRunStore(options: MemoryRunStoreOptions = {}): MemoryRunStore {
  const where = 'memoryRunStore()';
  checkKnownKeys(where, options, OPTIONS);
  const { now = Date.now, maxRuns = 10_000 } = options;
  const maxEntries = checkLimit(where, 'maxEntries', options.maxEntries, 100_000);
  if (typeof now !== 'function') {
    throw new TypeError(`${where}: expected \`now\` to be a function returning ms, got \`${String(now)}\`.`);
  }
  if (!Number.isSafeInteger(maxRuns) || maxRuns < 1) {
    throw new TypeError(`${where}: expected \`maxRuns\` to be a positive integer, got \`${String(maxRuns)}\`.`);
  }
  // Among finished runs, Map order is the order they finished (their last write, which re-inserts
  // them): the first finished run is the eviction victim.
  const logs = new Map<string, Log>();
  const leases = new Map<string, Lease>();

  function liveLease(runId: string, at = now()): Lease | undefined {
    const lease = leases.get(runId);
    if (lease !== undefined && lease.expiresAt <= at) {
      leases.delete(runId);
      return undefined;
    }
    return lease;
  }

  function room(runId: string): void {
    if (logs.size < maxRuns) return;
    for (const [id, log] of logs) {
      if (log.finished) {
        logs.delete(id);
        return;
      }
    }
    throw new RunStoreError({
      code: 'STORE_FULL',
      runId,
      message: `memoryRunStore append(): the store holds \`maxRuns\` (${maxRuns}) unfinished runs. Delete finished runs, raise \`maxRuns\` or use redisRunStore.`,
    });
  }

  function appendSync(runId: string, entries: readonly RunLogEntry[], appendOptions: RunAppendOptions): number {
    appendOptions?.signal?.throwIfAborted();
    let log = logs.get(runId);
    // A run with a log has a checked id: the check is for the first append only.
    if (log === undefined) checkRunId('memoryRunStore append()', runId);
    const owner = appendOptions?.owner;
    checkOwner('memoryRunStore append()', owner);
    checkEntries('memoryRunStore append()', runId, entries);
    const at = now();
    const lease = liveLease(runId, at);
    if (lease?.owner !== owner) {
      throw new RunLeaseError({ code: 'LEASE_LOST', runId, owner, store: 'memory', operation: 'append' });
    }
    if (log?.finished) {
      throw new RunStoreError({
        code: 'RUN_FINISHED',
        runId,
        message: `memoryRunStore append(): run \`${runId}\` is finished; its log takes no more entries.`,
      });
    }
    const length = (log?.entries.length ?? 0) + entries.length;
    if (length > maxEntries) {
      throw new RunStoreError({
        code: 'LOG_FULL',
        runId,
        message: `memoryRunStore append(): run \`${runId}\` would hold ${length} entries, over \`maxEntries\` (${maxEntries}).`,
      });
    }
    if (log === undefined) {
      room(runId);
      log = { entries: [], finished: false };
      logs.set(runId, log);
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as RunLogEntry;
      log.entries.push(entry);
      if (entry.type === 'finished') log.finished = true;
    }
    if (log.finished) {
      // Only finished runs are evicted, in the order they finished (their last write): move it last.
      logs.delete(runId);
      logs.set(runId, log);
    }
    lease.expiresAt = at + lease.ttlMs;
    return log.entries.length;
  }

  return {
    name: 'memory',
    get size() {
      return logs.size;
    },
    appendSync,
    async append(runId, entries, appendOptions) {
      return appendSync(runId, entries, appendOptions);
    },
    async read(runId, readOptions) {
      readOptions?.signal?.throwIfAborted();
      checkRunId('memoryRunStore read()', runId);
      const from = checkFrom('memoryRunStore read()', readOptions);
      const log = logs.get(runId);
      if (log === undefined) return { entries: [], length: 0, finished: false };
      return { entries: log.entries.slice(from), length: log.entries.length, finished: log.finished };
    },
    async acquire(runId, owner, leaseOptions) {
      leaseOptions?.signal?.throwIfAborted();
      checkRunId('memoryRunStore acquire()', runId);
      checkOwner('memoryRunStore acquire()', owner);
      const ttlMs = checkLeaseTtl('memoryRunStore acquire()', leaseOptions);
      const lease = liveLease(runId);
      if (lease !== undefined && lease.owner !== owner) {
        throw new RunLeaseError({ code: 'LEASE_HELD', runId, owner, store: 'memory', operation: 'acquire' });
      }
      if (lease === undefined && leases.size >= maxRuns) {
        for (const id of [...leases.keys()]) liveLease(id);
        if (leases.size >= maxRuns) {
          throw new RunStoreError({
            code: 'STORE_FULL',
            runId,
            message: `memoryRunStore acquire(): \`maxRuns\` (${maxRuns}) leases are held. Release leases of finished runs or raise \`maxRuns\`.`,
          });
        }
      }
      leases.set(runId, { owner, ttlMs, expiresAt: now() + ttlMs });
      return { runId, owner, ttlMs } satisfies RunLease;
    },
    async renew(runId, owner, leaseOptions) {
      leaseOptions?.signal?.throwIfAborted();
      checkRunId('memoryRunStore renew()', runId);
      checkOwner('memoryRunStore renew()', owner);
      const ttlMs = checkLeaseTtl('memoryRunStore renew()', leaseOptions);
      const lease = liveLease(runId);
      if (lease?.owner !== owner) {
        throw new RunLeaseError({ code: 'LEASE_LOST', runId, owner, store: 'memory', operation: 'renew' });
      }
      lease.ttlMs = ttlMs;
      lease.expiresAt = now() + ttlMs;
      return { runId, owner, ttlMs };
    },
    async release(runId, owner, callOptions) {
      callOptions?.signal?.throwIfAborted();
      checkRunId('memoryRunStore release()', runId);
      checkOwner('memoryRunStore release()', owner);
      if (liveLease(runId)?.owner !== owner) return false;
      leases.delete(runId);
      return true;
    },
    async delete(runId, callOptions) {
      callOptions?.signal?.throwIfAborted();
      checkRunId('memoryRunStore delete()', runId);
      leases.delete(runId);
      return logs.delete(runId);
    },
  };
}
