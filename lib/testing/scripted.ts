import { ModelwareError } from '../core/errors.js';
import {
  describeValue,
  type ExecuteOptions,
  type Executor,
  type ExecutorCapabilities,
  type ReadonlyModelRequest,
} from '../core/executor.js';
import type { AssistantMessage, FinishReason, ModelResponse, StreamPart, Usage } from '../core/messages.js';
import { sleep } from '../internal/signals.js';
import { responseToParts } from '../core/stream.js';
import { validateResponse } from '../core/validate.js';
import { checkKeys, optionNames } from '../internal/options.js';

/** A scripted tool call; `id` defaults to `call_<n>`. */
export interface ScriptedToolCall {
  readonly id?: string | undefined;
  readonly name: string;
  readonly input?: unknown | undefined;
}

/** One scripted turn, in shorthand. */
export interface ScriptedReply {
  readonly text?: string | undefined;
  readonly reasoning?: string | undefined;
  readonly toolCalls?: readonly ScriptedToolCall[] | undefined;
  /** @default 'tool-calls' when there are tool calls, else 'stop' */
  readonly finishReason?: FinishReason | undefined;
  /** @default estimated: about one token per 4 characters */
  readonly usage?: Usage | undefined;
  /** The model the "provider" reports. @default the request's model */
  readonly model?: string | undefined;
  /** Delay before answering (abortable). Overrides the executor's `delayMs`. */
  readonly delayMs?: number | undefined;
}

/**
 * A step of the script: a text reply, a shorthand reply, a full `ModelResponse`, an `Error` to
 * throw, or a function of the request returning any of these.
 */
export type ScriptStep =
  | string
  | ScriptedReply
  | ModelResponse
  | Error
  | ((request: ReadonlyModelRequest, call: number) => ScriptStep | Promise<ScriptStep>);

export interface ScriptedExecutorOptions {
  /** @default 'scripted' */
  readonly name?: string | undefined;
  /** Delay before each answer, in ms; abortable through the signal. @default 0 */
  readonly delayMs?: number | undefined;
  /** Characters per text delta when streaming. @default 8 */
  readonly chunkSize?: number | undefined;
  /** Delay between streamed parts, in ms. @default 0 */
  readonly chunkDelayMs?: number | undefined;
  /** What to do when the script runs out. @default 'throw' */
  readonly whenDone?: 'throw' | 'repeat-last' | 'cycle' | undefined;
  /** Offer `stream()`; without it, pipelines replay `generate()` as parts. @default true */
  readonly streaming?: boolean | undefined;
  /**
   * The capabilities to report (`executor.capabilities`), to test layers that rely on them, e.g.
   * `{ responseFormat: 'schema' }`; the script's answers do not change. @default undefined (none)
   */
  readonly capabilities?: ExecutorCapabilities | undefined;
}

/** One call the scripted executor received. */
export interface RecordedCall {
  readonly mode: 'generate' | 'stream';
  /** The request exactly as the executor received it (same object). */
  readonly request: ReadonlyModelRequest;
  readonly signal: AbortSignal | undefined;
  readonly parentId: string | undefined;
}

export interface ScriptedExecutor extends Executor {
  readonly name: string;
  /** Every call received, in order. */
  readonly calls: readonly RecordedCall[];
  /** Streams started but not yet finished or cleaned up (0 once every stream was closed). */
  readonly openStreams: number;
  /** Times a stream's cleanup ran (finished, failed, aborted or broken out of). */
  readonly closedStreams: number;
  generate(request: ReadonlyModelRequest, options?: ExecuteOptions): Promise<ModelResponse>;
  stream(request: ReadonlyModelRequest, options?: ExecuteOptions): AsyncIterable<StreamPart>;
}

const OPTION_KEYS = optionNames<ScriptedExecutorOptions>({
  name: true,
  delayMs: true,
  chunkSize: true,
  chunkDelayMs: true,
  whenDone: true,
  streaming: true,
  capabilities: true,
});

/**
 * An executor that answers from a script and records every call: for testing middleware, and the
 * model behind the offline examples.
 *
 * @example
 * const model = scriptedExecutor(['Hello!', { toolCalls: [{ name: 'search', input: { q: 'x' } }] }]);
 */
export function scriptedExecutor(
  script: readonly ScriptStep[],
  options: ScriptedExecutorOptions = {},
): ScriptedExecutor {
  checkKeys('scriptedExecutor()', options, OPTION_KEYS);
  const {
    name = 'scripted',
    delayMs = 0,
    chunkSize = 8,
    chunkDelayMs = 0,
    whenDone = 'throw',
    streaming = true,
    capabilities,
  } = options;
  if (!Array.isArray(script))
    throw new TypeError(`scriptedExecutor(): expected an array of steps, got ${describeValue(script)}.`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new TypeError(
      `scriptedExecutor(): expected \`chunkSize\` to be a positive integer, got ${describeValue(chunkSize)}.`,
    );
  }
  const calls: RecordedCall[] = [];
  let open = 0;
  let closed = 0;

  // `index` is fixed when the call is made, not when a stream is first read, so streams created
  // before any is iterated still take their own steps.
  async function respond(
    request: ReadonlyModelRequest,
    signal: AbortSignal | undefined,
    index: number,
  ): Promise<ModelResponse> {
    let step = pick(index);
    while (typeof step === 'function') step = await step(request, index);
    signal?.throwIfAborted();
    const own = typeof step === 'object' && step !== null && 'delayMs' in step ? step.delayMs : undefined;
    const wait = typeof own === 'number' ? own : delayMs;
    if (wait > 0) await sleep(wait, signal);
    if (step instanceof Error) throw step;
    return toResponse(step, request, index);
  }

  function pick(index: number): ScriptStep {
    if (index < script.length) return script[index] as ScriptStep;
    if (script.length > 0 && whenDone === 'repeat-last') return script[script.length - 1] as ScriptStep;
    if (script.length > 0 && whenDone === 'cycle') return script[index % script.length] as ScriptStep;
    throw new ModelwareError(
      `scriptedExecutor \`${name}\`: no step left for call #${index + 1} (the script has ${script.length}). Add steps, or pass whenDone: 'repeat-last' or 'cycle'.`,
    );
  }

  const executor: ScriptedExecutor = {
    name,
    ...(capabilities !== undefined && { capabilities }),
    calls,
    get openStreams() {
      return open;
    },
    get closedStreams() {
      return closed;
    },
    async generate(request, callOptions) {
      const index = calls.push(record('generate', request, callOptions)) - 1;
      return respond(request, callOptions?.signal, index);
    },
    stream(request, callOptions) {
      const signal = callOptions?.signal;
      const index = calls.push(record('stream', request, callOptions)) - 1;
      return (async function* () {
        open++;
        try {
          const response = await respond(request, signal, index);
          // A malformed step fails as generate() does through a pipeline, not deep inside the parts.
          validateResponse(response, name);
          for (const part of splitParts(responseToParts(response), chunkSize)) {
            if (chunkDelayMs > 0) await sleep(chunkDelayMs, signal);
            signal?.throwIfAborted();
            yield part;
          }
        } finally {
          open--;
          closed++;
        }
      })();
    },
  };
  if (!streaming) return { ...executor, stream: undefined } as unknown as ScriptedExecutor;
  return executor;
}

function record(
  mode: 'generate' | 'stream',
  request: ReadonlyModelRequest,
  options: ExecuteOptions | undefined,
): RecordedCall {
  return { mode, request, signal: options?.signal, parentId: options?.parentId };
}

function isResponse(step: object): step is ModelResponse {
  return 'message' in step && 'finishReason' in step;
}

function toResponse(
  step: Exclude<ScriptStep, Error | ((...args: never[]) => unknown)>,
  request: ReadonlyModelRequest,
  index: number,
): ModelResponse {
  if (typeof step === 'object' && isResponse(step)) return step;
  const reply: ScriptedReply = typeof step === 'string' ? { text: step } : step;
  const content: Exclude<AssistantMessage['content'], string> = [];
  if (reply.reasoning) content.push({ type: 'reasoning', text: reply.reasoning });
  if (reply.text) content.push({ type: 'text', text: reply.text });
  reply.toolCalls?.forEach((call, i) => {
    content.push({
      type: 'tool-call',
      toolCallId: call.id ?? `call_${index + 1}_${i + 1}`,
      toolName: call.name,
      input: call.input ?? {},
    });
  });
  const onlyText = content.length === 1 && content[0]?.type === 'text';
  return {
    // An empty reply is '' (what providers send and what a stream assembles to), not [].
    message: { role: 'assistant', content: onlyText ? (reply.text as string) : content.length === 0 ? '' : content },
    finishReason: reply.finishReason ?? (reply.toolCalls?.length ? 'tool-calls' : 'stop'),
    usage: reply.usage ?? estimateUsage(request, reply),
    model: reply.model ?? request.model,
  };
}

function estimateUsage(request: ReadonlyModelRequest, reply: ScriptedReply): Usage {
  let chars = 0;
  for (const m of request.messages)
    chars += typeof m.content === 'string' ? m.content.length : JSON.stringify(m.content).length;
  const out =
    (reply.text?.length ?? 0) + (reply.reasoning?.length ?? 0) + JSON.stringify(reply.toolCalls ?? []).length - 2;
  const inputTokens = Math.ceil(chars / 4);
  const outputTokens = Math.ceil(out / 4);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}

function* splitParts(parts: readonly StreamPart[], size: number): Generator<StreamPart> {
  for (const part of parts) {
    if (part.type === 'text-delta' || part.type === 'reasoning-delta') {
      for (let i = 0; i < part.text.length; i += size) yield { ...part, text: part.text.slice(i, i + size) };
    } else if (part.type === 'tool-call') {
      const json = JSON.stringify(part.input);
      for (let i = 0; i < json.length; i += size) {
        yield {
          type: 'tool-call-delta',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          inputDelta: json.slice(i, i + size),
        };
      }
      yield part;
    } else {
      yield part;
    }
  }
}
