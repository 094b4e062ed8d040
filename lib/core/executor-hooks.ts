import type { ExecuteOptions, ExecutorHooks, ReadonlyModelRequest } from './executor.js';
import type { ModelResponse, StreamPart } from './messages.js';
import { ResponseAssembler } from './stream.js';

/**
 * One attempt of an executor that chose its model, with the caller's hooks called in order:
 * `onModelChosen` (its replacement request is what `call` receives), then `onCompleted` or
 * `onFailed` (the error is rethrown). Also reports the model through `reportModel`. For executors
 * that route or fall back internally (Koog's `executeWithHook`); set `callsHooks: true` on them.
 *
 * @example
 * async generate(request, options) {
 *   const chosen = { ...request, model: pickModel(request) };
 *   return executeWithHooks(options, chosen, 1, (sent) => provider.generate(sent, options));
 * }
 */
export async function executeWithHooks(
  options: ExecuteOptions | undefined,
  request: ReadonlyModelRequest,
  attempt: number,
  call: (request: ReadonlyModelRequest) => Promise<ModelResponse>,
): Promise<ModelResponse> {
  const hooks = options?.hooks;
  const sent = await chooseModel(options, request, attempt);
  if (!hooks || (!hooks.onCompleted && !hooks.onFailed)) return call(sent);
  const model = sent.model;
  let response: ModelResponse;
  try {
    response = await call(sent);
  } catch (error) {
    await hooks.onFailed?.({ model, request: sent, attempt, error });
    throw error;
  }
  await hooks.onCompleted?.({ model, request: sent, attempt, response });
  return response;
}

/**
 * The stream form of `executeWithHooks`: `onModelChosen` before `stream` is called, `onStreamPart`
 * per part, then `onCompleted` with the response assembled from the parts, or `onFailed`. A
 * consumer that stops early calls neither.
 *
 * @example
 * async *stream(request, options) {
 *   yield* streamWithHooks(options, { ...request, model: 'gpt-5-mini' }, 1, (sent) => provider.stream(sent, options));
 * }
 */
export async function* streamWithHooks(
  options: ExecuteOptions | undefined,
  request: ReadonlyModelRequest,
  attempt: number,
  stream: (request: ReadonlyModelRequest) => AsyncIterable<StreamPart>,
): AsyncGenerator<StreamPart, void, undefined> {
  const sent = await chooseModel(options, request, attempt);
  yield* hookedParts(options?.hooks, sent, attempt, stream(sent));
}

/** Reports the chosen model and runs `onModelChosen`: the request to send. */
async function chooseModel(
  options: ExecuteOptions | undefined,
  request: ReadonlyModelRequest,
  attempt: number,
): Promise<ReadonlyModelRequest> {
  const chosen = options?.hooks?.onModelChosen;
  const sent = chosen
    ? ((await chosen.call(options?.hooks, { model: request.model, request, attempt })) ?? request)
    : request;
  options?.reportModel?.(sent.model);
  return sent;
}

/** @internal The parts of one attempt, with `onStreamPart`, `onCompleted` and `onFailed` called around them. */
export async function* hookedParts(
  hooks: ExecutorHooks | undefined,
  request: ReadonlyModelRequest,
  attempt: number,
  parts: AsyncIterable<StreamPart>,
): AsyncGenerator<StreamPart, void, undefined> {
  if (!hooks || (!hooks.onStreamPart && !hooks.onCompleted && !hooks.onFailed)) {
    yield* parts;
    return;
  }
  const model = request.model;
  const assembler = hooks.onCompleted ? new ResponseAssembler() : undefined;
  try {
    for await (const part of parts) {
      assembler?.add(part);
      await hooks.onStreamPart?.({ model, request, attempt, part });
      yield part;
    }
  } catch (error) {
    await hooks.onFailed?.({ model, request, attempt, error });
    throw error;
  }
  if (assembler) await hooks.onCompleted?.({ model, request, attempt, response: assembler.response() });
}
