import type { Immutable } from 'immer';
import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Message, ToolMessage } from '../lib/core/messages.js';
// The one built-in on core internals (decisions §32): a trusted derivation lets validation skip the
// stubs it sealed, which no public primitive can promise safely yet.
import { changedBetween, recordDerivation, wantProvenance } from '../lib/internal/provenance.js';
import { isSealedValid, sealMessage } from '../lib/core/validate.js';
import { checkInteger, failOption } from '../lib/kit.js';

export interface CompactToolResultsOptions {
  /**
   * Tool results kept intact, counting from the newest, besides the results the model has not seen
   * yet (those after the last assistant message), which are always sent whole.
   * @default 3
   */
  readonly keepLast?: number | undefined;
  /**
   * The content an older tool result is sent with instead of its own: a string, or a function of
   * the message.
   * @default (m) => `[${m.toolName} result omitted to save context: ${m.content.length} characters]`
   */
  readonly replaceWith?: (string | ((message: Immutable<ToolMessage>) => string)) | undefined;
  /** Results shorter than this many characters are sent as they are. @default 200 */
  readonly minChars?: number | undefined;
  /** Names the layer. @default 'compactToolResults' */
  readonly name?: string | undefined;
}

/**
 * Sends older tool results as short stubs, keeping the newest `keepLast` intact. A result the model
 * has not seen yet is never stubbed: every result after the last assistant message (all the results
 * of the latest tool turn, however many calls it made) is sent whole; a result becomes eligible once
 * a later model call has answered after it. Only the content changes, in place: every tool result
 * stays paired with its call. The transcript keeps the full results; only what each call sends shrinks.
 *
 * @example
 * app.use(compactToolResults({ keepLast: 2, minChars: 500 }));
 */
export function compactToolResults(options: CompactToolResultsOptions = {}): Middleware {
  const { keepLast = 3, replaceWith = defaultStub, minChars = 200, name = 'compactToolResults' } = options ?? {};
  checkInteger('compactToolResults()', 'keepLast', keepLast, { sign: 'non-negative' });
  if (typeof minChars !== 'number' || Number.isNaN(minChars) || minChars < 0) {
    failOption('compactToolResults()', 'minChars', 'a non-negative number', minChars);
  }
  if (typeof replaceWith !== 'string' && typeof replaceWith !== 'function') {
    failOption('compactToolResults()', 'replaceWith', 'a string or a function (message) => string', replaceWith);
  }
  wantProvenance();
  // One stub per original message, reused every turn: its identity keeps the validator's and the
  // token counter's caches warm. `null` marks a message sent as it is.
  const stubs = new WeakMap<object, ToolMessage | null>();
  // Whether every stub built so far passed the check `sealMessage` makes (a custom `replaceWith`
  // could return an empty string): only then is the output recorded as needing no validation.
  let allStubsValid = true;
  const stubOf = (message: Immutable<ToolMessage>): ToolMessage | null => {
    let stub = stubs.get(message);
    if (stub === undefined) {
      const content = message.content.length < minChars ? message.content : replacement(message);
      stub =
        content === message.content ? null : (sealMessage({ ...(message as ToolMessage), content }) as ToolMessage);
      if (stub && !isSealedValid(stub)) allStubsValid = false;
      stubs.set(message, stub);
    }
    return stub;
  };
  const replacement = (message: Immutable<ToolMessage>): string => {
    const content = typeof replaceWith === 'string' ? replaceWith : replaceWith(message);
    if (typeof content !== 'string') {
      throw new TypeError(`compactToolResults(): \`replaceWith\` returned ${typeof content}; it must return a string.`);
    }
    return content;
  };

  // The previous call's input and output, where its stale results ended, and how many it stubbed.
  // A run's calls share most messages at the same positions (the transcript only grows), so the
  // decisions made last time are reused: only the indices that changed since are decided again.
  let prevIn: readonly unknown[] = [];
  let prevOut: readonly unknown[] = [];
  let prevBoundary = 0;
  let prevStubs = 0;

  const decide = (message: Immutable<Message>): Immutable<Message> =>
    (message.role === 'tool' && stubOf(message)) || message;

  /** Copies the previous output's decisions and redoes the changed indices and the new ones. */
  const fromPrevious = (
    original: readonly Immutable<Message>[],
    changed: readonly number[],
    boundary: number,
  ): [Immutable<Message>[], number] => {
    const out = prevOut.slice(0, prevBoundary) as Immutable<Message>[];
    let stubs = prevStubs;
    for (const i of changed) {
      if (i >= prevBoundary) break;
      const sent = decide(original[i] as Immutable<Message>);
      stubs += (sent !== original[i] ? 1 : 0) - (prevOut[i] !== prevIn[i] ? 1 : 0);
      out[i] = sent;
    }
    let i = prevBoundary;
    for (; i < boundary; i++) {
      const sent = decide(original[i] as Immutable<Message>);
      if (sent !== original[i]) stubs++;
      out.push(sent);
    }
    for (; i < original.length; i++) out.push(original[i] as Immutable<Message>);
    return [out, stubs];
  };

  /** Without provenance: compares with the previous input element by element. */
  const compare = (original: readonly Immutable<Message>[], boundary: number): [Immutable<Message>[], number] => {
    let out: Immutable<Message>[] | undefined;
    let stubs = 0;
    const reusable = Math.min(prevBoundary, boundary);
    for (let i = 0; i < boundary; i++) {
      const message = original[i] as Immutable<Message>;
      const sent = i < reusable && message === prevIn[i] ? (prevOut[i] as Immutable<Message>) : decide(message);
      if (sent !== message) {
        stubs++;
        (out ??= original.slice())[i] = sent;
      }
    }
    return [out ?? (original as Immutable<Message>[]), stubs];
  };

  return defineMiddleware({
    name,
    call(ctx, next) {
      const original = ctx.request.messages;
      // Tool results before `boundary` are older than the newest keepLast, and the model has seen
      // them: an assistant message follows them. The results after the last assistant message (the
      // latest tool turn, however many calls it made) have never been sent whole to the model yet.
      let lastAssistant = original.length - 1;
      while (lastAssistant >= 0 && original[lastAssistant]?.role !== 'assistant') lastAssistant--;
      let boundary = original.length;
      for (let i = original.length - 1, kept = 0; i >= 0 && kept < keepLast; i--) {
        if (original[i]?.role !== 'tool') continue;
        boundary = ++kept < keepLast ? 0 : i;
      }
      boundary = Math.min(boundary, Math.max(0, lastAssistant));
      // Provenance says which indices changed since the previous call (usually two: the system
      // prompt a transform rewrites, and the appended tail) without comparing every element.
      const changed = prevBoundary <= boundary ? changedBetween(original, prevIn) : undefined;
      const [candidate, stubs] = changed ? fromPrevious(original, changed, boundary) : compare(original, boundary);
      const out = stubs > 0 ? candidate : undefined;
      prevIn = original;
      prevOut = out ?? original;
      prevBoundary = boundary;
      prevStubs = stubs;
      // One replacement array assigned without reading the draft: every older result is stubbed
      // again on every call (the view starts from the transcript), and an Immer array write costs
      // ~1 µs where a plain one costs ~1 ns.
      if (out) {
        const messages = out as Message[];
        // Which indices changed is not listed (every stale result, hundreds): a search stops here.
        recordDerivation(messages, original, null, { trusted: allStubsValid });
        ctx.update((draft) => void (draft.messages = messages));
      }
      return next();
    },
  });
}

function defaultStub(message: Immutable<ToolMessage>): string {
  return `[${message.toolName} result omitted to save context: ${message.content.length} characters]`;
}
