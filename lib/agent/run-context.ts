import type { Immutable } from 'immer';
import { immer } from '../internal/immer.js';
import type { Next } from '../core/compose.js';
import type { RunContext, RunState } from '../core/context.js';
import type { InvalidRequestError } from '../core/errors.js';
import type { Message, ModelResponse, ToolCallPart, ToolMessage, Usage } from '../core/messages.js';
import { markValid, recordDerivation } from '../internal/provenance.js';
import { checkToolPairing, findUpdateProblem, requestError } from '../core/validate.js';
import { MiddlewareError } from '../core/errors.js';
import type { Interruption, PauseInterruption } from './interrupts.js';
import type { RunSnapshot } from './snapshot.js';
import type { ResumedTurn } from './resume.js';

/** What one turn did: the model's response, the tool calls it made and their results. */
export interface TurnRecord {
  /** 1-based. */
  readonly turn: number;
  /** The model's answer; its `message` is the assistant message appended to the transcript. */
  readonly response: ModelResponse;
  readonly toolCalls: readonly Immutable<ToolCallPart>[];
  /** The tool messages appended to the transcript, in call order. */
  readonly toolResults: readonly ToolMessage[];
}

/**
 * Why the loop ended: the model answered without calling a tool (`no-tool-calls`), a `stopWhen`
 * condition held (`stop-when`), or `maxTurns` was reached with `onMaxTurns: 'stop'` (`max-turns`), or a tool call waits for a
 * decision or a layer paused the run (`interrupted`: see `interruptions` and `snapshot`).
 */
export type StopReason = 'no-tool-calls' | 'stop-when' | 'max-turns' | 'interrupted';

/** What `runAgent()` resolves with. */
export interface AgentResult {
  readonly runId: string;
  /** The persisted history: the messages passed in, every turn's messages and every `updateTranscript` edit. */
  readonly transcript: Immutable<Message[]>;
  /** The last model response. */
  readonly response: ModelResponse;
  /** The text of the last response. */
  readonly text: string;
  readonly turns: readonly TurnRecord[];
  /** Summed over every model call of the run. */
  readonly usage: Usage;
  readonly stopReason: StopReason;
  readonly state: RunState;
  /** What the run waits for when `stopReason` is `interrupted`, in call order; else empty. */
  readonly interruptions: readonly Interruption[];
  /**
   * When `stopReason` is `interrupted`: the run as plain JSON data, to resume (in any process)
   * with `runAgent({ resume: { snapshot, decisions } })`. `undefined` otherwise.
   */
  readonly snapshot: RunSnapshot | undefined;
}

/**
 * What `streamAgent` yields, in order: per turn `turn-start`, deltas, the tool calls (once the
 * response is complete, with the ids the transcript keeps), tool results, `turn-end`; then `done`.
 */
export type AgentEvent =
  | { readonly type: 'turn-start'; readonly turn: number }
  | { readonly type: 'text-delta'; readonly turn: number; readonly text: string }
  | { readonly type: 'reasoning-delta'; readonly turn: number; readonly text: string }
  /** A tool call of the model's complete response, before it runs, with the id the transcript keeps. */
  | { readonly type: 'tool-call'; readonly turn: number; readonly toolCall: ToolCallPart }
  /** A tool call finished; these come in completion order (the transcript keeps call order). */
  | { readonly type: 'tool-result'; readonly turn: number; readonly result: ToolMessage }
  | { readonly type: 'turn-end'; readonly turn: number; readonly record: TurnRecord }
  /** The run stops for a decision: one event per interruption, before `done`. */
  | { readonly type: 'interrupt'; readonly turn: number; readonly interruption: Interruption }
  | { readonly type: 'done'; readonly result: AgentResult };

/** What a run-level layer sees: it wraps the whole run (`run_start` before `next()`, `run_end` after). */
export interface RunLayerContext {
  readonly layer: string;
  readonly run: RunContext;
  readonly signal: AbortSignal;
  /** After `await next()`: the run's result. */
  readonly result: AgentResult | undefined;
  /** This run continues an interrupted one (`runAgent({ resume })`): same id, turns numbered on. */
  readonly resumed: boolean;
  /**
   * Pauses the run before its first turn: return without calling `next()`. The run ends with
   * stop reason `interrupted` and a snapshot; resuming it (no decision needed) starts the turns.
   */
  interrupt(payload?: unknown): void;
}

/** What a turn-level layer sees: it wraps one turn, the model call and the tool calls it asked for. */
export interface TurnLayerContext {
  readonly layer: string;
  readonly run: RunContext;
  /** 1-based. */
  readonly turn: number;
  readonly signal: AbortSignal;
  /** After `await next()`: what the turn did; `undefined` when the turn was interrupted. */
  readonly record: TurnRecord | undefined;
  /** The run continues an interrupted one (`runAgent({ resume })`). */
  readonly resumed: boolean;
  /**
   * Pauses the run at this turn's boundary: before `next()` (then return without calling it),
   * the turn does not run; after it, the run stops once this turn is done. The run ends with stop
   * reason `interrupted` and a snapshot; resuming it (no decision needed) continues.
   */
  interrupt(payload?: unknown): void;
}

export type RunMiddlewareFn = (ctx: RunLayerContext, next: Next) => Promise<void> | void;
export type TurnMiddlewareFn = (ctx: TurnLayerContext, next: Next) => Promise<void> | void;

// Types the `run` and `turn` members of `defineMiddleware({ ... })` (lib/core/compose.ts names no
// agent type). Merged into the package's own name so the augmentation survives bundling the .d.ts.
declare module 'modelware' {
  interface StackContexts {
    run: RunLayerContext;
    turn: TurnLayerContext;
  }
}

type TranscriptRecipe = Parameters<RunContext['updateTranscript']>[0];

/** Lets `Context.run` hand each call layer a view that names it (see lib/context.ts). */
const FOR_LAYER = Symbol.for('modelware.run.forLayer');

/**
 * @internal The state of one run. Every transcript version is a new array that shares its
 * message objects with the previous one, so caches keyed by message objects stay warm across
 * turns. Appends are merged into a new array when the transcript is next read, so a turn whose
 * tools never look at it costs one array copy, not two.
 */
export class RunCore {
  turn = 0;
  result: AgentResult | undefined = undefined;
  /** The assistant message whose tool calls are running: an abort leaves it out of the transcript. */
  pending: object | undefined = undefined;
  /** What the loop is doing, so a failure can say which step failed. */
  step: 'model-call' | 'response' | 'tool-calls' | undefined = undefined;
  /** What the run waits for, in call order; the loop stops after the turn when there is any. */
  readonly interruptions: Interruption[] = [];
  /** Continues an interrupted run. */
  resumed = false;
  #transcript: Message[];
  /** Every tool-call id the run has seen (built on first use; edits add theirs). */
  #callIds: Set<string> | undefined = undefined;
  #editedSinceIds = false;
  #appended: Message[] | undefined = undefined;
  readonly #views = new Map<string, RunContext>();

  constructor(
    readonly runId: string,
    messages: readonly Message[],
    readonly state: RunState,
    readonly metadata: Readonly<Record<string, unknown>>,
    readonly signal: AbortSignal,
    readonly validate: boolean,
  ) {
    // A copy: the caller may keep pushing to its own array. Transcript arrays are never frozen (V8
    // copies a frozen array ~80× slower, and every transform copies the messages array) and never
    // changed in place, so they are recorded as valid once checked.
    this.#transcript = [...messages];
    if (validate) markValid(this.#transcript);
  }

  get transcript(): Immutable<Message[]> {
    const appended = this.#appended;
    if (appended) {
      this.#appended = undefined;
      // concat, not a spread: V8 copies packed arrays with concat about twice as fast.
      const before = this.#transcript;
      this.#transcript = before.concat(appended);
      // Appends change no index below the old length; the loop checked the appended messages.
      recordDerivation(this.#transcript, before, [], { valid: this.validate });
    }
    return this.#transcript as Immutable<Message[]>;
  }

  /** The run as the layer named `layer` sees it: `updateTranscript` errors name that layer. */
  view(layer: string): RunContext {
    let view = this.#views.get(layer);
    if (!view) this.#views.set(layer, (view = new RunView(this, layer)));
    return view;
  }

  /**
   * Tool-call ids in use in this run: those of the messages passed in, of every response and of
   * transcript edits. An id stays taken even if an edit later removes its call.
   */
  get callIds(): Set<string> {
    let ids = this.#callIds;
    if (ids === undefined || this.#editedSinceIds) {
      ids ??= new Set();
      for (const message of this.transcript) {
        if (message.role !== 'assistant' || typeof message.content === 'string') continue;
        for (const part of message.content) if (part.type === 'tool-call') ids.add(part.toolCallId);
      }
      this.#callIds = ids;
      this.#editedSinceIds = false;
    }
    return ids;
  }

  /** Appends messages the loop built and checked (an assistant message, or its tool results). */
  append(messages: readonly Message[]): void {
    if (this.validate) {
      // Tool results answer the pending assistant message: while it is still there (the usual
      // case, among the appended ones) checking from it on is enough; if an edit removed it, check all.
      let scope = messages;
      const pending = this.pending as Message | undefined;
      if (pending) {
        const at = this.#appended?.lastIndexOf(pending) ?? -1;
        const all = at >= 0 ? (this.#appended as Message[]).slice(at) : (this.transcript as readonly Message[]);
        scope = [...all, ...messages];
        if (at < 0) scope = scope.slice(Math.max(0, scope.lastIndexOf(pending)));
      }
      const problem = checkToolPairing(scope);
      if (problem) throw transcriptError('runAgent', problem);
    }
    if (this.#appended) this.#appended.push(...messages);
    else this.#appended = [...messages];
  }

  /** Transcript edits so far (a checkpoint saves the whole transcript again after one). */
  edits = 0;

  /** A run or turn layer pauses the run at the next turn boundary. */
  pause(payload: unknown, layer: string, turn: number): void {
    if (this.result !== undefined) {
      throw new MiddlewareError(
        layer,
        `\`${layer}\` called interrupt() after the run ended. Call it before \`await next()\` (a run layer), or in a turn layer.`,
      );
    }
    const pause: PauseInterruption = {
      kind: 'pause',
      payload: payload === undefined ? null : payload,
      source: 'layer',
      by: layer,
      turn,
    };
    this.interruptions.push(pause);
  }

  updateTranscript(recipe: TranscriptRecipe, layer: string): void {
    const before = this.transcript;
    const after = immer.produce(
      before as Message[],
      (draft) => recipe(draft, { original: before }) as never,
    ) as Message[];
    if (after === before) return;
    if (this.validate) {
      const problem = findUpdateProblem(
        { model: 'transcript', messages: before },
        { model: 'transcript', messages: after },
      );
      if (problem) throw transcriptError(layer, problem);
    }
    // Which indices changed is not tracked here: a search for them stops at this version.
    recordDerivation(after, before, null, { valid: this.validate });
    this.#transcript = after;
    this.edits++;
    this.#editedSinceIds = this.#callIds !== undefined;
  }
}

function transcriptError(layer: string, problem: Parameters<typeof requestError>[0]): InvalidRequestError {
  return requestError(
    problem,
    layer,
    (detail) => `\`${layer}\` produced an invalid transcript: ${detail}. The transcript was left as it was.`,
  );
}

class RunView implements RunContext {
  readonly #core: RunCore;
  readonly #layer: string;

  constructor(core: RunCore, layer: string) {
    this.#core = core;
    this.#layer = layer;
  }
  get runId(): string {
    return this.#core.runId;
  }
  get turn(): number {
    return this.#core.turn;
  }
  get transcript(): Immutable<Message[]> {
    return this.#core.transcript;
  }
  get state(): RunState {
    return this.#core.state;
  }
  get metadata(): Readonly<Record<string, unknown>> {
    return this.#core.metadata;
  }
  updateTranscript(recipe: TranscriptRecipe): void {
    this.#core.updateTranscript(recipe, this.#layer);
  }
  [FOR_LAYER](layer: string): RunContext {
    return this.#core.view(layer);
  }
}

/** @internal */
export class RunLayerView implements RunLayerContext {
  readonly #core: RunCore;
  readonly layer: string;
  constructor(core: RunCore, layer: string) {
    this.#core = core;
    this.layer = layer;
  }
  get run(): RunContext {
    return this.#core.view(this.layer);
  }
  get signal(): AbortSignal {
    return this.#core.signal;
  }
  get result(): AgentResult | undefined {
    return this.#core.result;
  }
  get resumed(): boolean {
    return this.#core.resumed;
  }
  interrupt(payload?: unknown): void {
    this.#core.pause(payload, this.layer, this.#core.turn);
  }
}

/** @internal The turn's outcome, filled in by the loop for the turn layers to read after next(). */
export interface TurnSlot {
  record: TurnRecord | undefined;
  /** The turn finishes the pending turn of a snapshot (its model call was made before). */
  readonly resume?: ResumedTurn | undefined;
}

/** @internal */
export class TurnLayerView implements TurnLayerContext {
  readonly #core: RunCore;
  readonly #slot: TurnSlot;
  readonly turn: number;
  readonly layer: string;
  constructor(core: RunCore, turn: number, slot: TurnSlot, layer: string) {
    this.#core = core;
    this.#slot = slot;
    this.turn = turn;
    this.layer = layer;
  }
  get run(): RunContext {
    return this.#core.view(this.layer);
  }
  get signal(): AbortSignal {
    return this.#core.signal;
  }
  get record(): TurnRecord | undefined {
    return this.#slot.record;
  }
  get resumed(): boolean {
    return this.#core.resumed;
  }
  interrupt(payload?: unknown): void {
    // Before next() the turn has not run: the pause comes after the previous one.
    this.#core.pause(payload, this.layer, this.#slot.record ? this.turn : this.turn - 1);
  }
}
