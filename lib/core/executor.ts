import type { Immutable } from 'immer';
import { describeValue } from '../internal/options.js';
import type { ModelRequest, ModelResponse, StreamPart } from './messages.js';

/** A request as layers and executors see it: deeply read-only. Change it with `ctx.update()`. */
export type ReadonlyModelRequest = Immutable<ModelRequest>;

/** What a pipeline (or any caller) passes to an executor besides the request. */
export interface ExecuteOptions {
  /** Aborts the call. Executors must stop work and reject with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** The id of the calling context, when a pipeline calls this executor (pipelines nest). */
  readonly parentId?: string | undefined;
  /** The agent run this call belongs to, when there is one. */
  readonly run?: unknown;
  /**
   * Tells the caller which model this executor actually used, when it chose one itself (a nested
   * pipeline's fallback or router, a multi-provider executor). The calling pipeline records it as
   * the effective model (`ctx.model.resolved`, events). Call it before answering.
   */
  readonly reportModel?: ((model: string) => void) | undefined;
  /**
   * Set when a layer made this call for itself with `ctx.callModel()` (a summary, a judge): not the
   * caller's traffic. A pipeline receiving it shows it to its layers as `ctx.internal` and on its
   * events, and passes it on to its own executor.
   */
  readonly internal?: InternalCall | undefined;
}

/**
 * Marks a model call a layer made for itself (`ctx.callModel()`), apart from the caller's traffic:
 * it never enters the caller's stream, transcript or lifecycle events, and it carries its own budget
 * key. Layers see it as `ctx.internal`, events as `event.internal`, tracing as span attributes.
 */
export interface InternalCall {
  /** The layer that made the call, e.g. `summarize`. */
  readonly by: string;
  /** What the call is for, e.g. `summary`. @default the layer's name */
  readonly purpose: string;
  /** The id of the call during which the layer made it. */
  readonly parentCallId: string;
  /** The run of that call, when there is one. */
  readonly runId: string | undefined;
  /** The turn of that call, when there is one. */
  readonly turn: number | undefined;
  /**
   * The key a usage or budget layer should charge this call to, apart from the user's traffic.
   * @default `internal:<purpose>`
   */
  readonly budgetKey: string;
  /** 1 for a call made during a user call, 2 for one made during an internal call, and so on (at most 4). */
  readonly depth: number;
}

/**
 * The innermost function that really calls a model. Adapters turn provider SDKs into one; a
 * pipeline is one too, so pipelines nest.
 */
export interface Executor {
  /** Shown in errors and events, e.g. `openai`, `scripted`. */
  readonly name?: string | undefined;
  /**
   * The model id to use when the caller names none: `runAgent`/`streamAgent` without `modelId`
   * send it as `request.model`. Set by adapters built with a model (`openaiExecutor({ client,
   * model })`, `aiSdkExecutor(openai('gpt-5-mini'))`); a pipeline forwards its executor's.
   * Never derived from `name`. @default undefined (callers must name the model)
   */
  readonly defaultModel?: string | undefined;
  generate(request: ReadonlyModelRequest, options?: ExecuteOptions): Promise<ModelResponse>;
  /** Optional: without it, `stream()` calls `generate()` and replays the response as parts. */
  stream?(request: ReadonlyModelRequest, options?: ExecuteOptions): AsyncIterable<StreamPart>;
}

/** An executor that names a default model (see `Executor.defaultModel`): `runAgent` needs no `modelId`. */
export type ExecutorWithDefaultModel = Executor & { readonly defaultModel: string };

/** Checks an adapter's `model` option: `undefined`, or a non-empty string. */
export function assertModelOption(model: unknown, where: string): asserts model is string | undefined {
  if (model !== undefined && (typeof model !== 'string' || model === '')) {
    throw new TypeError(
      `${where}: expected \`model\` (the default model id) to be a non-empty string, got ${describeValue(model)}.`,
    );
  }
}

export function executorName(executor: Executor): string {
  return executor.name || 'executor';
}

export function assertExecutor(value: unknown, where: string): asserts value is Executor {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Executor).generate !== 'function' ||
    ((value as Executor).stream !== undefined && typeof (value as Executor).stream !== 'function')
  ) {
    throw new TypeError(
      `${where}: expected an executor (an object with a generate(request, options) method), got ${describeValue(value)}.`,
    );
  }
}

/**
 * @internal The one value printer (lib/internal/options.ts), passed on for adapters and testing, which
 * import core only.
 */
export { describeValue };
