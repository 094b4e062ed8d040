import type { CallCore, CoreSettings } from './call-core.js';
import type { RunContext } from './context.js';
import { MiddlewareError, toError, unwrapAbort } from './errors.js';
import type { EventHub } from './events.js';
import type { ExecuteOptions, Executor, InternalCall } from './executor.js';
import type { ModelResponse, StreamPart } from './messages.js';
import { ResponseAssembler, closable, executorStream } from './stream.js';
import { validateResponse } from './validate.js';

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

/** The innermost step of a pipeline's stack. */
export function dispatcher(env: CallEnv): (core: CallCore) => Promise<void> {
  return (core) => dispatch(env, core);
}

/** The innermost step: records the effective model and calls the executor. */
async function dispatch(env: CallEnv, core: CallCore): Promise<void> {
  const request = core.request;
  const epoch = core.epoch;
  core.dispatchedModel = request.model;
  core.reportModel?.(request.model);
  core.dispatches++;
  if (env.events.has('dispatched')) {
    env.events.emit({ type: 'dispatched', ...eventBase(core), request, attempt: core.dispatches });
  }
  const options = new DispatchOptions(core);
  const executor = env.executor;
  if (core.mode === 'generate') {
    const response = await executor.generate(request, options);
    if (core.epoch !== epoch) throw abandoned(core.abandonedBy);
    if (env.settings.validate) validateResponse(response, env.executorName);
    core.response = response;
    return;
  }
  const check = env.settings.validate
    ? (response: ModelResponse) => validateResponse(response, env.executorName)
    : undefined;
  const iterator = executorStream(executor, request, options, check)[Symbol.asyncIterator]();
  // Wait for the first part so connection errors surface here, where retry and fallback see them.
  const first = await iterator.next();
  if (core.epoch !== epoch) {
    if (!first.done) void Promise.resolve(iterator.return?.()).catch(() => {});
    throw abandoned(core.abandonedBy);
  }
  // Closable even before it is read, so discarding an unread stream ends the provider request.
  core.stream = closable(observe(env, core, iterator, first), () => (first.done ? undefined : iterator.return?.()));
}

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
  get internal(): InternalCall | undefined {
    return this.#core.internal;
  }
}
