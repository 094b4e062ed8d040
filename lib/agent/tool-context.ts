import type { Draft, Immutable } from 'immer';
import { immer } from '../internal/immer.js';
import type { Next } from '../core/compose.js';
import type { RunContext } from '../core/context.js';
import { MiddlewareError } from '../core/errors.js';
import { describeValue } from '../internal/options.js';
import { abortable } from '../internal/signals.js';
import type { ToolCallPart, ToolMessage } from '../core/messages.js';
import type { RunCore } from './run-context.js';
import type { ToolCallInterruption } from './interrupts.js';
import type { AnyTool } from './tools.js';

/** Who asked, when a layer interrupts on behalf of a plugin (`ToolContext.interrupt(payload, origin)`). */
export interface InterruptOrigin {
  /** The plugin that asked for the decision. */
  readonly plugin: string;
}

/** The outcome of one tool call, as tool middleware sees it after `await next()`. */
export interface ToolResult {
  /** What the model reads: persisted as the tool message's `content`. */
  readonly content: string;
  /** The tool failed or was denied; persisted as the tool message's `isError`. */
  readonly isError?: boolean | undefined;
  /** The value `execute` returned, before it became `content`. Not persisted. */
  readonly output?: unknown;
  /** What the tool threw, or the input's `ZodError`. Not persisted. */
  readonly error?: unknown;
}

/**
 * The tool message a result is persisted as: the one builder for the transcript's tool messages
 * (the tool runner, and `tool_result_persist` hooks that see it before it is stored).
 */
export function toolMessage(
  call: { readonly toolCallId: string; readonly toolName: string },
  result: ToolResult,
): ToolMessage {
  const message: ToolMessage = {
    role: 'tool',
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    content: result.content,
  };
  if (result.isError) message.isError = true;
  return message;
}

/**
 * Per-tool-call state shared by the tool layers of one call, typed by declaration merging like
 * `CallState`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: extended by declaration merging
export interface ToolCallState {}

/** A tool-level layer: Koa's shape around one tool call. */
export type ToolMiddlewareFn = (ctx: ToolContext, next: Next) => Promise<void> | void;

// Types the `tool` member of `defineMiddleware({ ... })`; see run-context.ts.
declare module 'modelware' {
  interface StackContexts {
    tool: ToolContext;
  }
}

/** @internal The shared state of one tool call; each layer sees it through a `ToolContext`. */
export class ToolCallCore {
  input: unknown;
  result: ToolResult | undefined = undefined;
  state: ToolCallState | undefined = undefined;
  /** Set when a layer, a plugin or the tool's `needsApproval` held the call for a decision. */
  interruption: ToolCallInterruption | undefined = undefined;
  /** A person approved this call on resume: it cannot be interrupted again. */
  approved = false;

  constructor(
    readonly call: Immutable<ToolCallPart>,
    readonly tool: AnyTool | undefined,
    /** The run's signal, or the one a layer outside set with `withSignal` while the layers inside run. */
    public signal: AbortSignal,
    readonly run: RunCore,
  ) {
    this.input = call.input;
  }

  /** @internal Holds the call for a decision; `false` when it was approved on resume. */
  interrupt(payload: unknown, source: 'tool' | 'layer' | 'plugin', by: string): boolean {
    if (this.approved) return false;
    if (this.result !== undefined) {
      throw new MiddlewareError(
        by,
        `\`${by}\` called interrupt() on a tool call that already had a result. Interrupt before \`await next()\`, instead of running the tool.`,
      );
    }
    this.interruption ??= {
      kind: 'tool-call',
      toolCallId: this.call.toolCallId,
      toolName: this.call.toolName,
      input: this.call.input,
      payload: payload === undefined ? null : payload,
      source,
      by,
      turn: this.run.turn,
    };
    return true;
  }
}

/**
 * What a tool layer sees of one tool call. Before `await next()`: the call and its arguments,
 * which `updateInput` rewrites for the layers inside and the tool. After it: `result`, which a
 * layer may replace (`result = ...`, `updateResult`) before it is persisted in the transcript.
 * Setting `result` without calling `next()` answers the call without running the tool (`deny`).
 */
export class ToolContext<Input = unknown> {
  /** @internal */
  readonly core: ToolCallCore;
  /** The name of the layer holding this view. */
  readonly layer: string;

  /** @internal Views are made by the tool stack; users receive them (the class is exported as a type). */
  constructor(core: ToolCallCore, layer: string) {
    this.core = core;
    this.layer = layer;
  }

  /** The tool call exactly as the model sent it. */
  get call(): Immutable<ToolCallPart> {
    return this.core.call;
  }
  get toolCallId(): string {
    return this.core.call.toolCallId;
  }
  get toolName(): string {
    return this.core.call.toolName;
  }
  /** The tool being called; `undefined` when the model named a tool the run does not have. */
  get tool(): AnyTool | undefined {
    return this.core.tool;
  }
  /** The arguments as the layers so far have shaped them (unparsed: the tool parses them last). */
  get input(): Immutable<Input> {
    return this.core.input as Immutable<Input>;
  }
  /** Aborts when the run is cancelled (or a layer outside this one gave up, see `withSignal`). */
  get signal(): AbortSignal {
    return this.core.signal;
  }

  /**
   * Runs `inner` (usually `next`) with `signal` as `ctx.signal` of every tool layer inside this one
   * and of the tool's `execute`, then restores this layer's signal. Link it to `ctx.signal` yourself
   * so a cancelled run still reaches inside. If `signal` aborts first, the promise rejects at once
   * with its reason, even if the tool ignores it. This is how `toolTimeout()` bounds a tool call.
   *
   * @example
   * const own = new AbortController();
   * const timer = setTimeout(() => own.abort(new TimeoutError('too slow', 5000)), 5000);
   * try { await ctx.withSignal(AbortSignal.any([ctx.signal, own.signal]), next); }
   * finally { clearTimeout(timer); }
   */
  async withSignal<T>(signal: AbortSignal, inner: () => Promise<T>): Promise<T> {
    const core = this.core;
    const previous = core.signal;
    signal.throwIfAborted();
    core.signal = signal;
    try {
      return await abortable(inner(), signal);
    } finally {
      core.signal = previous;
    }
  }
  /** The run this call belongs to. */
  get run(): RunContext {
    return this.core.run.view(this.layer);
  }
  /**
   * `<runId>:<toolCallId>`: the same for every execution of this call, in this process or after a
   * resume in another; pass it to the services the tool changes so a repeated call has no effect twice.
   */
  get idempotencyKey(): string {
    return `${this.core.run.runId}:${this.core.call.toolCallId}`;
  }
  /** A person approved this call when the run was resumed (`interrupt()` then returns `false`). */
  get approved(): boolean {
    return this.core.approved;
  }
  /** Whether a layer or the tool's `needsApproval` held this call for a decision. */
  get interrupted(): boolean {
    return this.core.interruption !== undefined;
  }

  /**
   * Holds this call for a person's decision instead of running it: return without calling
   * `next()`. The run ends with stop reason `interrupted` once the turn's other calls are done;
   * `payload` (plain JSON data) is in the interruption, with `source: 'layer'` and `by` naming
   * this layer. A layer that dispatches plugins passes `origin: { plugin }` so the interruption
   * says `source: 'plugin'` and names the plugin that asked (as `plugins()` does for `requireApproval()`). Returns `false`, and holds nothing, when
   * the call was approved on resume: then carry on with `next()`.
   *
   * @example
   * if (ctx.toolName === 'transfer' && ctx.interrupt({ question: 'Send the money?' })) return;
   * await next();
   */
  interrupt(payload?: unknown, origin?: InterruptOrigin): boolean {
    if (origin !== undefined) {
      if (typeof origin !== 'object' || origin === null || typeof origin.plugin !== 'string' || origin.plugin === '') {
        throw new MiddlewareError(
          this.layer,
          `\`${this.layer}\` called interrupt() with origin ${describeValue(origin)}. Pass { plugin: '<name>' } (a layer dispatching plugins), or nothing.`,
        );
      }
      return this.core.interrupt(payload, 'plugin', origin.plugin);
    }
    return this.core.interrupt(payload, 'layer', this.layer);
  }

  /** Per-tool-call state shared by the tool layers; typed through `ToolCallState`. */
  get state(): ToolCallState {
    return (this.core.state ??= {});
  }

  /**
   * Rewrites the arguments for the layers inside this one and the tool. Mutate the draft and
   * return nothing, or return a replacement and touch nothing.
   *
   * @example
   * ctx.updateInput((draft) => { draft.limit = Math.min(draft.limit, 10); });
   */
  updateInput(recipe: (draft: Draft<Input>) => void | Input | Immutable<Input>): void {
    this.core.input = immer.produce(this.core.input, recipe as never);
  }

  /** The result, once the tool (or a layer inside) produced one. */
  get result(): ToolResult | undefined {
    return this.core.result;
  }
  /** Setting it without calling `next()` answers the call without running the tool. */
  set result(result: ToolResult | undefined) {
    if (result !== undefined && (typeof result !== 'object' || typeof result.content !== 'string')) {
      throw new MiddlewareError(
        this.layer,
        `\`${this.layer}\` set ctx.result to ${describeValue(result)}. A tool result needs a string \`content\`, e.g. { content: 'done' } or { content: 'not allowed', isError: true }.`,
      );
    }
    this.core.result = result;
  }

  /** Changes the result on the way out (before it is persisted), with a draft. */
  updateResult(recipe: (draft: Draft<ToolResult>) => void | ToolResult): void {
    const before = this.core.result;
    if (before === undefined) {
      throw new MiddlewareError(
        this.layer,
        `\`${this.layer}\` called ctx.updateResult() before there was a result. Call it after \`await next()\`, or set ctx.result to answer without running the tool.`,
      );
    }
    this.result = immer.produce(before, recipe as never) as ToolResult;
  }

  /** Answers the call with an error the model reads instead of running the tool. Do not call `next()` after it. */
  deny(message: string): void {
    this.result = { content: message, isError: true };
  }
}

type InputRecipe = (draft: Draft<unknown>) => unknown;

/**
 * @internal A replay tool layer's view. `base` is the input as this layer shaped it (the snapshot
 * taken on entry plus this layer's own updates), without the inner layers' changes; each attempt
 * starts from it. After an attempt succeeded the input holds the inner changes, so this layer's
 * updates are queued in `pending` and re-applied to `base` before the next attempt.
 */
export class ReplayToolContext extends ToolContext {
  base: unknown;
  pending: InputRecipe[] | undefined;

  constructor(core: ToolCallCore, layer: string) {
    super(core, layer);
    this.base = core.input;
  }

  override updateInput(recipe: (draft: Draft<unknown>) => unknown): void {
    super.updateInput(recipe as never);
    if (this.pending) this.pending.push(recipe);
    else this.base = this.core.input;
  }

  /** Back to `base`, with the updates this layer made since the last attempt re-applied. */
  rewind(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      this.core.input = this.base;
      for (const recipe of pending) this.updateInput(recipe);
    }
  }
}
