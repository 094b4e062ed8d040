/**
 * The run store: an append-only log per agent run, and a lease that lets one worker at a time
 * write to it. `memoryRunStore()` for one process, `redisRunStore({ client })` for a fleet; both
 * pass the same contract suite. Like every store it imports nothing else of modelware: entries hold
 * messages as plain JSON data, and the agent loop maps them to and from its own types.
 */

/**
 * One step of a run, in the order it happened. The store reads only `type` (a `finished` entry
 * ends the log); every other field is JSON data it keeps as given.
 */
export type RunLogEntry =
  | {
      /** The run began: the messages it started from and what the agent side needs to rebuild it. */
      readonly type: 'start';
      readonly messages: readonly unknown[];
      readonly meta?: unknown;
    }
  | {
      /** A message appended to the transcript (the model's answer, say). */
      readonly type: 'message';
      readonly message: unknown;
      readonly meta?: unknown;
    }
  | {
      /** A tool began to run. A `tool-started` with no `tool-result` after it means a crash. */
      readonly type: 'tool-started';
      readonly toolCallId: string;
      readonly toolName: string;
      readonly meta?: unknown;
    }
  | {
      /** A tool's result message, appended to the transcript. */
      readonly type: 'tool-result';
      readonly toolCallId: string;
      readonly message: unknown;
      readonly meta?: unknown;
    }
  | {
      /**
       * A decision a person gave on resume for a tool call (approve, approve with input, reject,
       * respond; who gave it when they said), saved before the approved call runs.
       */
      readonly type: 'decision';
      readonly toolCallId: string;
      readonly decision: unknown;
      readonly meta?: unknown;
    }
  | {
      /** The run stopped to wait for a decision; later entries continue it. */
      readonly type: 'interrupted';
      readonly meta?: unknown;
    }
  | {
      /** The run ended; the store refuses entries after this one. */
      readonly type: 'finished';
      readonly meta?: unknown;
    };

/** A `RunLogEntry`'s `type`. */
export type RunLogEntryType = RunLogEntry['type'];

/** What `read()` returns. */
export interface RunLog {
  /** The entries from `from` on, in append order. */
  readonly entries: readonly RunLogEntry[];
  /** Entries in the whole log (so the next incremental read starts here). 0 for an unknown run. */
  readonly length: number;
  /** Whether a `finished` entry has been appended. */
  readonly finished: boolean;
}

/** A lease held by `owner` (see `RunStore.acquire`). */
export interface RunLease {
  readonly runId: string;
  readonly owner: string;
  /** How long the lease lasts past each acquire, renew and append, in ms. */
  readonly ttlMs: number;
}

/**
 * Where a run's steps are saved, so that a run can go on after its process dies. A worker takes
 * the run's lease (`acquire`) before it writes; every `append` checks the lease atomically, so a
 * worker that lost it (it stalled past the TTL and another took over) can write nothing more.
 *
 * Every method takes a `signal`: once it aborts the call rejects with its reason at once (the
 * command may still have run). A store that cannot be reached rejects with a retryable `StoreError`.
 *
 * @example
 * const store = memoryRunStore();
 * await store.acquire('run_1', 'worker-a', { ttlMs: 30_000 });
 * await store.append('run_1', [{ type: 'message', message: { role: 'assistant', content: 'Hi' } }], { owner: 'worker-a' });
 * const { entries } = await store.read('run_1');
 */
export interface RunStore {
  /** Shown in errors, e.g. `memory`, `redis`. */
  readonly name: string;
  /**
   * Appends `entries` (at least one) to the run's log in one atomic step, if `owner` holds the
   * run's lease; resolves to the log's new length. Each append extends the lease by its `ttlMs`.
   * Rejects with `RunLeaseError` (code `LEASE_LOST`) when `owner` does not hold the lease, and with
   * `RunStoreError` when the log is finished, an entry is too large or the log is full. Nothing is
   * appended when it rejects.
   */
  append(runId: string, entries: readonly RunLogEntry[], options: RunAppendOptions): Promise<number>;
  /** The run's log from entry `from` on (an unknown run has an empty, unfinished log). */
  read(runId: string, options?: RunReadOptions): Promise<RunLog>;
  /**
   * Takes the run's lease for `owner` for `ttlMs`. A lease held by the same owner is renewed; one
   * held by another owner and not expired rejects with `RunLeaseError` (code `LEASE_HELD`).
   */
  acquire(runId: string, owner: string, options: RunLeaseOptions): Promise<RunLease>;
  /** Extends `owner`'s lease by `ttlMs`; rejects with `RunLeaseError` (code `LEASE_LOST`) when it does not hold it. */
  renew(runId: string, owner: string, options: RunLeaseOptions): Promise<RunLease>;
  /** Gives the lease up; resolves to whether `owner` held it (another owner's lease is left alone). */
  release(runId: string, owner: string, options?: RunStoreCallOptions): Promise<boolean>;
  /** Removes the run's log and lease; resolves to whether the log existed. */
  delete(runId: string, options?: RunStoreCallOptions): Promise<boolean>;
}

export interface RunStoreCallOptions {
  /** Stops waiting for the store: the call rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

export interface RunAppendOptions extends RunStoreCallOptions {
  /** Who writes: the append succeeds only while this owner holds the run's lease. */
  readonly owner: string;
}

export interface RunReadOptions extends RunStoreCallOptions {
  /** The first entry to return (a non-negative integer). @default 0 */
  readonly from?: number | undefined;
}

export interface RunLeaseOptions extends RunStoreCallOptions {
  /** How long the lease lasts, in ms (a positive integer). Keep it above the longest step. */
  readonly ttlMs: number;
}

/** The limit both run stores share. */
export interface RunStoreLimits {
  /** Most entries one run's log may hold; past it `append` rejects (code `LOG_FULL`). @default 100_000 */
  readonly maxEntries?: number | undefined;
}

const LEASE_ERROR = Symbol.for('modelware.error.RunLeaseError');
const RUN_STORE_ERROR = Symbol.for('modelware.error.RunStoreError');
const MODELWARE_ERROR = Symbol.for('modelware.error');

/**
 * A run's lease is not this worker's: another worker holds it (`LEASE_HELD`, from `acquire`), or this
 * worker's lease expired or was taken over (`LEASE_LOST`, from `renew` or `append`). Another worker is
 * running the run: stop working on it. `ModelwareError.isInstance(error)` holds for it.
 */
export class RunLeaseError extends Error {
  override readonly name = 'RunLeaseError';
  readonly [MODELWARE_ERROR] = true;
  readonly code: 'LEASE_HELD' | 'LEASE_LOST';
  readonly runId: string;
  /** The owner that asked. */
  readonly owner: string;

  constructor(init: {
    code: 'LEASE_HELD' | 'LEASE_LOST';
    runId: string;
    owner: string;
    store: string;
    operation: string;
  }) {
    super(
      init.code === 'LEASE_HELD'
        ? `${init.store}RunStore ${init.operation}(): run \`${init.runId}\` is leased to another worker. Only one worker runs a run at a time; retry after its lease expires or is released.`
        : `${init.store}RunStore ${init.operation}(): \`${init.owner}\` no longer holds the lease of run \`${init.runId}\` (it expired or another worker took it over). Stop working on this run.`,
    );
    this.code = init.code;
    this.runId = init.runId;
    this.owner = init.owner;
  }

  static isInstance(error: unknown): error is RunLeaseError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[LEASE_ERROR] === true;
  }
}
Object.defineProperty(RunLeaseError.prototype, LEASE_ERROR, { value: true });

/** Why a run store refused an append or could not read a log. */
export type RunStoreErrorCode = 'RUN_FINISHED' | 'ENTRY_TOO_LARGE' | 'LOG_FULL' | 'STORE_FULL' | 'LOG_CORRUPT';

/**
 * A run store refused a write that breaks one of its rules (the run is finished, an entry or the
 * log is too large, the memory store holds too many runs), or found an entry it cannot decode.
 * Nothing was written. `ModelwareError.isInstance(error)` holds for it.
 */
export class RunStoreError extends Error {
  override readonly name = 'RunStoreError';
  readonly [MODELWARE_ERROR] = true;
  readonly code: RunStoreErrorCode;
  readonly runId: string;

  constructor(init: { code: RunStoreErrorCode; runId: string; message: string }) {
    super(init.message);
    this.code = init.code;
    this.runId = init.runId;
  }

  static isInstance(error: unknown): error is RunStoreError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[RUN_STORE_ERROR] === true;
  }
}
Object.defineProperty(RunStoreError.prototype, RUN_STORE_ERROR, { value: true });

/** @internal A positive integer option, with its default; checked once when a store is made. */
export function checkLimit(where: string, option: string, value: number | undefined, fallback: number): number {
  const limit = value ?? fallback;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError(`${where}: expected \`${option}\` to be a positive integer, got \`${String(limit)}\`.`);
  }
  return limit;
}

/** @internal Rejects option keys a store does not know (a typo would otherwise be ignored). */
export function checkKnownKeys(where: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${where}: unknown option \`${key}\`. Known options: ${known.map((k) => `\`${k}\``).join(', ')}.`,
      );
    }
  }
}

const RUN_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

/** @internal Run ids become part of store keys: letters, digits and `_.:-`, at most 200. */
export function checkRunId(where: string, runId: unknown): asserts runId is string {
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) {
    const got = typeof runId === 'string' ? `a string of ${runId.length} characters` : `\`${String(runId)}\``;
    throw new TypeError(
      `${where}: expected \`runId\` to be 1 to 200 letters, digits or \`_.:-\` (a run id from runAgent), got ${got}.`,
    );
  }
}

/** @internal */
export function checkOwner(where: string, owner: unknown): asserts owner is string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200) {
    throw new TypeError(
      `${where}: expected \`owner\` to be a non-empty string of at most 200 characters (a worker id), got \`${typeof owner === 'string' ? `a string of ${owner.length} characters` : String(owner)}\`.`,
    );
  }
}

/** @internal */
export function checkLeaseTtl(where: string, options: RunLeaseOptions | undefined): number {
  const ttlMs = options?.ttlMs;
  if (!Number.isSafeInteger(ttlMs) || (ttlMs as number) < 1) {
    throw new TypeError(`${where}: expected \`ttlMs\` to be a positive integer of ms, got \`${String(ttlMs)}\`.`);
  }
  return ttlMs as number;
}

/** @internal */
export function checkFrom(where: string, options: RunReadOptions | undefined): number {
  const from = options?.from ?? 0;
  if (!Number.isSafeInteger(from) || from < 0) {
    throw new TypeError(`${where}: expected \`from\` to be a non-negative integer, got \`${String(from)}\`.`);
  }
  return from;
}

/*
 * The encoding of redisRunStore: one string per entry, a one-letter type and then JSON, so a step
 * costs about the JSON size of its messages (no `{"type":...}` envelope around each one). JSON
 * never holds a raw newline, so `\n` separates the parts.
 *   start         S<messages>[\n<meta>]
 *   message       M<message>[\n<meta>]
 *   tool-started  T<[toolCallId,toolName]>[\n<meta>]
 *   tool-result   R<toolCallId>\n<message>[\n<meta>]
 *   decision      D<toolCallId>\n<decision>[\n<meta>]
 *   interrupted   I[<meta>]
 *   finished      F[<meta>]
 */

/** @internal The code of a finished entry (the Redis script checks it too). */
export const FINISHED_CODE = 'F';

function json(where: string, runId: string, index: number, field: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(
      `${where}: entries[${index}].${field} of run \`${runId}\` cannot be saved as JSON (${(error as Error).name}). Keep run data to plain JSON values.`,
      { cause: error },
    );
  }
  if (text === undefined) {
    throw new TypeError(
      `${where}: entries[${index}].${field} of run \`${runId}\` is not a JSON value (got ${typeof value}).`,
    );
  }
  return text;
}

const withMeta = (where: string, runId: string, index: number, entry: { meta?: unknown }, body: string) =>
  entry.meta === undefined ? body : `${body}\n${json(where, runId, index, 'meta', entry.meta)}`;

/** @internal Encodes entries for storage, checking each one's shape and size. */
export function encodeEntries(
  where: string,
  runId: string,
  entries: readonly RunLogEntry[],
  maxEntryBytes: number,
): string[] {
  checkEntries(where, runId, entries);
  return entries.map((entry, index) => {
    const encoded = encodeEntry(where, runId, entry, index);
    // UTF-8 is at most 3 bytes per UTF-16 unit: only long strings need the exact count.
    if (encoded.length * 3 > maxEntryBytes && Buffer.byteLength(encoded) > maxEntryBytes) {
      throw new RunStoreError({
        code: 'ENTRY_TOO_LARGE',
        runId,
        message: `${where}: entries[${index}] (${entry.type}) of run \`${runId}\` takes ${Buffer.byteLength(encoded)} bytes, over \`maxEntryBytes\` (${maxEntryBytes}). Raise the limit or keep large data outside the run.`,
      });
    }
    return encoded;
  });
}

/**
 * @internal Checks that `entries` is a non-empty array of run log entries (the fields the store
 * reads; the JSON data in them is checked only by a store that encodes it).
 */
export function checkEntries(where: string, runId: string, entries: readonly RunLogEntry[]): void {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new TypeError(`${where}: expected \`entries\` to be a non-empty array of run log entries.`);
  }
  for (let index = 0; index < entries.length; index++) checkEntry(where, runId, entries[index] as RunLogEntry, index);
}

function checkEntry(where: string, runId: string, entry: RunLogEntry, index: number): void {
  if (typeof entry !== 'object' || entry === null) throw badEntry(where, runId, index, 'is not an object');
  switch (entry.type) {
    case 'start':
      if (!Array.isArray(entry.messages)) throw badEntry(where, runId, index, '(start) needs `messages`, an array');
      return;
    case 'tool-started':
      if (typeof entry.toolCallId !== 'string' || typeof entry.toolName !== 'string') {
        throw badEntry(where, runId, index, '(tool-started) needs string `toolCallId` and `toolName`');
      }
      return;
    case 'tool-result':
      if (typeof entry.toolCallId !== 'string') {
        throw badEntry(where, runId, index, '(tool-result) needs a string `toolCallId`');
      }
      return;
    case 'decision':
      if (typeof entry.toolCallId !== 'string' || typeof entry.decision !== 'object' || entry.decision === null) {
        throw badEntry(where, runId, index, '(decision) needs a string `toolCallId` and a `decision` object');
      }
      return;
    case 'message':
    case 'interrupted':
    case 'finished':
      return;
    default:
      throw badEntry(
        where,
        runId,
        index,
        `has unknown type \`${String((entry as { type?: unknown }).type).slice(0, 40)}\` (expected start, message, tool-started, tool-result, decision, interrupted or finished)`,
      );
  }
}

// A plain function, not a closure per entry: append checks every entry of every step.
function badEntry(where: string, runId: string, index: number, what: string): TypeError {
  return new TypeError(`${where}: entries[${index}] of run \`${runId}\` ${what}.`);
}

function encodeEntry(where: string, runId: string, entry: RunLogEntry, index: number): string {
  const j = (field: string, value: unknown) => json(where, runId, index, field, value);
  switch (entry.type) {
    case 'start':
      return withMeta(where, runId, index, entry, `S${j('messages', entry.messages)}`);
    case 'message':
      return withMeta(where, runId, index, entry, `M${j('message', entry.message)}`);
    case 'tool-started':
      return withMeta(where, runId, index, entry, `T${JSON.stringify([entry.toolCallId, entry.toolName])}`);
    case 'tool-result':
      return withMeta(
        where,
        runId,
        index,
        entry,
        `R${JSON.stringify(entry.toolCallId)}\n${j('message', entry.message)}`,
      );
    case 'decision':
      return withMeta(
        where,
        runId,
        index,
        entry,
        `D${JSON.stringify(entry.toolCallId)}\n${j('decision', entry.decision)}`,
      );
    case 'interrupted':
      return entry.meta === undefined ? 'I' : `I${j('meta', entry.meta)}`;
    case 'finished':
      return entry.meta === undefined ? FINISHED_CODE : `${FINISHED_CODE}${j('meta', entry.meta)}`;
  }
}

/** @internal Decodes one stored entry; a damaged one is a `RunStoreError` (code `LOG_CORRUPT`). */
export function decodeEntry(store: string, runId: string, index: number, encoded: string): RunLogEntry {
  try {
    const code = encoded[0];
    const rest = encoded.slice(1);
    const parts = () => rest.split('\n').map((part) => JSON.parse(part) as unknown);
    const meta = (value: unknown) => (value === undefined ? {} : { meta: value });
    switch (code) {
      case 'S': {
        const [messages, m] = parts();
        if (Array.isArray(messages)) return { type: 'start', messages, ...meta(m) };
        break;
      }
      case 'M': {
        const [message, m] = parts();
        return { type: 'message', message, ...meta(m) };
      }
      case 'T': {
        const [ids, m] = parts();
        if (Array.isArray(ids) && typeof ids[0] === 'string' && typeof ids[1] === 'string') {
          return { type: 'tool-started', toolCallId: ids[0], toolName: ids[1], ...meta(m) };
        }
        break;
      }
      case 'R': {
        const [toolCallId, message, m] = parts();
        if (typeof toolCallId === 'string') return { type: 'tool-result', toolCallId, message, ...meta(m) };
        break;
      }
      case 'D': {
        const [toolCallId, decision, m] = parts();
        if (typeof toolCallId === 'string' && typeof decision === 'object' && decision !== null) {
          return { type: 'decision', toolCallId, decision, ...meta(m) };
        }
        break;
      }
      case 'I':
        return rest === '' ? { type: 'interrupted' } : { type: 'interrupted', meta: JSON.parse(rest) };
      case FINISHED_CODE:
        return rest === '' ? { type: 'finished' } : { type: 'finished', meta: JSON.parse(rest) };
    }
  } catch {
    // Reported below without the entry's content.
  }
  throw new RunStoreError({
    code: 'LOG_CORRUPT',
    runId,
    message: `${store}RunStore read(): entry ${index} of run \`${runId}\` is not a run log entry (was the key written by something else?).`,
  });
}
