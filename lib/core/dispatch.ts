import type { CallCore, CoreSettings, LayerHooks } from './call-core.js';
import type { RunContext } from './context.js';
import { MiddlewareError, layerError, toError, unwrapAbort } from './errors.js';
import type { EventHub } from './events.js';
import type {
  ExecuteOptions,
  Executor,
  ExecutorAttempt,
  ExecutorHooks,
  InternalCall,
  ReadonlyModelRequest,
} from './executor.js';
import { hookedParts } from './executor-hooks.js';
import type { ModelResponse, StreamPart } from './messages.js';
import { ResponseAssembler, closable, discardStream, executorStream } from './stream.js';
import { validateRequest, validateResponse } from './validate.js';
import { type CallObserver, notify, onDispatch } from './observe.js';

/** What every call of one pipeline shares. */
export interface CallEnv {
  readonly settings: CoreSettings;
  readonly events: EventHub;
  readonly executor: Executor;
  readonly executorName: string;
}

/** The fields every lifecycle event of a call carries. */
export function eventBase(core: CallCore) {
  const base = { callId: core.id, parentId: core.parentId, mode: core.mode, model: core.model };
  // Only when set: the user's traffic keeps its events' shape.
  return core.internal ? { ...base, internal: core.internal } : base;
}

export function emitRequested(events: EventHub, core: CallCore): void {
  if (events.has('requested')) events.emit({ type: 'requested', ...eventBase(core), request: core.request });
}

export function emitCompleted(events: EventHub, core: CallCore, response: ModelResponse, started: number): void {
  if (events.has('completed')) {
    events.emit({ type: 'completed', ...eventBase(core), response, durationMs: performance.now() - started });
  }
}

/** The one place a call reports `failed` (generate, stream, and a stream its consumer abandoned). */
export function emitFailed(events: EventHub, core: CallCore, error: unknown, started: number): void {
  if (events.has('failed')) {
    events.emit({ type: 'failed', ...eventBase(core), error, durationMs: performance.now() - started });
  }
}

/**
 * What a failed call rejects with, the same on every path: an abort keeps its reason, any other
 * non-Error is wrapped in a MiddlewareError.
 */
export function callError(thrown: unknown, signal: AbortSignal | undefined): unknown {
  const reason = unwrapAbort(thrown, signal);
  return signal?.aborted && reason === signal.reason ? reason : toError(reason, 'a middleware');
}

/**
 * The innermost step of a pipeline's stack. A non-Error the executor throws is named after the
 * executor (not blamed on the innermost layer). Not an async function: the common case (generate
 * mode, no executor hooks) is one promise reaction on the executor's promise.
 */
export function dispatcher(env: CallEnv): (core: CallCore) => Promise<void> {
  const named = (thrown: unknown): never => {
    throw layerError(thrown, env.executorName, `the executor \`${env.executorName}\``);
  };
  return (core) => {
    try {
      if (core.observers !== undefined) return observedDispatch(env, core, core.observers).catch(named);
      if (core.mode === 'generate' && core.hooks === undefined && core.layerHooks === undefined) {
        if (!env.executor.callsHooks) return plainGenerate(env, core, named);
      }
      return dispatch(env, core).catch(named);
    } catch (thrown) {
      return Promise.reject(layerError(thrown, env.executorName, `the executor \`${env.executorName}\``));
    }
  };
}

/** Counts an attempt at the executor and tells `dispatched` listeners which request it sends. */
function countDispatch(env: CallEnv, core: CallCore, request: ReadonlyModelRequest): void {
  core.dispatches++;
  if (env.events.has('dispatched')) {
    env.events.emit({ type: 'dispatched', ...eventBase(core), request, attempt: core.dispatches });
  }
}

/**
 * `dispatch` for the common case, as a promise chain: generate mode, no executor hooks, an executor
 * that does not choose the model. `named` is the pipeline's own handler for what the executor throws.
 */
function plainGenerate(env: CallEnv, core: CallCore, named: (thrown: unknown) => never): Promise<void> {
  const request = core.request;
  core.dispatchedModel = request.model;
  core.reportModel?.(request.model);
  countDispatch(env, core, request);
  const epoch = core.epoch;
  const pending = env.executor.generate(request, new ExecutorCallOptions(core));
  // An executor that returns a plain value (not a promise) still works, as `await` allowed.
  return (pending instanceof Promise ? pending : Promise.resolve(pending)).then((response: ModelResponse) => {
    if (core.epoch !== epoch) throw abandoned(core.abandonedBy);
    if (env.settings.validate) validateResponse(response, env.executorName);
    core.response = response;
  }, named);
}

/** `dispatch` for a call someone observes: reports the start, the end and (stream mode) the end of the parts. */
async function observedDispatch(env: CallEnv, core: CallCore, observers: readonly CallObserver[]): Promise<void> {
  const request = core.request;
  const number = core.dispatches + 1;
  notify(observers, onDispatch, { phase: 'start', request, model: request.model, dispatch: number });
  try {
    await dispatch(env, core);
  } catch (error) {
    notify(observers, onDispatch, {
      phase: 'end',
      request,
      model: core.model.resolved,
      dispatch: number,
      error: error ?? null,
    });
    throw error;
  }
  const model = core.model.resolved;
  if (core.mode === 'generate') {
    notify(observers, onDispatch, { phase: 'end', request, model, dispatch: number, response: core.response });
    return;
  }
  notify(observers, onDispatch, { phase: 'end', request, model, dispatch: number });
  const inner = core.stream as AsyncIterable<StreamPart>;
  core.stream = closable(
    assembled(inner, (response, error) => {
      const end = error === undefined ? { response } : { response, error };
      notify(observers, onDispatch, {
        phase: 'stream_end',
        request,
        model: core.model.resolved,
        dispatch: number,
        ...end,
      });
    }),
    () => discardStream(inner),
  );
}

/** Passes the parts through and reports the response they assemble to (or the error) once they end. */
async function* assembled(
  source: AsyncIterable<StreamPart>,
  report: (response: ModelResponse | undefined, error?: unknown) => void,
): AsyncGenerator<StreamPart> {
  const assembler = new ResponseAssembler();
  let finished = false;
  try {
    for await (const part of source) {
      assembler.add(part);
      yield part;
    }
    finished = true;
    report(assembler.response());
  } catch (error) {
    finished = true;
    report(undefined, error ?? null);
    throw error;
  } finally {
    if (!finished) report(undefined);
  }
}

/** The innermost step: records the effective model and calls the executor. */
async function dispatch(env: CallEnv, core: CallCore): Promise<void> {
  const executor = env.executor;
  if (executor.callsHooks)
    return dispatchTo(env, core, core.request, new ExecutorCallOptions(core, new CallHooks(env, core)));
  if (core.hooks === undefined && core.layerHooks === undefined) {
    const request = core.request;
    core.dispatchedModel = request.model;
    core.reportModel?.(request.model);
    countDispatch(env, core, request);
    return dispatchTo(env, core, request, new ExecutorCallOptions(core));
  }
  // The executor does not choose: this dispatch is where the model is chosen (`request.model`),
  // so it plays the routing executor's part for the caller's hooks and the layers' ones.
  const hooks = new CallHooks(env, core);
  const attempt = core.dispatches + 1;
  const epoch = core.epoch;
  const request = await hooks.onModelChosen({ model: core.request.model, request: core.request, attempt });
  if (core.epoch !== epoch) throw abandoned(core.abandonedBy);
  return dispatchTo(env, core, request, new ExecutorCallOptions(core), hooks, attempt);
}

async function dispatchTo(
  env: CallEnv,
  core: CallCore,
  request: ReadonlyModelRequest,
  options: ExecutorCallOptions,
  hooks?: CallHooks,
  attempt = 0,
): Promise<void> {
  const epoch = core.epoch;
  const executor = env.executor;
  if (core.mode === 'generate') {
    let response: ModelResponse;
    try {
      response = await executor.generate(request, options);
    } catch (error) {
      if (hooks) await hooks.onFailed({ model: request.model, request, attempt, error });
      throw error;
    }
    if (core.epoch !== epoch) throw abandoned(core.abandonedBy);
    if (env.settings.validate) validateResponse(response, env.executorName);
    if (hooks) await hooks.onCompleted({ model: request.model, request, attempt, response });
    core.response = response;
    return;
  }
  const check = env.settings.validate
    ? (response: ModelResponse) => validateResponse(response, env.executorName)
    : undefined;
  const parts = executorStream(executor, request, options, check);
  const iterator = (hooks ? hookedParts(hooks, request, attempt, parts) : parts)[Symbol.asyncIterator]();
  // Wait for the first part so connection errors surface here, where retry and fallback see them.
  const first = await iterator.next();
  if (core.epoch !== epoch) {
    if (!first.done) void Promise.resolve(iterator.return?.()).catch(() => {});
    throw abandoned(core.abandonedBy);
  }
  // Closable even before it is read, so discarding an unread stream ends the provider request.
  core.stream = closable(observe(env, core, iterator, first), () => (first.done ? undefined : iterator.return?.()));
}

/**
 * The hooks a pipeline hands its executor (or calls itself when the executor does not choose):
 * each records the effective model and runs the caller's hooks and the layers' ones, outermost
 * first on the way in, innermost first on the way out; `onModelChosen` then emits `dispatched`.
 */
class CallHooks implements Required<ExecutorHooks> {
  constructor(
    readonly env: CallEnv,
    readonly core: CallCore,
  ) {}

  async onModelChosen(event: ExecutorAttempt): Promise<ReadonlyModelRequest> {
    const { core, env } = this;
    let request = event.request;
    core.dispatchedModel = request.model;
    core.reportModel?.(request.model);
    const outer = core.hooks;
    if (outer?.onModelChosen) {
      request = (await outer.onModelChosen({ ...event, model: request.model, request })) ?? request;
      core.dispatchedModel = request.model;
    }
    for (const entry of core.layerHooks ?? NONE) {
      if (!entry.hooks.onModelChosen) continue;
      const replaced = await entry.hooks.onModelChosen({ ...event, model: request.model, request });
      if (replaced === undefined || replaced === request) continue;
      if (env.settings.validate) validateRequest(replaced, entry.layer);
      request = replaced;
      core.dispatchedModel = request.model;
    }
    countDispatch(env, core, request);
    return request;
  }

  async onModelChoiceFailed(event: Parameters<NonNullable<ExecutorHooks['onModelChoiceFailed']>>[0]): Promise<void> {
    for (const hooks of this.#inward()) await hooks.onModelChoiceFailed?.(event);
  }

  async onCompleted(event: ExecutorAttempt & { readonly response: ModelResponse }): Promise<void> {
    for (const hooks of this.#outward()) await hooks.onCompleted?.(event);
  }

  async onFailed(event: ExecutorAttempt & { readonly error: unknown }): Promise<void> {
    for (const hooks of this.#outward()) await hooks.onFailed?.(event);
  }

  async onStreamPart(event: ExecutorAttempt & { readonly part: StreamPart }): Promise<void> {
    for (const hooks of this.#outward()) await hooks.onStreamPart?.(event);
  }

  /** The caller's hooks, then the layers' in `use()` order. */
  *#inward(): Generator<ExecutorHooks> {
    if (this.core.hooks) yield this.core.hooks;
    for (const entry of this.core.layerHooks ?? NONE) yield entry.hooks;
  }

  /** The layers' hooks innermost first, then the caller's. */
  *#outward(): Generator<ExecutorHooks> {
    const layers = this.core.layerHooks ?? NONE;
    for (let i = layers.length - 1; i >= 0; i--) yield (layers[i] as LayerHooks).hooks;
    if (this.core.hooks) yield this.core.hooks;
  }
}

const NONE: readonly LayerHooks[] = [];

/** Emits chunk events and validates what the executor streamed once it ends. */
async function* observe(
  env: CallEnv,
  core: CallCore,
  iterator: AsyncIterator<StreamPart>,
  first: IteratorResult<StreamPart> | undefined,
): AsyncGenerator<StreamPart> {
  const assembler = env.settings.validate ? new ResponseAssembler() : undefined;
  let done = false;
  try {
    for (let result = first ?? (await iterator.next()); !result.done; result = await iterator.next()) {
      assembler?.add(result.value);
      if (env.events.has('chunk')) env.events.emit({ type: 'chunk', ...eventBase(core), part: result.value });
      yield result.value;
    }
    done = true;
    if (assembler) validateResponse(assembler.response(), env.executorName);
  } catch (error) {
    done = true;
    throw error;
  } finally {
    if (!done) await iterator.return?.();
  }
}

function abandoned(layer: string): MiddlewareError {
  return new MiddlewareError(
    layer,
    `This attempt was abandoned by \`${layer}\` before the executor answered; its late result is discarded.`,
  );
}

/** What the executor receives; fields are read lazily so an unused id is never generated. */
class ExecutorCallOptions implements ExecuteOptions {
  readonly #core: CallCore;
  /** Only for executors that choose the model (`callsHooks`): the others never see them. */
  readonly hooks: ExecutorHooks | undefined;
  constructor(core: CallCore, hooks?: ExecutorHooks) {
    this.#core = core;
    this.hooks = hooks;
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
  get internal(): InternalCall | undefined {
    return this.#core.internal;
  }
}
