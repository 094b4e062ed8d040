import type { Immutable } from 'immer';
import type { Message, ModelResponse, ToolCallPart, ToolMessage, Usage } from '../core/messages.js';
import { toolCallsOf } from '../core/messages.js';
import { describeValue } from '../internal/options.js';

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

/** What the first entry of a run's log says about it (`start.meta`). */
interface StartMeta {
  readonly runId: string;
  readonly modelId: string;
  readonly turn: number;
  readonly usage: Usage;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** What an assistant message's entry says besides the message (`message.meta`). */
interface TurnMeta {
  readonly turn: number;
  readonly finishReason: ModelResponse['finishReason'];
  readonly usage?: Usage | undefined;
  readonly model?: string | undefined;
}

/**
 * @internal Writes one run's steps to its store, in order, while it holds the run's lease. Every
 * write is awaited by the step that made it: a step the loop has gone past is saved. Writes go
 * through one chain, so the log's order is the order the steps happened in, also when tools run
 * at the same time. After a failed write every later one fails with the same error.
 */
export class Checkpointer {
  #chain: Promise<unknown> = Promise.resolve();
  #failure: unknown = undefined;
  #inFlight = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The transcript edits (`updateTranscript`) already in the log. */
  #edits = 0;

  constructor(
    readonly settings: CheckpointSettings,
    readonly runId: string,
    readonly signal: AbortSignal,
  ) {}

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
    await this.#chain.catch(() => {});
    await this.settings.store.release(this.runId, this.settings.owner).catch(() => false);
  }

  write(entries: readonly CheckpointEntry[]): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    // Most writes find none in flight: they go straight to the store, without a link in the chain.
    const next = this.#inFlight === 0 ? this.#append(entries) : this.#chain.then(() => this.#append(entries));
    this.#chain = next.catch(() => {});
    return next;
  }

  async #append(entries: readonly CheckpointEntry[]): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#inFlight++;
    try {
      await this.settings.store.append(this.runId, entries, { owner: this.settings.owner });
    } catch (error) {
      this.#failure = error;
      throw error;
    } finally {
      this.#inFlight--;
    }
  }

  start(transcript: readonly Message[], meta: StartMeta): Promise<void> {
    return this.write([{ type: 'start', messages: transcript, meta }]);
  }

  /**
   * The model's answer of `turn`, and the tool calls that start at once (`starting`): one write
   * before any of them runs. When a layer edited the transcript since the last write, the whole
   * transcript as it now is goes first (a `start` entry the rebuild starts over from).
   */
  response(
    transcriptBefore: () => readonly Message[],
    edits: number,
    response: ModelResponse,
    turn: number,
    starting: readonly Immutable<ToolCallPart>[],
  ): Promise<void> {
    const { message, finishReason, usage, model } = response;
    const meta: TurnMeta = { turn, finishReason, ...(usage && { usage }), ...(model !== undefined && { model }) };
    const entries: CheckpointEntry[] = [];
    if (edits !== this.#edits) {
      this.#edits = edits;
      entries.push({ type: 'start', messages: transcriptBefore(), meta: { rebase: true } });
    }
    entries.push({ type: 'message', message, meta });
    for (const call of starting) {
      entries.push({ type: 'tool-started', toolCallId: call.toolCallId, toolName: call.toolName });
    }
    return this.write(entries);
  }

  /**
   * A resumed pending turn: its answer when the log lacks it (a snapshot resumed into a new log;
   * its usage is in the `start` entry already), the approved calls about to run, and the results
   * the snapshot holds that the log lacks. One write, before any approved call runs.
   */
  resumedTurn(
    response: ModelResponse | undefined,
    turn: number,
    approved: readonly Immutable<ToolCallPart>[],
    results: readonly ToolMessage[],
  ): Promise<void> {
    const entries: CheckpointEntry[] = [];
    if (response) {
      const { message, finishReason, model } = response;
      const meta: TurnMeta = { turn, finishReason, ...(model !== undefined && { model }) };
      entries.push({ type: 'message', message, meta });
    }
    for (const call of approved) {
      entries.push({ type: 'tool-started', toolCallId: call.toolCallId, toolName: call.toolName });
    }
    for (const message of results) entries.push({ type: 'tool-result', toolCallId: message.toolCallId, message });
    return entries.length === 0 ? Promise.resolve() : this.write(entries);
  }

  toolStarted(call: Immutable<ToolCallPart>): Promise<void> {
    return this.write([{ type: 'tool-started', toolCallId: call.toolCallId, toolName: call.toolName }]);
  }

  toolResult(message: ToolMessage): Promise<void> {
    return this.write([{ type: 'tool-result', toolCallId: message.toolCallId, message }]);
  }

  interrupted(meta: unknown): Promise<void> {
    return this.write([{ type: 'interrupted', meta }]);
  }

  finished(stopReason: string): Promise<void> {
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
      }
    | undefined;
  /** The meta of the last `interrupted` entry after the last turn, if any. */
  readonly interrupted: unknown;
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
  let transcript = [...(first.messages as Message[])];
  let turn = start.turn;
  const usage: Usage = { ...ZERO_USAGE, ...start.usage };
  let pending:
    | {
        response: ModelResponse;
        calls: readonly ToolCallPart[];
        results: Map<string, ToolMessage>;
        started: Set<string>;
      }
    | undefined;
  let interrupted: unknown;
  const settle = () => {
    if (pending === undefined || pending.calls.some((c) => !pending?.results.has(c.toolCallId))) return;
    transcript.push(pending.response.message);
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
        addUsage(usage, meta.usage);
        const response: ModelResponse = { message, finishReason: meta.finishReason };
        if (meta.usage) response.usage = meta.usage;
        if (meta.model !== undefined) response.model = meta.model;
        const calls = toolCallsOf(message) as ToolCallPart[];
        if (calls.length === 0) transcript.push(message);
        else pending = { response, calls, results: new Map(), started: new Set() };
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
      case 'interrupted':
        interrupted = entry.meta;
        // The turn's tools all ended before the run stopped: a call without a result waits for a
        // decision, it was not cut short. Only calls started after this entry can have been.
        pending?.started.clear();
        break;
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
    pending: pending && { response: pending.response, results: pending.results, started: pending.started },
    interrupted,
  };
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
