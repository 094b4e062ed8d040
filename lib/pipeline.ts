import { type Layer, type Middleware, buildStack, toLayers } from './compose.js';
import { CallCore, type CoreSettings, enableInspection } from './call-core.js';
import type { RunContext } from './context.js';
import { MiddlewareError, toError } from './errors.js';
import { EventHub, type ModelEventListener, type ModelEventType } from './events.js';
import {
  type ExecuteOptions,
  type Executor,
  type ReadonlyModelRequest,
  assertExecutor,
  executorName,
} from './executor.js';
import type { ModelResponse, StreamPart } from './messages.js';
import { ModelStream } from './model-stream.js';
import { ResponseAssembler, closable, discardStream, fromParts, responseToParts } from './stream.js';
import { validateRequest, validateResponse } from './validate.js';

export interface PipelineOptions {
  /** The executor at the centre of the onion. */
  readonly executor: Executor;
  /** Shown in errors and events when this pipeline is another pipeline's executor. @default 'pipeline' */
  readonly name?: string | undefined;
  /**
   * Validate the request on entry and after every layer's update, and the executor's response.
   * Only changed messages are checked. Turn off in production once your layers are trusted.
   * @default true
   */
  readonly validate?: boolean | undefined;
  /** Record the Immer patches of every layer's update in `ctx.patches`. @default false */
  readonly inspect?: boolean | undefined;
  /** Deep-freeze every request version a layer produces (development aid; slower). @default false */
  readonly strict?: boolean | undefined;
}

/** Options of one `generate()`/`stream()` call. */
export type CallSettings = ExecuteOptions;

/**
 * A stack of middleware around an executor. A pipeline is itself an executor, so pipelines nest.
 */
export interface Pipeline extends Executor {
  readonly name: string;
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

/**
 * Creates a pipeline around an executor.
 *
 * @example
 * const app = pipeline(openaiExecutor({ client }), retry({ retries: 2 }));
 * app.use(logger);
 * const response = await app.generate({ model: 'gpt-5-mini', messages });
 */
export function pipeline(executor: Executor | PipelineOptions, ...middleware: Middleware[]): Pipeline {
  const options: PipelineOptions =
    typeof (executor as Executor | null | undefined)?.generate === 'function'
      ? { executor: executor as Executor }
      : (executor as PipelineOptions);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`pipeline(): expected an executor or { executor, ...options }, got ${String(options)}.`);
  }
  assertExecutor(options.executor, 'pipeline()');
  const app = new PipelineImpl(options);
  if (middleware.length > 0) app.use(...middleware);
  return app;
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
    };
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
    if (this.#callLayers.length === 0 && this.#events.count === 0) return this.#direct(request, options);
    return this.#generate(request, options);
  }

  // Zero-cost default: no layers and no listeners means no context, just checks around the call.
  // A plain promise chain rather than an async function: one promise and one hop fewer.
  #direct(request: ReadonlyModelRequest, options: CallSettings | undefined): Promise<ModelResponse> {
    let pending: Promise<ModelResponse>;
    try {
      if (this.#settings.validate) validateRequest(request, 'caller');
      options?.signal?.throwIfAborted();
      pending = this.#executor.generate(request, options);
    } catch (thrown) {
      return Promise.reject(callError(thrown, options?.signal));
    }
    return pending.then(this.#checkResponse, (thrown: unknown) => {
      throw callError(thrown, options?.signal);
    });
  }

  readonly #checkResponse = (response: ModelResponse): ModelResponse => {
    if (this.#settings.validate) validateResponse(response, this.#executorName);
    return response;
  };

  async #generate(request: ReadonlyModelRequest, options: CallSettings | undefined): Promise<ModelResponse> {
    if (this.#settings.validate) validateRequest(request, 'caller');
    options?.signal?.throwIfAborted();
    const core = new CallCore(
      this.#settings,
      request,
      'generate',
      options?.signal,
      options?.parentId,
      options?.run as RunContext,
    );
    core.reportModel = options?.reportModel?.bind(options);
    const started = this.#events.count > 0 ? performance.now() : 0;
    this.#emitRequested(core);
    try {
      await this.#getStack()(core);
      const response = core.response;
      if (response === undefined) throw this.#noResponse(core);
      if (this.#events.has('completed')) {
        this.#events.emit({
          type: 'completed',
          ...this.#base(core),
          response,
          durationMs: performance.now() - started,
        });
      }
      return response;
    } catch (thrown) {
      // An abort rejects with the signal's reason as is, whatever its type (as fetch does).
      const error = thrown === core.signal.reason && core.signal.aborted ? thrown : toError(thrown, 'a middleware');
      if (this.#events.has('failed')) {
        this.#events.emit({ type: 'failed', ...this.#base(core), error, durationMs: performance.now() - started });
      }
      throw error;
    }
  }

  stream(request: ReadonlyModelRequest, options?: CallSettings): ModelStream {
    return new ModelStream(() => this.#stream(request, options));
  }

  async *#stream(
    request: ReadonlyModelRequest,
    options: CallSettings | undefined,
  ): AsyncGenerator<StreamPart, ModelResponse> {
    if (this.#settings.validate) validateRequest(request, 'caller');
    const outer = options?.signal;
    outer?.throwIfAborted();
    // Our own controller, so that a consumer who stops early cancels the provider request.
    const controller = new AbortController();
    const forward = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', forward, { once: true });
    const core = new CallCore(
      this.#settings,
      request,
      'stream',
      controller.signal,
      options?.parentId,
      options?.run as RunContext,
    );
    core.reportModel = options?.reportModel?.bind(options);
    const started = this.#events.count > 0 ? performance.now() : 0;
    this.#emitRequested(core);
    let iterator: AsyncIterator<StreamPart> | undefined;
    let settled = false;
    // True once the source itself has ended or failed; until then it holds resources to release.
    let sourceEnded = false;
    try {
      await this.#getStack()(core);
      const source = core.stream ?? (core.response ? fromParts(responseToParts(core.response)) : undefined);
      if (!source) throw this.#noResponse(core);
      iterator = source[Symbol.asyncIterator]();
      const assembler = new ResponseAssembler();
      for (;;) {
        let result: IteratorResult<StreamPart>;
        try {
          result = await iterator.next();
        } catch (error) {
          sourceEnded = true;
          throw error;
        }
        if (result.done) {
          sourceEnded = true;
          break;
        }
        // An executor that ignores the signal still stops at the next part.
        controller.signal.throwIfAborted();
        assembler.add(result.value);
        yield result.value;
      }
      settled = true;
      const response = assembler.response();
      core.response = response;
      if (this.#events.has('completed')) {
        this.#events.emit({
          type: 'completed',
          ...this.#base(core),
          response,
          durationMs: performance.now() - started,
        });
      }
      return response;
    } catch (thrown) {
      settled = true;
      const signal = controller.signal;
      const error = thrown === signal.reason && signal.aborted ? thrown : toError(thrown, 'a middleware');
      if (this.#events.has('failed')) {
        this.#events.emit({ type: 'failed', ...this.#base(core), error, durationMs: performance.now() - started });
      }
      throw error;
    } finally {
      outer?.removeEventListener('abort', forward);
      // A layer that failed after next() left the stream unread: close it (and each layer's tap).
      if (iterator === undefined) await discardStream(core.stream);
      if (iterator !== undefined && !sourceEnded) {
        // The consumer stopped early, or this loop failed (an abort the executor ignored): cancel
        // first, so the provider request closes, then unwind every layer's stream (each runs its
        // cleanup once).
        const reason = new DOMException('The stream consumer stopped before the end.', 'AbortError');
        if (!controller.signal.aborted) controller.abort(reason);
        try {
          await iterator.return?.();
        } catch {
          // The call already has its outcome; a failing cleanup must not replace it.
        }
      }
      if (!settled) {
        const reason = controller.signal.reason;
        if (this.#events.has('failed')) {
          this.#events.emit({
            type: 'failed',
            ...this.#base(core),
            error: reason,
            durationMs: performance.now() - started,
          });
        }
      }
    }
  }

  #getStack(): (core: CallCore) => Promise<void> {
    return (this.#stack ??= buildStack(this.#callLayers, (core) => this.#dispatch(core)));
  }

  /** The innermost step: records the effective model and calls the executor. */
  async #dispatch(core: CallCore): Promise<void> {
    const request = core.request;
    const epoch = core.epoch;
    core.dispatchedModel = request.model;
    core.reportModel?.(request.model);
    core.dispatches++;
    if (this.#events.has('dispatched')) {
      this.#events.emit({ type: 'dispatched', ...this.#base(core), request, attempt: core.dispatches });
    }
    const options = new DispatchOptions(core);
    const executor = this.#executor;
    if (core.mode === 'generate') {
      const response = await executor.generate(request, options);
      if (core.epoch !== epoch) throw abandoned();
      if (this.#settings.validate) validateResponse(response, this.#executorName);
      core.response = response;
      return;
    }
    if (!executor.stream) {
      const response = await executor.generate(request, options);
      if (this.#settings.validate) validateResponse(response, this.#executorName);
      core.stream = this.#observe(core, fromParts(responseToParts(response))[Symbol.asyncIterator](), undefined);
      return;
    }
    const iterator = executor.stream(request, options)[Symbol.asyncIterator]();
    // Wait for the first part so connection errors surface here, where retry and fallback see them.
    const first = await iterator.next();
    if (core.epoch !== epoch) {
      if (!first.done) void Promise.resolve(iterator.return?.()).catch(() => {});
      throw abandoned();
    }
    // Closable even before it is read, so discarding an unread stream ends the provider request.
    core.stream = closable(this.#observe(core, iterator, first), () => (first.done ? undefined : iterator.return?.()));
  }

  /** Emits chunk events and validates what the executor streamed once it ends. */
  async *#observe(
    core: CallCore,
    iterator: AsyncIterator<StreamPart>,
    first: IteratorResult<StreamPart> | undefined,
  ): AsyncGenerator<StreamPart> {
    const assembler = this.#settings.validate ? new ResponseAssembler() : undefined;
    let done = false;
    try {
      for (let result = first ?? (await iterator.next()); !result.done; result = await iterator.next()) {
        assembler?.add(result.value);
        if (this.#events.has('chunk')) this.#events.emit({ type: 'chunk', ...this.#base(core), part: result.value });
        yield result.value;
      }
      done = true;
      if (assembler) validateResponse(assembler.response(), this.#executorName);
    } catch (error) {
      done = true;
      throw error;
    } finally {
      if (!done) await iterator.return?.();
    }
  }

  #emitRequested(core: CallCore): void {
    if (this.#events.has('requested'))
      this.#events.emit({ type: 'requested', ...this.#base(core), request: core.request });
  }

  #base(core: CallCore) {
    return { callId: core.id, parentId: core.parentId, mode: core.mode, model: core.model };
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

/** Same errors as with layers: a non-Error becomes a MiddlewareError, an abort keeps its reason. */
function callError(thrown: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted && thrown === signal.reason ? thrown : toError(thrown, 'a middleware');
}

/** What the executor receives; fields are read lazily so an unused id is never generated. */
function abandoned(): MiddlewareError {
  return new MiddlewareError(
    'timeout',
    'This attempt was abandoned by a timeout before the executor answered; its late result is discarded.',
  );
}

class DispatchOptions implements ExecuteOptions {
  readonly #core: CallCore;
  constructor(core: CallCore) {
    this.#core = core;
  }
  /** A nested pipeline or a routing executor reports the model it used. */
  reportModel(model: string): void {
    this.#core.dispatchedModel = model;
  }
  get signal(): AbortSignal {
    return this.#core.signal;
  }
  get parentId(): string {
    return this.#core.id;
  }
  get run(): RunContext | undefined {
    return this.#core.run;
  }
}
