import type { Immutable } from 'immer';
import type { AssistantMessage, Message, StreamPart } from './messages.js';
import type { Match } from './pii.js';

/**
 * Rewriting the text of messages and streams for `redactPii()`: every string in a message or a
 * tool call's input, and streamed text held back far enough that a value split across deltas is
 * rewritten whole.
 */

/**
 * Releases streamed text `hold` characters behind the model; a match reaching into the held tail
 * holds back from its start, so a value split over several deltas is rewritten whole.
 */
export class TextWindow {
  #pending = '';

  constructor(
    readonly find: (text: string) => readonly Match[],
    readonly rewrite: (text: string) => string,
    readonly hold: number,
  ) {}

  push(text: string): string {
    this.#pending += text;
    let cut = Math.max(0, this.#pending.length - this.hold);
    for (const m of this.find(this.#pending)) {
      if (m.end > cut) {
        cut = Math.min(cut, m.start);
        break;
      }
    }
    const released = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    return released ? this.rewrite(released) : '';
  }

  flush(): string {
    const rest = this.#pending;
    this.#pending = '';
    return rest ? this.rewrite(rest) : '';
  }
}

export async function* rewriteStream(
  source: AsyncIterable<StreamPart>,
  held: TextWindow,
  rewrite: (text: string) => string,
): AsyncGenerator<StreamPart> {
  for await (const part of source) {
    if (part.type === 'text-delta') {
      const text = held.push(part.text);
      if (text) yield { ...part, text };
      continue;
    }
    // Any other part ends the run of text: what is held goes out before it, in order.
    const rest = held.flush();
    if (rest) yield { type: 'text-delta', text: rest };
    if (part.type === 'tool-call') yield { ...part, input: rewriteDeep(part.input, rewrite) };
    // Argument deltas are rewritten one by one (a value split across two is missed); the complete
    // tool-call part that follows them is what the agent loop runs.
    else if (part.type === 'tool-call-delta') yield { ...part, inputDelta: rewrite(part.inputDelta) };
    else yield part;
  }
  const rest = held.flush();
  if (rest) yield { type: 'text-delta', text: rest };
}

/** The message with every text rewritten; the same object when nothing changed. */
export function rewriteMessage<M extends Immutable<Message> | AssistantMessage>(
  message: M,
  rewrite: (text: string) => string,
): M {
  const { content } = message as { content: unknown };
  if (typeof content === 'string') {
    const text = rewrite(content);
    return text === content ? message : ({ ...message, content: text } as M);
  }
  if (!Array.isArray(content)) return message;
  let parts: unknown[] | undefined;
  content.forEach((part: { type: string; text?: string; input?: unknown }, i) => {
    let next: unknown = part;
    if (part.type === 'text') {
      const text = rewrite(part.text as string);
      if (text !== part.text) next = { ...part, text };
    } else if (part.type === 'tool-call') {
      const input = rewriteDeep(part.input, rewrite);
      if (input !== part.input) next = { ...part, input };
    }
    if (next !== part) (parts ??= content.slice())[i] = next;
  });
  return parts ? ({ ...message, content: parts } as M) : message;
}

/** Rewrites the strings in a JSON value, keeping every unchanged object. */
export function rewriteDeep(value: unknown, rewrite: (text: string) => string): unknown {
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = rewriteDeep(item, rewrite);
      if (next !== item) (out ??= value.slice())[i] = next;
    });
    return out ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    let out: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const next = rewriteDeep(item, rewrite);
      if (next !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = next;
    }
    return out ?? value;
  }
  return value;
}
