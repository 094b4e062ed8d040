import { type Layer, type Middleware, buildCallStack, settledError, toLayers } from './compose.js';
import { CallCore, type CoreSettings, enableInspection } from './call-core.js';
import type { RunContext } from './context.js';
import { callError, dispatcher, emitCompleted, emitFailed, emitRequested } from './dispatch.js';
import { MiddlewareError, toError } from './errors.js';
import { EventHub, type ModelEventListener, type ModelEventType } from './events.js';
import {
  type ExecuteOptions,
  type Executor,
  type ExecutorWithDefaultModel,
  type ExecutorCapabilities,
  type ReadonlyModelRequest,
  assertExecutor,
  executorName,
} from './executor.js';
import type { ModelResponse } from './messages.js';
import { ModelStream } from './model-stream.js';
import { type StreamEnv, streamPipelineCall } from './pipeline-stream.js';
import { validateRequest, validateResponse } from './validate.js';
import { checkKeys, optionNames } from '../internal/options.js';

export interface PipelineOptions {
  /** The executor at the centre of the onion. */
  readonly executor: Executor;
  /** Shown in errors and events when this pipeline is another pipeline's executor. @default 'pipeline' */
  readonly name?: string | undefined;
  /**
   * Validate the request on entry and after every layer's update, and the executor's response.
   * Only changed messages are checked. Turn off in production once your layers are tested.
   * @default true
   */
  readonly validate?: boolean | undefined;
  /** Record the Immer patches of every layer's update in `ctx.patches`. @default false */
  readonly inspect?: boolean | undefined;
  /**
   * Layers see a deep-frozen copy of the caller's request and of every version they produce, so
   * any direct mutation of `ctx.request` throws. The caller's own objects are never frozen
   * (development aid; each new message is copied once). @default false
   */
  readonly strict?: boolean | undefined;
}

/** Options of one `generate()`/`stream()` call. */
export type CallSettings = ExecuteOptions;

/**
 * A stack of middleware around an executor. A pipeline is itself an executor, so pipelines nest.
 */
export interface Pipeline extends Executor {
  readonly name: string;
  /** Always true: a pipeline calls `options.hooks` for each dispatch (see `Executor.callsHooks`). */
  readonly callsHooks: true;
  /** The layers' names, outermost first. */
  readonly layers: readonly string[];
  /**
   * Appends middleware. Layers run in `use()` order on the way in and in reverse order on the way
   * out; the executor is innermost.
   */
  use(...middleware: Middleware[]): this;
  /** Runs the stack once and resolves with the response. */
  generate(request: ReadonlyModelRequest, options?: CallSettings): Promise<ModelResponse>;
  /** Runs the same stack in stream mode; iterate the result or await its `response`. */
  stream(request: ReadonlyModelRequest, options?: CallSettings): ModelStream;
  /** Subscribes to call lifecycle events; returns the unsubscribe function. */
  on<T extends ModelEventType>(type: T, listener: ModelEventListener<T>): () => void;
  /** @internal Tool-level layers, for the agent loop. */
  readonly toolLayers: readonly Layer[];
  /** @internal Run-level layers, for the agent loop. */
  readonly runLayers: readonly Layer[];
  /** @internal Turn-level layers, for the agent loop. */
  readonly turnLayers: readonly Layer[];
}

const PIPELINE_KEYS = optionNames<PipelineOptions>({
  executor: true,
  name: true,
  validate: true,
  inspect: true,
  strict: true,
});

/**
 * Creates a pipeline around an executor.
 *
 * @example
 * const app = pipeline(openaiExecutor({ client }), retry({ retries: 2 }));
 * app.use(logger);
 * const response = await app.generate({ model: 'gpt-5-mini', messages });
 */
export function pipeline(
  executor: ExecutorWithDefaultModel | (PipelineOptions & { readonly executor: ExecutorWithDefaultModel }),
  ...middleware: Middleware[]
): Pipeline & { readonly defaultModel: string };
export function pipeline(executor: Executor | PipelineOptions, ...middleware: Middleware[]): Pipeline;
export function pipeline(executor: Executor | PipelineOptions, ...middleware: Middleware[]): Pipeline {
  const options: PipelineOptions =
    typeof (executor as Executor | null | undefined)?.generate === 'function'
      ? { executor: executor as Executor }
      : (executor as PipelineOptions);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`pipeline(): expected an executor or { executor, ...options }, got ${String(options)}.`);
  }
  const sdk = sdkClientHint(executor) ?? sdkClientHint(options.executor);
  if (sdk) throw new TypeError(`pipeline(): got ${sdk}, not an executor. Wrap it in an adapter first.`);
  assertExecutor(options.executor, 'pipeline()');
  // The `{ executor, ...options }` form: a misspelt option (`valdate`) is an error, not a default.
  if ((options as unknown) === executor) checkKeys('pipeline()', options, PIPELINE_KEYS);
  const app = new PipelineImpl(options);
  if (middleware.length > 0) app.use(...middleware);
  return app;
}

/**
 * Recognises, by shape alone (no SDK is imported), a provider client or model passed where an
 * executor belongs, and names the adapter that turns it into one.
 */
export function sdkClientHint(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, Record<string, unknown> | undefined>;
  if (typeof v.chat?.completions === 'object' && typeof v.responses === 'object') {
    return "an OpenAI SDK client: use `openaiExecutor({ client })` from 'modelware/openai'";
  }
  if (typeof v.messages?.create === 'function') {
    return "an Anthropic SDK client: use `anthropicExecutor({ client })` from 'modelware/anthropic'";
  }
  if (typeof v.specificationVersion === 'string' && typeof v.doGenerate === 'function') {
    return "a Vercel AI SDK language model: use `aiSdkExecutor(model)` from 'modelware/ai-sdk'";
  }
  return undefined;
}

class PipelineImpl implements Pipeline {
  readonly name: string;
  readonly #executor: Executor;
  readonly #executorName: string;
  readonly #settings: CoreSettings;
  readonly #events = new EventHub();
  readonly #callLayers: Layer[] = [];
  readonly #toolLayers: Layer[] = [];
  readonly #runLayers: Layer[] = [];
  readonly #turnLayers: Layer[] = [];
  #stack: ((core: CallCore) => Promise<void>) | undefined;
  readonly #env: StreamEnv;

  constructor(options: PipelineOptions) {
    this.#executor = options.executor;
    this.#executorName = executorName(options.executor);
    this.name = options.name ?? 'pipeline';
    if (options.inspect) enableInspection();
    this.#settings = {
      validate: options.validate ?? true,
      inspect: options.inspect ?? false,
      strict: options.strict ?? false,
      events: this.#events,
      executor: this.#executor,
    };
    this.#env = {
      settings: this.#settings,
      events: this.#events,
      executor: this.#executor,
      executorName: this.#executorName,
      stack: () => this.#getStack(),
      noResponse: (core) => this.#noResponse(core),
      blame: (core, thrown) => settledError(thrown, core, this.#callLayers, this.name),
    };
  }

  /**
   * A pipeline chooses the model of each call (its router or fallback, or `request.model`) and
   * calls `options.hooks` for every dispatch, so a calling pipeline sees the model before the call.
   */
  get callsHooks(): true {
    return true;
  }

  /** The executor's default model, if it has one (`runAgent` uses it when given no `modelId`). */
  get defaultModel(): string | undefined {
    return this.#executor.defaultModel;
  }

  /** The executor's capabilities, forwarded so an outer pipeline's layers see them too. */
  get capabilities(): ExecutorCapabilities | undefined {
    return this.#executor.capabilities;
  }

  get layers(): readonly string[] {
    return this.#callLayers.map((l) => l.name);
  }

  get toolLayers(): readonly Layer[] {
    return this.#toolLayers;
  }

  get runLayers(): readonly Layer[] {
    return this.#runLayers;
  }

  get turnLayers(): readonly Layer[] {
    return this.#turnLayers;
  }

  use(...middleware: Middleware[]): this {
    const added = middleware.flatMap((mw, i) => toLayers(mw, 'use()', this.#callLayers.length + i));
    for (const layer of added) {
      if (layer.call) this.#callLayers.push(layer);
      if (layer.tool) this.#toolLayers.push(layer);
      if (layer.run) this.#runLayers.push(layer);
      if (layer.turn) this.#turnLayers.push(layer);
    }
    this.#stack = undefined;
    return this;
  }

  on<T extends ModelEventType>(type: T, listener: ModelEventListener<T>): () => void {
    return this.#events.on(type, listener);
  }

  generate(request: ReadonlyModelRequest, options?: CallSettings): Promise<ModelResponse> {
    // The caller's hooks need this pipeline's dispatch, unless the executor calls them itself.
    if (
      this.#callLayers.length === 0 &&
      this.#events.count === 0 &&
      (options?.hooks === undefined || this.#executor.callsHooks)
    ) {
      return this.#direct(request, options);
    }
    return this.#generate(request, options);
  }

  // Zero-cost default: no layers and no listeners means no context, just checks around the call.
  // A plain promise chain rather than an async function: one promise and one hop fewer.
  #direct(request: ReadonlyModelRequest, options: CallSettings | undefined): Promise<ModelResponse> {
    let pending: Promise<ModelResponse>;
    try {
      if (this.#settings.validate) validateRequest(request, 'caller');
      options?.signal?.throwIfAborted();
      const answer: unknown = this.#executor.generate(request, options);
      // A plain value or a foreign thenable (an executor written in JS) is adopted, as `await` would:
      // `.then` on it would throw synchronously or return whatever that thenable returns.
      pending = answer instanceof Promise ? answer : Promise.resolve(answer as ModelResponse);
    } catch (thrown) {
      return Promise.reject(callError(this.#executorError(thrown, options?.signal), options?.signal));
    }
    const signal = options?.signal;
    if (signal === undefined) return pending.then(this.#checkResponse, this.#unsignalledFailure);
    return pending.then(this.#checkResponse, (thrown: unknown) => {
      throw callError(this.#executorError(thrown, signal), signal);
    });
  }

  readonly #checkResponse = (response: ModelResponse): ModelResponse => {
    if (this.#settings.validate) validateResponse(response, this.#executorName);
    return response;
  };

  /** #direct's rejection handler for a call without a signal: no closure per call. */
  readonly #unsignalledFailure = (thrown: unknown): never => {
    throw callError(this.#executorError(thrown, undefined), undefined);
  };

  // A promise chain rather than an async function, as in #direct: the async shell (its promise,
  // its suspension and the extra hop to settle) cost more per call than the glue of ten layers.
  #generate(request: ReadonlyModelRequest, options: CallSettings | undefined): Promise<ModelResponse> {
    let core: CallCore;
    let started: number;
    try {
      if (this.#settings.validate) validateRequest(request, 'caller');
      options?.signal?.throwIfAborted();
      core = new CallCore(
        this.#settings,
        request,
        'generate',
        options?.signal,
        options?.parentId,
        options?.run as RunContext,
      );
      if (options !== undefined) {
        core.reportModel = options.reportModel?.bind(options);
        core.hooks = options.hooks;
        core.internal = options.internal;
      }
      if (this.#executor.capabilities) core.capabilities = this.#executor.capabilities;
      started = this.#events.count > 0 ? performance.now() : 0;
      emitRequested(this.#events, core);
    } catch (thrown) {
      return Promise.reject(thrown);
    }
    return this.#getStack()(core).then(
      () => this.#completed(core, started),
      (thrown: unknown) => this.#failed(core, thrown, started),
    );
  }

  #completed(core: CallCore, started: number): ModelResponse | Promise<never> {
    const response = core.response;
    if (response === undefined) return this.#failed(core, this.#noResponse(core), started);
    emitCompleted(this.#events, core, response, started);
    return response;
  }

  /** What a failed call rejects with: a promise when the thrower must first be found (`settledError`). */
  #failed(core: CallCore, thrown: unknown, started: number): Promise<never> {
    const fail = (blamed: unknown): never => {
      // An abort rejects with the signal's reason as is, whatever its type (as fetch does).
      const error = callError(blamed, core.signal);
      emitFailed(this.#events, core, error, started);
      throw error;
    };
    const blamed = settledError(thrown, core, this.#callLayers, this.name);
    return blamed instanceof Promise ? blamed.then(fail) : fail(blamed);
  }

  stream(request: ReadonlyModelRequest, options?: CallSettings): ModelStream {
    return new ModelStream((complete) => streamPipelineCall(this.#env, request, options, complete));
  }

  #getStack(): (core: CallCore) => Promise<void> {
    if (this.#stack) return this.#stack;
    // The executor's step names a non-Error it threw after the executor, not the innermost layer.
    const innermost = dispatcher(this.#env);
    this.#stack = buildCallStack(this.#callLayers, innermost);
    return this.#stack;
  }

  #executorError(thrown: unknown, signal: AbortSignal | undefined): unknown {
    if (thrown instanceof Error || (signal?.aborted && thrown === signal.reason)) return thrown;
    return toError(thrown, this.#executorName, `the executor \`${this.#executorName}\``);
  }

  #noResponse(core: CallCore): MiddlewareError {
    // The innermost layer reached is the one that neither called next() nor answered.
    const layer = this.#callLayers[core.entered]?.name ?? this.name;
    return new MiddlewareError(
      layer,
      `No response: \`${layer}\` returned without calling \`await next()\` and without setting ctx.response (layers: ${this.layers.join(' → ')}). Call next(), or set ctx.response to answer directly.`,
    );
  }
}
