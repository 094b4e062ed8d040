import type { Immutable } from 'immer';
import type { AssistantMessage, Message, StreamPart } from '../../lib/core/messages.js';
import type { Match, Scan } from './detectors.js';

/**
 * Rewriting the text of messages and streams for `redactPii()`: every string in a message or a
 * tool call's input, and streamed text held back far enough that a value split across deltas is
 * rewritten whole, exactly as it would have been unstreamed.
 */

export interface TextWindowOptions {
  /** Every match (and every span a detector consumed) at or after `from`; text before is context. */
  readonly scan: (text: string, from: number) => Scan;
  readonly substitute: (match: Match) => string;
  /** The longest match `scan` can return: text this far behind the model is settled. */
  readonly maxMatch: number;
  /** Past this many held characters, `overflow()` is thrown. */
  readonly maxBuffered: number;
  readonly overflow: (held: number) => Error;
}

/**
 * Releases a streamed text behind the model. A cut is made only where the rest of the text can no
 * longer change what lies before it: at least `maxMatch + 1` characters behind the end (so every
 * match starting before the cut is complete, one character of look-ahead included) and never
 * inside a span a detector consumed (so the next scan starts where an unstreamed scan would be).
 * The scan after the cut keeps one released character as look-behind context. Rescans happen
 * every quarter-window of new text, so the cost per character is constant.
 */
export class TextWindow {
  #context = '';
  #pending = '';
  #nextScanAt: number;
  readonly #hold: number;
  readonly #step: number;

  constructor(readonly options: TextWindowOptions) {
    this.#hold = options.maxMatch + 1;
    this.#step = Math.max(16, Math.ceil(this.#hold / 4));
    this.#nextScanAt = this.#hold + this.#step;
  }

  get held(): number {
    return this.#pending.length;
  }

  push(text: string): string {
    this.#pending += text;
    if (this.#pending.length < this.#nextScanAt) return '';
    const out = this.#release(false);
    if (this.#pending.length > this.options.maxBuffered) throw this.options.overflow(this.#pending.length);
    this.#nextScanAt = this.#pending.length + this.#step;
    return out;
  }

  flush(): string {
    const out = this.#pending ? this.#release(true) : '';
    this.#context = '';
    this.#nextScanAt = this.#hold + this.#step;
    return out;
  }

  #release(final: boolean): string {
    const text = this.#context + this.#pending;
    const from = this.#context.length;
    const { matches, spans } = this.options.scan(text, from);
    let cut = final ? text.length : text.length - this.#hold;
    if (cut <= from) return '';
    if (!final) {
      for (let moved = true; moved; ) {
        moved = false;
        const data = spans.data;
        for (let i = 0; i < spans.length; i += 3) {
          const start = data[i] as number;
          if (start < cut && cut < (data[i + 1] as number)) {
            cut = start;
            moved = true;
          }
        }
      }
      if (cut <= from) return '';
    }
    let out = '';
    let at = from;
    for (const m of matches) {
      if (m.end > cut) break;
      out += text.slice(at, m.start) + this.options.substitute(m);
      at = m.end;
    }
    out += text.slice(at, cut);
    this.#context = text.slice(cut - 1, cut);
    this.#pending = text.slice(cut);
    return out;
  }
}

/** What a stream rewrite does to each kind of part; an absent window passes that kind through. */
export interface StreamRewrite {
  readonly text?: (() => TextWindow) | undefined;
  readonly reasoning?: (() => TextWindow) | undefined;
  readonly toolInputDeltas?: (() => TextWindow) | undefined;
  readonly toolInput?: ((input: unknown) => unknown) | undefined;
  /** Called with the size of every streamed text, before it is scanned. */
  readonly charge: (chars: number) => void;
}

/**
 * Text, reasoning and each tool call's argument deltas go through their own window. A window is
 * flushed where the assembled response starts a new part (text and reasoning end each other; a
 * tool call ends both and its own argument deltas; `finish` and the end of the stream end all), so
 * the streamed result is the unstreamed rewrite of each part.
 */
export async function* rewriteStream(
  source: AsyncIterable<StreamPart>,
  rewrite: StreamRewrite,
): AsyncGenerator<StreamPart> {
  let text: TextWindow | undefined;
  let reasoning: TextWindow | undefined;
  let signature: string | undefined;
  const tools = new Map<string, { window: TextWindow; toolName: string | undefined }>();

  function* endText(): Generator<StreamPart> {
    const rest = text?.flush();
    if (rest) yield { type: 'text-delta', text: rest };
  }
  function* endReasoning(): Generator<StreamPart> {
    const rest = reasoning?.flush() ?? '';
    if (rest || signature !== undefined) {
      yield signature === undefined
        ? { type: 'reasoning-delta', text: rest }
        : { type: 'reasoning-delta', text: rest, signature };
    }
    signature = undefined;
  }
  function* endTool(id: string): Generator<StreamPart> {
    const held = tools.get(id);
    if (!held) return;
    tools.delete(id);
    const rest = held.window.flush();
    if (rest) yield toolDelta(id, held.toolName, rest);
  }

  for await (const part of source) {
    switch (part.type) {
      case 'text-delta': {
        yield* endReasoning();
        if (!rewrite.text) {
          yield part;
          break;
        }
        rewrite.charge(part.text.length);
        text ??= rewrite.text();
        const out = text.push(part.text);
        if (out) yield { ...part, text: out };
        break;
      }
      case 'reasoning-delta': {
        yield* endText();
        if (!rewrite.reasoning) {
          yield part;
          break;
        }
        rewrite.charge(part.text.length);
        reasoning ??= rewrite.reasoning();
        if (part.signature !== undefined) signature = part.signature;
        const out = reasoning.push(part.text);
        if (out) yield { type: 'reasoning-delta', text: out };
        break;
      }
      case 'tool-call-delta': {
        if (!rewrite.toolInputDeltas) {
          yield part;
          break;
        }
        rewrite.charge(part.inputDelta.length);
        let held = tools.get(part.toolCallId);
        if (!held) tools.set(part.toolCallId, (held = { window: rewrite.toolInputDeltas(), toolName: part.toolName }));
        held.toolName ??= part.toolName;
        const out = held.window.push(part.inputDelta);
        if (out) yield toolDelta(part.toolCallId, held.toolName, out);
        break;
      }
      case 'tool-call': {
        yield* endText();
        yield* endReasoning();
        yield* endTool(part.toolCallId);
        yield rewrite.toolInput ? { ...part, input: rewrite.toolInput(part.input) as typeof part.input } : part;
        break;
      }
      default: {
        yield* endAll();
        yield part;
      }
    }
  }
  yield* endAll();

  function* endAll(): Generator<StreamPart> {
    yield* endText();
    yield* endReasoning();
    for (const id of [...tools.keys()]) yield* endTool(id);
  }
}

function toolDelta(toolCallId: string, toolName: string | undefined, inputDelta: string): StreamPart {
  return toolName === undefined
    ? { type: 'tool-call-delta', toolCallId, inputDelta }
    : { type: 'tool-call-delta', toolCallId, toolName, inputDelta };
}

export interface RewriteParts {
  /** Rewrite reasoning parts too (their signatures no longer match). @default false */
  readonly reasoning?: boolean | undefined;
  /** Rewrite the strings in tool-call inputs. @default true */
  readonly toolInputs?: boolean | undefined;
}

/** The message with every text rewritten; the same object when nothing changed. */
export function rewriteMessage<M extends Immutable<Message> | AssistantMessage>(
  message: M,
  rewrite: (text: string) => string,
  which: RewriteParts = {},
): M {
  const { reasoning = false, toolInputs = true } = which;
  const { content } = message as { content: unknown };
  if (typeof content === 'string') {
    const text = rewrite(content);
    return text === content ? message : ({ ...message, content: text } as M);
  }
  if (!Array.isArray(content)) return message;
  let parts: unknown[] | undefined;
  content.forEach((part: { type: string; text?: string; input?: unknown }, i) => {
    let next: unknown = part;
    if (part.type === 'text' || (reasoning && part.type === 'reasoning')) {
      const text = rewrite(part.text as string);
      if (text !== part.text) next = { ...part, text };
    } else if (toolInputs && part.type === 'tool-call') {
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

/**
 * What decides a message's redaction: its role, its content, each part and each part's text and
 * input (every key and string inside), compared by identity. A caller who edits any of them in
 * place gets the message scanned again; unchanged, the comparison costs a walk of pointers.
 */
export function fingerprint(message: Immutable<Message>): unknown[] {
  const { role, content } = message as { role: string; content: unknown };
  const out: unknown[] = [role, content];
  if (Array.isArray(content)) {
    for (const part of content as { type: string; text?: unknown; input?: unknown; image?: unknown }[]) {
      out.push(part, part.type, part.text);
      if (part.type === 'tool-call') leaves(part.input, out);
    }
  }
  return out;
}

function leaves(value: unknown, out: unknown[]): void {
  out.push(value);
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    out.push(value.length);
    for (const item of value) leaves(item, out);
    return;
  }
  for (const key of Object.keys(value)) {
    out.push(key);
    leaves((value as Record<string, unknown>)[key], out);
  }
}

export function sameFingerprint(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
