import { CallCore } from './call-core.js';
import type { RunContext } from './context.js';
import { type CallEnv, callError, emitCompleted, emitFailed, emitRequested } from './dispatch.js';
import type { MiddlewareError } from './errors.js';
import type { ExecuteOptions, ReadonlyModelRequest } from './executor.js';
import type { ModelResponse, StreamPart } from './messages.js';
import { ResponseAssembler, discardStream, fromParts, responseToParts } from './stream.js';
import { forwardAbort } from '../internal/signals.js';
import { validateRequest } from './validate.js';

export interface StreamEnv extends CallEnv {
  readonly stack: () => (core: CallCore) => Promise<void>;
  readonly noResponse: (core: CallCore) => MiddlewareError;
  /** Names the layer a non-Error (or koa-compose's second-`next()` rejection) came from; see `settledError`. */
  readonly blame: (core: CallCore, thrown: unknown) => unknown;
}

/**
 * One call in stream mode: runs the stack, then hands the parts to the consumer, assembling the final
 * response; cancels the provider request and unwinds every layer's stream when the consumer stops.
 */
export async function* streamPipelineCall(
  env: StreamEnv,
  request: ReadonlyModelRequest,
  options: ExecuteOptions | undefined,
  onComplete?: (response: ModelResponse) => void,
): AsyncGenerator<StreamPart, ModelResponse> {
  if (env.settings.validate) validateRequest(request, 'caller');
  const outer = options?.signal;
  outer?.throwIfAborted();
  // Our own controller, so that a consumer who stops early cancels the provider request.
  const controller = new AbortController();
  const detach = forwardAbort(outer, controller);
  const core = new CallCore(
    env.settings,
    request,
    'stream',
    controller.signal,
    options?.parentId,
    options?.run as RunContext,
  );
  core.reportModel = options?.reportModel?.bind(options);
  core.hooks = options?.hooks;
  if (env.executor.capabilities) core.capabilities = env.executor.capabilities;
  core.internal = options?.internal;
  const started = env.events.count > 0 ? performance.now() : 0;
  emitRequested(env.events, core);
  let iterator: AsyncIterator<StreamPart> | undefined;
  let settled = false;
  // True once the source itself has ended or failed; until then it holds resources to release.
  let sourceEnded = false;
  // True once the `finish` part reached the consumer: stopping after it is completion, not abandon.
  let finished = false;
  const assembler = new ResponseAssembler();
  try {
    await env.stack()(core);
    const source = core.stream ?? (core.response ? fromParts(responseToParts(core.response)) : undefined);
    if (!source) throw env.noResponse(core);
    iterator = source[Symbol.asyncIterator]();
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
      if (result.value.type === 'finish') finished = true;
      yield result.value;
    }
    settled = true;
    const response = assembler.response();
    core.response = response;
    emitCompleted(env.events, core, response, started);
    return response;
  } catch (thrown) {
    settled = true;
    const signal = controller.signal;
    const error = callError(await env.blame(core, thrown), signal);
    emitFailed(env.events, core, error, started);
    throw error;
  } finally {
    detach();
    // A layer that failed after next() left the stream unread: close it (and each layer's tap).
    if (iterator === undefined) await discardStream(core.stream);
    if (iterator !== undefined && !sourceEnded && !settled && finished) {
      // The consumer stopped after the `finish` part: it has the whole answer. Close every layer's
      // stream without aborting first, so their taps count the call as complete (usage, cache).
      settled = true;
      try {
        await iterator.return?.();
      } catch {
        // The caller has its answer; a failing cleanup must not replace it.
      }
      const response = assembler.response();
      core.response = response;
      emitCompleted(env.events, core, response, started);
      onComplete?.(response);
    } else if (iterator !== undefined && !sourceEnded) {
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
    if (!settled) emitFailed(env.events, core, controller.signal.reason, started);
  }
}
