import type { ModelResponse, StreamPart } from './messages.js';

/**
 * What `app.stream()` returns: iterate it for the parts, or await `response` for the final
 * `ModelResponse` assembled from them. The call starts when you first iterate or read `response`;
 * it can be consumed once. Breaking out of `for await` cancels the provider request and runs every
 * layer's stream cleanup exactly once.
 */
export class ModelStream implements AsyncIterable<StreamPart> {
  readonly #source: (complete: (response: ModelResponse) => void) => AsyncGenerator<StreamPart, ModelResponse>;
  #iterator: AsyncGenerator<StreamPart, ModelResponse> | undefined;
  #response: Promise<ModelResponse> | undefined;
  #settle: { resolve(value: ModelResponse): void; reject(error: unknown): void } | undefined;
  #outcome: { ok: true; value: ModelResponse } | { ok: false; error: unknown } | undefined;

  /** @internal */
  constructor(source: (complete: (response: ModelResponse) => void) => AsyncGenerator<StreamPart, ModelResponse>) {
    this.#source = source;
  }

  /**
   * The final response. If nobody iterates the stream, reading this consumes it.
   */
  get response(): Promise<ModelResponse> {
    if (!this.#response) {
      const outcome = this.#outcome;
      this.#response = outcome
        ? outcome.ok
          ? Promise.resolve(outcome.value)
          : Promise.reject(outcome.error)
        : new Promise<ModelResponse>((resolve, reject) => {
            this.#settle = { resolve, reject };
          });
      // Awaiting `response` is optional when iterating: never leave an unhandled rejection behind.
      this.#response.catch(() => {});
      if (!this.#iterator) void this.#drain();
    }
    return this.#response;
  }

  /** Consumes the stream and returns the concatenated text deltas. */
  async text(): Promise<string> {
    let text = '';
    for await (const part of this) if (part.type === 'text-delta') text += part.text;
    return text;
  }

  async #drain(): Promise<void> {
    try {
      for await (const _ of this);
    } catch {
      // reported through `response`
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamPart> {
    if (this.#iterator) {
      throw new TypeError('This ModelStream was already consumed. Call app.stream() again for a new call.');
    }
    const settle = {
      resolve: (value: ModelResponse) => {
        this.#outcome ??= { ok: true, value };
        this.#settle?.resolve(value);
      },
      reject: (error: unknown) => {
        this.#outcome ??= { ok: false, error };
        this.#settle?.reject(error);
      },
    };
    // A consumer that stops after the `finish` part still gets its response.
    const iterator = this.#source(settle.resolve);
    this.#iterator = iterator;
    return {
      next: async () => {
        try {
          const result = await iterator.next();
          if (result.done) settle.resolve(result.value);
          return result.done ? { done: true, value: undefined } : result;
        } catch (error) {
          settle.reject(error);
          throw error;
        }
      },
      return: async () => {
        try {
          await iterator.return(undefined as never);
        } finally {
          settle.reject(new DOMException('The stream consumer stopped before the end.', 'AbortError'));
        }
        return { done: true, value: undefined };
      },
    };
  }
}
