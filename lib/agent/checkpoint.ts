import type { Immutable } from 'immer';
import type { Message, ModelResponse, ToolCallPart, ToolMessage, Usage } from '../core/messages.js';
import { toolCallsOf } from '../core/messages.js';
import { describeValue } from '../internal/options.js';
import type { Decision } from './interrupts.js';

/**
 * One step of a checkpointed run, as a run store keeps it. The same shape as `RunLogEntry` of
 * `memoryRunStore()` and `redisRunStore()`: declared here because the agent loop does not import
 * the stores (they import nothing of ours), and any store with this shape works.
 */
export type CheckpointEntry =
  | { readonly type: 'start'; readonly messages: readonly unknown[]; readonly meta?: unknown }
  | { readonly type: 'message'; readonly message: unknown; readonly meta?: unknown }
  | { readonly type: 'tool-started'; readonly toolCallId: string; readonly toolName: string; readonly meta?: unknown }
  | { readonly type: 'tool-result'; readonly toolCallId: string; readonly message: unknown; readonly meta?: unknown }
  | { readonly type: 'decision'; readonly toolCallId: string; readonly decision: unknown; readonly meta?: unknown }
  | { readonly type: 'interrupted'; readonly meta?: unknown }
  | { readonly type: 'finished'; readonly meta?: unknown };

/** The part of a run store (`memoryRunStore()`, `redisRunStore({ client })`) a checkpointed run uses. */
export interface CheckpointStore {
  readonly name: string;
  append(
    runId: string,
    entries: readonly CheckpointEntry[],
    options: { readonly owner: string; readonly signal?: AbortSignal | undefined },
  ): Promise<number>;
  /**
   * Optional: `append` done at once (a store in memory), returning the new length or throwing.
   * When a store has it, a checkpointed run writes without a promise per step.
   */
  appendSync?(
    runId: string,
    entries: readonly CheckpointEntry[],
    options: { readonly owner: string; readonly signal?: AbortSignal | undefined },
  ): number;
  read(
    runId: string,
    options?: { readonly from?: number | undefined; readonly signal?: AbortSignal | undefined },
  ): Promise<{ readonly entries: readonly CheckpointEntry[]; readonly length: number; readonly finished: boolean }>;
  acquire(
    runId: string,
    owner: string,
    options: { readonly ttlMs: number; readonly signal?: AbortSignal | undefined },
  ): Promise<unknown>;
  renew(
    runId: string,
    owner: string,
    options: { readonly ttlMs: number; readonly signal?: AbortSignal | undefined },
  ): Promise<unknown>;
  release(runId: string, owner: string, options?: { readonly signal?: AbortSignal | undefined }): Promise<boolean>;
}

/** `runAgent({ checkpoint })`: save the run after every step, so it can be resumed after a crash. */
export interface CheckpointOptions {
  /** Where the steps go: `memoryRunStore()` in one process, `redisRunStore({ client })` for a fleet. */
  readonly store: CheckpointStore;
  /**
   * The run's id, and its key in the store (letters, digits, `_.:-`). Give one you know in advance
   * (a job id) to resume the run by it later. @default a new run id
   */
  readonly runId?: string | undefined;
  /** Who runs it: the owner of the run's lease (a worker id). @default a random id per run */
  readonly owner?: string | undefined;
  /**
   * How long the lease lasts without a write, in ms. The run renews it every third of this while it
   * waits on the model or a tool; a worker that dies loses it after at most this long, and another
   * may then resume the run. @default 30_000
   */
  readonly leaseTtlMs?: number | undefined;
}

const OPTIONS = ['store', 'runId', 'owner', 'leaseTtlMs'];

/** @internal The checked checkpoint options. */
export interface CheckpointSettings {
  readonly store: CheckpointStore;
  readonly runId: string | undefined;
  readonly owner: string;
  readonly leaseTtlMs: number;
}

/** @internal */
export function checkCheckpointOptions(where: string, options: unknown): CheckpointSettings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: expected \`checkpoint\` to be an object { store }, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) {
      throw new TypeError(
        `${where}: unknown option \`checkpoint.${key}\`. Known: ${OPTIONS.map((k) => `\`${k}\``).join(', ')}.`,
      );
    }
  }
  const { store, runId, owner, leaseTtlMs = 30_000 } = options as CheckpointOptions;
  const methods = ['append', 'read', 'acquire', 'renew', 'release'] as const;
  if (typeof store !== 'object' || store === null || methods.some((m) => typeof store[m] !== 'function')) {
    throw new TypeError(
      `${where}: expected \`checkpoint.store\` to be a run store (memoryRunStore(), redisRunStore({ client })), got ${describeValue(store)}.`,
    );
  }
  if (runId !== undefined && (typeof runId !== 'string' || !/^[A-Za-z0-9_.:-]{1,200}$/.test(runId))) {
    throw new TypeError(
      `${where}: expected \`checkpoint.runId\` to be 1 to 200 letters, digits or \`_.:-\`, got ${describeValue(runId)}.`,
    );
  }
  if (owner !== undefined && (typeof owner !== 'string' || owner === '' || owner.length > 200)) {
    throw new TypeError(
      `${where}: expected \`checkpoint.owner\` to be a non-empty string (a worker id), got ${describeValue(owner)}.`,
    );
  }
  if (!Number.isSafeInteger(leaseTtlMs) || leaseTtlMs < 1 || leaseTtlMs > 2 ** 31 - 1) {
    throw new TypeError(
      `${where}: expected \`checkpoint.leaseTtlMs\` to be a positive integer of ms, got ${describeValue(leaseTtlMs)}.`,
    );
  }
  return { store, runId, owner: owner ?? `owner_${Math.random().toString(36).slice(2, 12)}`, leaseTtlMs };
}

/** @internal The format of the logs this version writes (see `StartMeta.logVersion`). */
export const LOG_VERSION = 2;

/** What the first entry of a run's log says about it (`start.meta`). */
interface StartMeta {
  /**
   * The log's format: 2 counts the calls that start with an answer in its entry (`started`) and
   * logs decisions; 1 (written before it had this field) gave each call a `tool-started` entry.
   * Both are read; a later version is refused rather than misread.
   */
  readonly logVersion?: number | undefined;
  readonly runId: string;
  readonly modelId: string;
  readonly turn: number;
  readonly usage: Usage;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** What an assistant message's entry says besides the message (`message.meta`). */
interface TurnMeta {
  readonly turn: number;
  /** How many of its tool calls, the first ones, started as it was saved (log v2; v1 wrote `tool-started` entries). */
  readonly started?: number | undefined;
  /** The run's `persistState` keys as the answer came (log v2; only when the run persists some). */
  readonly state?: Record<string, unknown> | undefined;
  readonly finishReason: ModelResponse['finishReason'];
  readonly usage?: Usage | undefined;
  readonly model?: string | undefined;
}

/** Writes that wait while another is in flight: sent together, as one append, when it returns. */
interface Batch {
  readonly entries: CheckpointEntry[];
  readonly promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * @internal Writes one run's steps to its store, in order, while it holds the run's lease. Every
 * write is awaited by the step that made it: a step the loop has gone past is saved. One append is
 * in flight at a time, so the log's order is the order the steps happened in, also when tools run
 * at the same time; writes made meanwhile go out together as the next append (one store round trip
 * for all of them). After a failed write every later one fails with the same error.
 */
export class Checkpointer {
  /** The append in flight, if any (settled: `undefined`). */
  #inFlight: Promise<void> | undefined;
  /** Writes made while an append is in flight. */
  #next: Batch | undefined;
  #failure: unknown = undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The transcript edits (`updateTranscript`) already in the log. */
  #edits = 0;
  readonly #appendOptions: { readonly owner: string };

  constructor(
    readonly settings: CheckpointSettings,
    readonly runId: string,
    readonly signal: AbortSignal,
  ) {
    this.#appendOptions = { owner: settings.owner };
  }

  /** Takes the lease and renews it every third of its TTL until `close()`. */
  async open(): Promise<void> {
    const { store, owner, leaseTtlMs } = this.settings;
    await store.acquire(this.runId, owner, { ttlMs: leaseTtlMs, signal: this.signal });
    const every = Math.max(1, Math.floor(leaseTtlMs / 3));
    this.#timer = setInterval(() => {
      // A lost lease is not an error here: the next write fails with RunLeaseError and ends the run.
      store.renew(this.runId, owner, { ttlMs: leaseTtlMs }).catch(() => {});
    }, every);
    this.#timer.unref?.();
  }

  /** Stops renewing and gives the lease up (after the last write). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight) await this.#inFlight.catch(() => {});
    await this.settings.store.release(this.runId, this.settings.owner).catch(() => false);
  }

  /**
   * Saves `entries`; resolves once they are in the store. `undefined` when they already are (a store
   * with `appendSync` and no write in flight): the caller has nothing to wait for.
   */
  write(entries: readonly CheckpointEntry[]): Promise<void> | undefined {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#inFlight === undefined) {
      const { store } = this.settings;
      if (store.appendSync === undefined) return this.#send(entries);
      try {
        store.appendSync(this.runId, entries, this.#appendOptions);
        return undefined;
      } catch (error) {
        this.#failure = error;
        return Promise.reject(error);
      }
    }
    let batch = this.#next;
    if (batch === undefined) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { entries: [], promise, resolve, reject };
      this.#next = batch;
    }
    for (const entry of entries) batch.entries.push(entry);
    return batch.promise;
  }

  #send(entries: readonly CheckpointEntry[]): Promise<void> {
    const sent = this.settings.store.append(this.runId, entries, this.#appendOptions).then(
      () => {
        this.#inFlight = undefined;
        this.#flush();
      },
      (error: unknown) => {
        this.#inFlight = undefined;
        this.#failure ??= error;
        this.#flush();
        throw error;
      },
    );
    this.#inFlight = sent;
    return sent;
  }

  /** Sends the writes that waited, as one append. */
  #flush(): void {
    const batch = this.#next;
    if (batch === undefined) return;
    this.#next = undefined;
    if (this.#failure !== undefined) batch.reject(this.#failure);
    // Sent as a promise even to a store with appendSync: the waiting writers already hold one.
    else this.#send(batch.entries).then(batch.resolve, batch.reject);
  }

  start(transcript: readonly Message[], meta: Omit<StartMeta, 'logVersion'>): Promise<void> | undefined {
    return this.write([{ type: 'start', messages: transcript, meta: { logVersion: LOG_VERSION, ...meta } }]);
  }

  /**
   * The model's answer of `turn`, counting its first `startNow` tool calls as started (they start
   * at once): one write before any of them runs. When a layer edited the transcript since the last write
   * (`run.edits` moved), the whole transcript as it now is goes first (a `start` entry the rebuild
   * starts over from).
   */
  response(
    run: { readonly transcript: unknown; readonly edits: number },
    response: ModelResponse,
    turn: number,
    startNow: number,
    state: Record<string, unknown> | undefined,
  ): Promise<void> | undefined {
    const { message, usage, model } = response;
    const meta: { -readonly [K in keyof TurnMeta]: TurnMeta[K] } = { turn, finishReason: response.finishReason };
    if (usage) meta.usage = usage;
    if (model !== undefined) meta.model = model;
    // The calls that start at once are counted in the answer's entry, not given one each.
    if (startNow > 0) meta.started = startNow;
    if (state !== undefined) meta.state = state;
    const answer: CheckpointEntry = { type: 'message', message, meta };
    if (run.edits === this.#edits) return this.write([answer]);
    this.#edits = run.edits;
    return this.write([
      { type: 'start', messages: run.transcript as readonly Message[], meta: { rebase: true } },
      answer,
    ]);
  }

  /**
   * A resumed pending turn: its answer when the log lacks it (a snapshot resumed into a new log;
   * its usage is in the `start` entry already), the decisions given for it, the approved calls
   * about to run, and the results the snapshot holds that the log lacks. One write, before any
   * approved call runs: a crash after it does not ask for the decisions again.
   */
  resumedTurn(
    response: ModelResponse | undefined,
    turn: number,
    decisions: readonly { readonly toolCallId: string; readonly decision: Decision }[],
    approved: readonly Immutable<ToolCallPart>[],
    results: readonly ToolMessage[],
  ): Promise<void> | undefined {
    const entries: CheckpointEntry[] = [];
    if (response) {
      const { message, finishReason, model } = response;
      const meta: TurnMeta = { turn, finishReason, ...(model !== undefined && { model }) };
      entries.push({ type: 'message', message, meta });
    }
    for (const { toolCallId, decision } of decisions) {
      entries.push({ type: 'decision', toolCallId, decision: jsonCopy(decision, this.runId) });
    }
    for (const call of approved) {
      entries.push({ type: 'tool-started', toolCallId: call.toolCallId, toolName: call.toolName });
    }
    for (const message of results) entries.push({ type: 'tool-result', toolCallId: message.toolCallId, message });
    return entries.length === 0 ? undefined : this.write(entries);
  }

  toolStarted(call: Immutable<ToolCallPart>): Promise<void> | undefined {
    return this.write([{ type: 'tool-started', toolCallId: call.toolCallId, toolName: call.toolName }]);
  }

  toolResult(message: ToolMessage): Promise<void> | undefined {
    return this.write([{ type: 'tool-result', toolCallId: message.toolCallId, message }]);
  }

  interrupted(meta: unknown): Promise<void> | undefined {
    return this.write([{ type: 'interrupted', meta }]);
  }

  finished(stopReason: string): Promise<void> | undefined {
    return this.write([{ type: 'finished', meta: { stopReason } }]);
  }
}

/** @internal A run rebuilt from its log: what a resume needs. */
export interface RebuiltRun {
  readonly runId: string;
  readonly modelId: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly finished: boolean;
  readonly turn: number;
  readonly usage: Usage;
  /** Every completed turn's messages (the pending turn's assistant message is not in it). */
  readonly transcript: readonly Message[];
  /** The last turn, when some of its tool calls have no result yet. */
  readonly pending:
    | {
        readonly response: ModelResponse;
        /** Results already saved, by tool call id. */
        readonly results: ReadonlyMap<string, ToolMessage>;
        /** Calls that started and have no result: the process died while they ran. */
        readonly started: ReadonlySet<string>;
        /** Decisions given on an earlier resume for calls of this turn (log v2), by tool call id. */
        readonly decisions: ReadonlyMap<string, Decision>;
      }
    | undefined;
  /** The meta of the last `interrupted` entry after the last turn, if any. */
  readonly interrupted: unknown;
  /** The persisted run state last saved (with an answer or an interruption), if any was. */
  readonly state: Record<string, unknown> | undefined;
}

const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

/**
 * @internal Replays a run's log into its state. Tool results are put in call order whatever order
 * they were saved in; a turn is complete once every call of its answer has a result.
 */
export function rebuildRun(
  runId: string,
  entries: readonly CheckpointEntry[],
  finished: boolean,
): RebuiltRun | undefined {
  const first = entries[0];
  if (first?.type !== 'start') return undefined;
  const start = first.meta as StartMeta;
  if (start.logVersion !== undefined && start.logVersion > LOG_VERSION) {
    throw new TypeError(
      `resume: the log of run \`${runId}\` has format version ${start.logVersion}; this version of modelware reads 1 to ${LOG_VERSION}. Resume the run with the version that wrote it (or a later one).`,
    );
  }
  let transcript = [...(first.messages as Message[])];
  let turn = start.turn;
  const usage: Usage = { ...ZERO_USAGE, ...start.usage };
  let pending:
    | {
        response: ModelResponse;
        calls: readonly ToolCallPart[];
        results: Map<string, ToolMessage>;
        started: Set<string>;
        decisions: Map<string, Decision>;
      }
    | undefined;
  let interrupted: unknown;
  let state: Record<string, unknown> | undefined;
  const settle = () => {
    if (pending === undefined || pending.calls.some((c) => !pending?.results.has(c.toolCallId))) return;
    transcript.push(withEditedInputs(pending.response.message, pending.decisions));
    for (const call of pending.calls) transcript.push(pending.results.get(call.toolCallId) as ToolMessage);
    pending = undefined;
  };
  for (let i = 1; i < entries.length; i++) {
    const entry = entries[i] as CheckpointEntry;
    switch (entry.type) {
      case 'start':
        transcript = [...(entry.messages as Message[])];
        break;
      case 'message': {
        const meta = entry.meta as TurnMeta | undefined;
        const message = entry.message as Message;
        if (meta === undefined || message.role !== 'assistant') {
          transcript.push(message);
          break;
        }
        turn = meta.turn;
        interrupted = undefined;
        if (meta.state !== undefined) state = meta.state;
        addUsage(usage, meta.usage);
        const response: ModelResponse = { message, finishReason: meta.finishReason };
        if (meta.usage) response.usage = meta.usage;
        if (meta.model !== undefined) response.model = meta.model;
        const calls = toolCallsOf(message) as ToolCallPart[];
        if (calls.length === 0) transcript.push(message);
        else {
          const started = new Set<string>();
          const count = Math.min(meta.started ?? 0, calls.length);
          for (let c = 0; c < count; c++) started.add((calls[c] as ToolCallPart).toolCallId);
          pending = { response, calls, results: new Map(), started, decisions: new Map() };
        }
        break;
      }
      case 'tool-started':
        pending?.started.add(entry.toolCallId);
        break;
      case 'tool-result':
        if (pending) {
          pending.results.set(entry.toolCallId, entry.message as ToolMessage);
          pending.started.delete(entry.toolCallId);
          settle();
        }
        break;
      case 'decision':
        pending?.decisions.set(entry.toolCallId, entry.decision as Decision);
        break;
      case 'interrupted': {
        interrupted = entry.meta;
        const saved = (entry.meta as { state?: Record<string, unknown> } | undefined)?.state;
        if (saved !== undefined) state = saved;
        // A call the run asks about again (cut short after its approval) takes a new decision.
        const asked = (entry.meta as { interruptions?: readonly { toolCallId?: unknown }[] } | undefined)
          ?.interruptions;
        if (pending && Array.isArray(asked)) {
          for (const i of asked) if (typeof i?.toolCallId === 'string') pending.decisions.delete(i.toolCallId);
        }
        // The turn's tools all ended before the run stopped: a call without a result waits for a
        // decision, it was not cut short. Only calls started after this entry can have been.
        pending?.started.clear();
        break;
      }
      case 'finished':
        break;
    }
  }
  return {
    runId,
    modelId: start.modelId,
    metadata: start.metadata,
    finished,
    turn,
    usage,
    transcript,
    pending: pending && {
      response: pending.response,
      results: pending.results,
      started: pending.started,
      decisions: pending.decisions,
    },
    interrupted,
    state,
  };
}

/**
 * A decision as the log keeps it: a copy (the caller's object may change later, and a memory store
 * keeps what it is given), and plain JSON (what any store can keep).
 */
function jsonCopy(decision: Decision, runId: string): Decision {
  try {
    return JSON.parse(JSON.stringify(decision)) as Decision;
  } catch (error) {
    throw new TypeError(
      `resume: a decision for run \`${runId}\` cannot be saved in its checkpoint as JSON (${(error as Error).name}). Give decisions as plain JSON data.`,
      { cause: error },
    );
  }
}

/** The assistant message with the inputs approved edits gave its calls (the inputs that ran). */
function withEditedInputs(message: Message, decisions: ReadonlyMap<string, Decision>): Message {
  if (decisions.size === 0 || typeof message.content === 'string' || message.role !== 'assistant') return message;
  let edited = false;
  const content = message.content.map((part) => {
    const decision = part.type === 'tool-call' ? decisions.get(part.toolCallId) : undefined;
    if (decision?.type !== 'approve' || !Object.hasOwn(decision, 'input')) return part;
    edited = true;
    return { ...part, input: decision.input };
  });
  return edited ? ({ ...message, content } as Message) : message;
}

/** @internal Adds `usage` into the run's running total `sum` (the loop's and a rebuilt log's). */
export function addUsage(sum: Usage, usage: Usage | undefined): void {
  if (!usage) return;
  sum.inputTokens += usage.inputTokens;
  sum.outputTokens += usage.outputTokens;
  sum.totalTokens = (sum.totalTokens ?? 0) + (usage.totalTokens ?? usage.inputTokens + usage.outputTokens);
  if (usage.cachedInputTokens !== undefined)
    sum.cachedInputTokens = (sum.cachedInputTokens ?? 0) + usage.cachedInputTokens;
  if (usage.cacheWriteTokens !== undefined) sum.cacheWriteTokens = (sum.cacheWriteTokens ?? 0) + usage.cacheWriteTokens;
  if (usage.reasoningTokens !== undefined) sum.reasoningTokens = (sum.reasoningTokens ?? 0) + usage.reasoningTokens;
}
