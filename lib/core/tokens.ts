import type { Immutable } from 'immer';
import { ModelwareError } from './errors.js';
import type { Message } from './messages.js';

/** Counts the tokens of a text. */
export type Tokenizer = (text: string) => number;

/** Per-message framing the providers add around each message (role markers, separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** An estimate per image part: images are billed by size, which the message does not tell. */
export const IMAGE_TOKENS = 765;

let loaded: Tokenizer | undefined;
let loading: Promise<Tokenizer> | undefined;

/**
 * The default tokenizer: gpt-tokenizer's `o200k_base` (GPT-4o, GPT-5, o-series), loaded on first
 * use (~0.3 s) and shared. Special-token text in messages is counted as plain text, not rejected.
 */
export function defaultTokenizer(): Promise<Tokenizer> {
  if (loaded) return Promise.resolve(loaded);
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then(
    ({ countTokens }) => {
      const options = { disallowedSpecial: new Set<string>() };
      loaded = (text) => countTokens(text, options);
      return loaded;
    },
    (error: unknown) => {
      loading = undefined;
      throw new ModelwareError(
        'Counting tokens needs the `gpt-tokenizer` package: install it (npm install gpt-tokenizer), or pass your own `tokenizer` (text) => number.',
        { cause: error },
      );
    },
  );
  return loading;
}

// One cache per tokenizer: counts from different tokenizers must not mix.
const counts = new WeakMap<Tokenizer, WeakMap<object, number>>();

/**
 * The tokens of one message, memoised per message object: messages keep their identity across
 * calls and turns, so a run pays for each message once. The tokenizer is called once per message.
 */
export function messageTokens(message: Immutable<Message>, tokenizer: Tokenizer): number {
  let memo = counts.get(tokenizer);
  if (!memo) counts.set(tokenizer, (memo = new WeakMap()));
  const cached = memo.get(message);
  if (cached !== undefined) return cached;
  let text = '';
  let images = 0;
  if (message.role === 'tool') text = `${message.toolName}\n${message.content}`;
  else if (typeof message.content === 'string') text = message.content;
  else {
    for (const part of message.content) {
      if (part.type === 'text' || part.type === 'reasoning') text += `${part.text}\n`;
      else if (part.type === 'image') images++;
      else if (part.type === 'tool-call') text += `${part.toolName} ${JSON.stringify(part.input) ?? ''}\n`;
    }
  }
  const total = MESSAGE_OVERHEAD_TOKENS + (text ? tokenizer(text) : 0) + images * IMAGE_TOKENS;
  memo.set(message, total);
  return total;
}

/** The tokens of several messages (each memoised, see `messageTokens`). */
export function messagesTokens(messages: Immutable<Message[]>, tokenizer: Tokenizer): number {
  let total = 0;
  for (const message of messages) total += messageTokens(message, tokenizer);
  return total;
}

export interface CountTokensOptions {
  /** @default gpt-tokenizer's o200k_base, loaded on first use */
  readonly tokenizer?: Tokenizer | undefined;
}

/**
 * Counts the tokens of a text, a message or a list of messages, as `tokenBudget` does: each
 * message's text plus a fixed framing overhead, memoised per message object.
 *
 * @example
 * const tokens = await countTokens(transcript);
 */
export async function countTokens(
  input: string | Immutable<Message> | Immutable<Message[]>,
  options: CountTokensOptions = {},
): Promise<number> {
  const tokenizer = options.tokenizer ?? loaded ?? (await defaultTokenizer());
  if (typeof input === 'string') return tokenizer(input);
  if (Array.isArray(input)) return messagesTokens(input as Immutable<Message[]>, tokenizer);
  return messageTokens(input as Immutable<Message>, tokenizer);
}
