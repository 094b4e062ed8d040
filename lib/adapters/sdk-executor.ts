// What the SDK executors (openaiExecutor, openaiResponsesExecutor, anthropicExecutor) do alike.
import { ProviderError } from '../core/errors.js';
import { assertModelOption } from '../core/executor.js';
import type { StreamPart } from '../core/messages.js';
import { checkKeys } from '../internal/options.js';
import { type CoreFields, assertBody, assertClient } from './content.js';
import { fromSdkError } from './provider-errors.js';

/** How an SDK executor's factory checks the options every SDK executor has. */
export interface SdkOptionRules {
  /** Every option name the factory knows (`optionNames<...>()`). */
  readonly keys: readonly string[];
  /** The client method the executor calls, e.g. `['chat', 'completions', 'create']`. */
  readonly method: readonly string[];
  /** How to make a client, for the message, e.g. `'new OpenAI({ apiKey })'`. */
  readonly example: string;
  /** The body fields the executor fills from the request; `body` may not set them. */
  readonly core: CoreFields;
}

/**
 * Checks, in this order, the option keys and the options every SDK executor has: `client` (has the
 * method), `body` (an object without core fields) and `model` (absent or a non-empty id). Each
 * failure is a `TypeError` that starts with `where`.
 */
export function checkSdkOptions(where: string, options: unknown, rules: SdkOptionRules): void {
  checkKeys(where, options, rules.keys);
  const { client, body, model } = (options ?? {}) as { client?: unknown; body?: unknown; model?: unknown };
  assertClient(client, rules.method, where, rules.example);
  assertBody(body, where, rules.core);
  assertModelOption(model, where);
}

/** Awaits an SDK call; its failure becomes a `ProviderError` (or, once aborted, the abort reason). */
export async function callSdk<T>(call: () => Promise<T>, name: string, signal: AbortSignal | undefined): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromSdkError(error, name, signal);
  }
}

/**
 * Yields the parts of an SDK stream: `map` turns each event into parts pushed onto `out` (emptied
 * after they are yielded). Failures become `ProviderError`s as in `callSdk`, and an iteration the
 * SDK ended quietly because the request was aborted reports the abort. Whether the stream was
 * complete is the caller's to check (see `streamCut`).
 */
export async function* relaySdkStream<E>(
  open: () => Promise<AsyncIterable<E>>,
  map: (event: E, out: StreamPart[]) => void,
  name: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<StreamPart, void, undefined> {
  const out: StreamPart[] = [];
  try {
    for await (const event of await open()) {
      map(event, out);
      if (out.length === 0) continue;
      for (const part of out) yield part;
      out.length = 0;
    }
  } catch (error) {
    throw fromSdkError(error, name, signal);
  }
  signal?.throwIfAborted();
}

/** The error of a stream that ended before `what` arrived (the connection was cut): retryable. */
export function streamCut(name: string, what: string): ProviderError {
  return new ProviderError({
    provider: name,
    message: `${name}: the stream ended before ${what} (the connection was cut). Retryable: add retry() to try again.`,
    retryable: true,
    code: 'incomplete_stream',
  });
}
