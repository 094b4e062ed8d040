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
   * Hooks the caller passes inward (Koog's `PromptExecutorHooks`): an executor that chooses the
   * model itself (`callsHooks: true`: a router, a fallback chain, a pipeline) calls them for each
   * attempt, so the caller's layers, plugins and `dispatched` event see the model it chose before
   * the call and may adjust the request for it. Executors that do not choose ignore them; the
   * calling pipeline then calls them itself with `request.model`. Use `executeWithHooks` /
   * `streamWithHooks` to call them in order.
   */
  readonly hooks?: ExecutorHooks | undefined;
  /**
   * Set when a layer made this call for itself with `ctx.callModel()` (a summary, a judge): not the
   * caller's traffic. A pipeline receiving it shows it to its layers as `ctx.internal` and on its
   * events, and passes it on to its own executor.
   */
  readonly internal?: InternalCall | undefined;
}

/** An attempt of an executor that chose its model: `request.model` is the model chosen. */
export interface ExecutorAttempt {
  /** The model chosen for this attempt (`request.model`). */
  readonly model: string;
  /** The request this attempt sends. */
  readonly request: ReadonlyModelRequest;
  /** 1 for the first attempt of the call, 2 for the next (a fallback), ... */
  readonly attempt: number;
}

/**
 * What a routing or falling-back executor tells its caller, in this order per attempt:
 * `onModelChosen`, then `onStreamPart` per part (stream mode), then `onCompleted` or `onFailed`;
 * `onModelChoiceFailed` when no model could be chosen at all. A pipeline passes one to its
 * executor and runs its caller's hooks, then its layers' (`ctx.addExecutorHooks`), outermost first
 * on the way in and innermost first on the way out. Every hook may be async; the executor awaits
 * it. A hook that throws fails the attempt.
 */
export interface ExecutorHooks {
  /**
   * The executor chose `model` and is about to send `request`. Return a replacement request (the
   * overrides for that model: options, tools, messages, even another model) or nothing to keep it.
   */
  onModelChosen?(
    event: ExecutorAttempt,
  ): ReadonlyModelRequest | undefined | void | Promise<ReadonlyModelRequest | undefined | void>;
  /** No model could be chosen (no route matched, every candidate excluded); the call fails with `error`. */
  onModelChoiceFailed?(event: {
    readonly request: ReadonlyModelRequest;
    readonly error: unknown;
  }): void | Promise<void>;
  /** The attempt answered (in stream mode: the response assembled from its parts). */
  onCompleted?(event: ExecutorAttempt & { readonly response: ModelResponse }): void | Promise<void>;
  /** The attempt failed; the executor may try another model next. */
  onFailed?(event: ExecutorAttempt & { readonly error: unknown }): void | Promise<void>;
  /** A streamed part (Koog's stream frame), before it reaches the caller. */
  onStreamPart?(event: ExecutorAttempt & { readonly part: StreamPart }): void | Promise<void>;
}

/**
 * What an executor can do natively, so layers can rely on it instead of working around it. Every
 * field is optional: absent means "not natively" (the safe assumption).
 */
export interface ExecutorCapabilities {
  /**
   * How the executor honours `request.responseFormat`: `'schema'` sends a JSON schema to the
   * provider, which constrains the answer (OpenAI `json_schema`, Anthropic `output_config.format`);
   * `'json'` asks for JSON without a schema (JSON mode). Absent: the executor ignores it, and
   * `validateOutput()` describes the schema in the prompt instead. @default undefined
   */
  readonly responseFormat?: 'schema' | 'json' | undefined;
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
  /**
   * True when this executor chooses the model itself and calls `options.hooks` for every attempt
   * (`onModelChosen` before it). A calling pipeline then records the model, runs its layers'
   * hooks and emits `dispatched` from `onModelChosen`, instead of before the call. Pipelines set
   * it. @default undefined (the caller treats `request.model` as chosen)
   */
  readonly callsHooks?: boolean | undefined;
  /** What the executor does natively (see `ExecutorCapabilities`); a pipeline forwards its executor's. */
  readonly capabilities?: ExecutorCapabilities | undefined;
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
