import type { ExecuteOptions, Executor, ReadonlyModelRequest } from './executor.js';
import type { AssistantMessage, CallWarning, FinishReason, ModelResponse, StreamPart, Usage } from './messages.js';

type AssistantPart = Exclude<AssistantMessage['content'], string>[number];

/**
 * Builds the final `ModelResponse` from stream parts, so observers see the same shape for
 * `generate()` and `stream()`. Consecutive text (or reasoning) deltas merge into one part.
 */
export class ResponseAssembler {
  private readonly parts: AssistantPart[] = [];
  private finishReason: FinishReason | undefined;
  private usage: Usage | undefined;
  private model: string | undefined;
  private warnings: CallWarning[] | undefined;
  private sawToolCall = false;

  add(part: StreamPart): void {
    switch (part.type) {
      case 'text-delta':
      case 'reasoning-delta': {
        // The accumulating part is ours until response() copies it: append in place rather than
        // allocating a new part per delta.
        const type = part.type === 'text-delta' ? 'text' : 'reasoning';
        const last = this.parts[this.parts.length - 1] as
          | { type: string; text: string; signature?: string }
          | undefined;
        if (last !== undefined && last.type === type) last.text += part.text;
        else this.parts.push({ type, text: part.text } as AssistantPart);
        if (part.type === 'reasoning-delta') {
          const reasoning = this.parts[this.parts.length - 1] as { signature?: string; providerMetadata?: object };
          if (part.signature !== undefined) reasoning.signature = part.signature;
          if (part.providerMetadata !== undefined) reasoning.providerMetadata = part.providerMetadata;
        }
        return;
      }
      case 'tool-call':
        this.sawToolCall = true;
        this.parts.push({ type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
        return;
      case 'finish':
        this.finishReason = part.finishReason;
        if (part.usage) this.usage = part.usage;
        if (part.model !== undefined) this.model = part.model;
        if (part.warnings !== undefined) this.warnings = part.warnings;
        return;
      default:
        return;
    }
  }

  response(): ModelResponse {
    const onlyText = this.parts.length === 1 && this.parts[0]?.type === 'text';
    const content =
      this.parts.length === 0
        ? ''
        : onlyText
          ? (this.parts[0] as { text: string }).text
          : this.parts.map((p) => (p.type === 'tool-call' ? p : { ...p }));
    const response: ModelResponse = {
      message: { role: 'assistant', content },
      finishReason: this.finishReason ?? (this.sawToolCall ? 'tool-calls' : 'other'),
    };
    if (this.usage) response.usage = this.usage;
    if (this.model !== undefined) response.model = this.model;
    if (this.warnings !== undefined) response.warnings = this.warnings;
    return response;
  }
}

/**
 * How many characters a part adds to a buffer holding the stream back: its text, its argument
 * delta, or its tool input as JSON. For the `maxBufferedChars` bounds of the layers that buffer.
 */
export function partChars(part: StreamPart): number {
  switch (part.type) {
    case 'text-delta':
    case 'reasoning-delta':
      return part.text.length;
    case 'tool-call-delta':
      return part.inputDelta.length;
    case 'tool-call':
      return (JSON.stringify(part.input) ?? '').length;
    default:
      return 0;
  }
}

export function assemble(parts: Iterable<StreamPart>): ModelResponse {
  const assembler = new ResponseAssembler();
  for (const part of parts) assembler.add(part);
  return assembler.response();
}

/** The parts that would have streamed this response: used for short-circuits and generate-only executors. */
export function responseToParts(response: ModelResponse): StreamPart[] {
  const parts: StreamPart[] = [];
  const { content } = response.message;
  if (typeof content === 'string') {
    if (content) parts.push({ type: 'text-delta', text: content });
  } else {
    for (const part of content) {
      if (part.type === 'text') parts.push({ type: 'text-delta', text: part.text });
      else if (part.type === 'reasoning') {
        const delta: StreamPart = { type: 'reasoning-delta', text: part.text };
        if (part.signature !== undefined) delta.signature = part.signature;
        if (part.providerMetadata !== undefined) delta.providerMetadata = part.providerMetadata;
        parts.push(delta);
      } else parts.push({ type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
    }
  }
  const finish: StreamPart = { type: 'finish', finishReason: response.finishReason };
  if (response.usage) finish.usage = response.usage;
  if (response.model !== undefined) finish.model = response.model;
  if (response.warnings !== undefined) finish.warnings = response.warnings;
  parts.push(finish);
  return parts;
}

export async function* fromParts(parts: readonly StreamPart[]): AsyncGenerator<StreamPart> {
  for (const part of parts) yield part;
}

/**
 * The executor's stream or, for a generate-only executor, `generate()`'s answer replayed as the
 * parts that would have streamed it (`generate` runs at the first `next()`). `check` sees that
 * answer before any part is yielded, so a bad one fails where the first part would have.
 */
export function executorStream(
  executor: Executor,
  request: ReadonlyModelRequest,
  options?: ExecuteOptions,
  check?: (response: ModelResponse) => void,
): AsyncIterable<StreamPart> {
  return executor.stream ? executor.stream(request, options) : generateAsParts(executor, request, options, check);
}

async function* generateAsParts(
  executor: Executor,
  request: ReadonlyModelRequest,
  options: ExecuteOptions | undefined,
  check: ((response: ModelResponse) => void) | undefined,
): AsyncGenerator<StreamPart> {
  const response = await executor.generate(request, options);
  check?.(response);
  yield* responseToParts(response);
}

/** Observes a stream part by part; see `Context.tapStream`. */
export interface StreamObserver {
  /** Called for every part, in order. */
  readonly onPart?: ((part: StreamPart) => void | Promise<void>) | undefined;
  /**
   * Called once with the response assembled from every part this layer saw, when the stream ends
   * or when the consumer stops after the `finish` part (it then has the whole answer).
   */
  readonly onFinish?: ((response: ModelResponse) => void | Promise<void>) | undefined;
  /** Called once if the stream fails (not when the consumer stops early). */
  readonly onError?: ((error: unknown) => void | Promise<void>) | undefined;
  /** Called exactly once when the stream ends for any reason: finished, failed, broken out of or aborted. */
  readonly onClose?: (() => void) | undefined;
}

/**
 * Makes `return()` work before the first `next()`: an unstarted async generator skips its
 * `finally`, so a stream that a layer wrapped but nobody read (a layer failed after `next()`, a
 * replay discarded the attempt) would never run its cleanup nor close the stream it wraps.
 */
export function closable<T>(generator: AsyncGenerator<T>, cleanup: () => unknown): AsyncIterableIterator<T> {
  let started = false;
  return {
    next() {
      started = true;
      return generator.next();
    },
    async return(value?: unknown) {
      if (started) return generator.return(value);
      started = true;
      await generator.return(value);
      await cleanup();
      return { done: true, value };
    },
    throw(error?: unknown) {
      started = true;
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Closes a stream that will not be read, so every layer's cleanup runs once and the provider request ends. */
export async function discardStream(stream: AsyncIterable<StreamPart> | undefined): Promise<void> {
  if (!stream) return;
  try {
    await stream[Symbol.asyncIterator]().return?.();
  } catch {
    // Whoever discards is already handling a failure or an answer of its own.
  }
}

export function tapParts(
  source: AsyncIterable<StreamPart>,
  observer: StreamObserver,
): AsyncIterableIterator<StreamPart> {
  return closable(tapGenerator(source, observer), async () => {
    await discardStream(source);
    observer.onClose?.();
  });
}

async function* tapGenerator(source: AsyncIterable<StreamPart>, observer: StreamObserver): AsyncGenerator<StreamPart> {
  const assembler = observer.onFinish ? new ResponseAssembler() : undefined;
  // A consumer that stops once the `finish` part is out has the whole answer: that is completion.
  let finished = false;
  let ended = false;
  try {
    for await (const part of source) {
      assembler?.add(part);
      if (observer.onPart) await observer.onPart(part);
      if (part.type === 'finish') finished = true;
      yield part;
    }
    ended = true;
    if (assembler && observer.onFinish) await observer.onFinish(assembler.response());
  } catch (error) {
    ended = true;
    if (observer.onError) await observer.onError(error);
    throw error;
  } finally {
    try {
      if (!ended && finished && assembler && observer.onFinish) await observer.onFinish(assembler.response());
    } finally {
      observer.onClose?.();
    }
  }
}

export type PartMapper = (part: StreamPart) => StreamPart | readonly StreamPart[] | null | undefined;

export function mapParts(source: AsyncIterable<StreamPart>, fn: PartMapper): AsyncIterableIterator<StreamPart> {
  return closable(mapGenerator(source, fn), () => discardStream(source));
}

async function* mapGenerator(source: AsyncIterable<StreamPart>, fn: PartMapper): AsyncGenerator<StreamPart> {
  for await (const part of source) {
    const out = fn(part);
    if (out == null) continue;
    if (Array.isArray(out)) yield* out as readonly StreamPart[];
    else yield out as StreamPart;
  }
}

/** An async stream transform for `Context.wrapStream`: the parts from inside in, the parts to send out. */
export type StreamTransform = (source: AsyncIterable<StreamPart>) => AsyncIterable<StreamPart>;

/**
 * `fn` applied to `source`, closable before its first part: an async generator is wrapped like
 * every built-in wrapper (its `finally` runs, then `source` is closed); any other iterator's
 * `return()` is called, then `source` is closed in case it did not.
 */
export function transformParts(
  source: AsyncIterable<StreamPart>,
  fn: StreamTransform,
): AsyncIterableIterator<StreamPart> {
  const out = fn(source);
  if (Object.prototype.toString.call(out) === '[object AsyncGenerator]') {
    return closable(out as AsyncGenerator<StreamPart>, () => discardStream(source));
  }
  const iterator = out[Symbol.asyncIterator]();
  let closed = false;
  return {
    next: () => iterator.next(),
    async return(value?: unknown) {
      if (!closed) {
        closed = true;
        try {
          await iterator.return?.(value);
        } finally {
          await discardStream(source);
        }
      }
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
