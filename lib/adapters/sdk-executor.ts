// What the SDK executors (openaiExecutor, openaiResponsesExecutor, anthropicExecutor) do alike.
import { assertModelOption } from '../core/executor.js';
import { checkKeys } from '../internal/options.js';
import { type CoreFields, assertBody, assertClient } from './content.js';

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
