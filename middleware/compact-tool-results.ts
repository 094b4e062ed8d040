import type { Immutable } from 'immer';
import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Message, ToolMessage } from '../lib/core/messages.js';
import { checkInteger, checkKeys, failOption, messagesChangedSince, sealMessage } from '../lib/kit.js';

const OPTIONS = ['keepLast', 'replaceWith', 'minChars', 'name'] as const;

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
  const where = 'compactToolResults()';
  checkKeys(where, options, OPTIONS);
  const { keepLast = 3, replaceWith = defaultStub, minChars = 200, name = 'compactToolResults' } = options ?? {};
  checkInteger(where, 'keepLast', keepLast, { sign: 'non-negative' });
  if (typeof minChars !== 'number' || Number.isNaN(minChars) || minChars < 0) {
    failOption(where, 'minChars', 'a non-negative number', minChars);
  }
  if (typeof replaceWith !== 'string' && typeof replaceWith !== 'function') {
    failOption(where, 'replaceWith', 'a string or a function (message) => string', replaceWith);
  }
  // The first question turns on the recording of which indices each update changes (nothing is
  // recorded, and nothing paid, until some layer asks), so the second call can already use it.
  messagesChangedSince([], []);
  // One stub per original message, reused every turn: its identity keeps the validator's and the
  // token counter's caches warm (a sealed stub is checked once). `null` marks a message sent as it is.
  const stubs = new WeakMap<object, ToolMessage | null>();
  const stubOf = (message: Immutable<ToolMessage>): ToolMessage | null => {
    let stub = stubs.get(message);
    if (stub === undefined) {
      const content = message.content.length < minChars ? message.content : replacement(message);
      stub =
        content === message.content
          ? null
          : (sealMessage(Object.assign({}, message as ToolMessage, { content })) as ToolMessage);
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
  const decide = (message: Immutable<Message>): Immutable<Message> =>
    (message.role === 'tool' && stubOf(message)) || message;

  // The previous call's input, what ctx.replaceMessages() returned for it (`undefined`: nothing was
  // stubbed), where its stale results ended, and how many it stubbed. A run's calls share most
  // messages at the same positions (the transcript only grows), so the previous output is handed to
  // the core as `previous` and only the indices that changed since are decided (and checked) again.
  let prevIn: readonly Immutable<Message>[] | undefined;
  let prevOut: readonly Immutable<Message>[] | undefined;
  let prevBoundary = 0;
  let prevStubs = 0;

  /** The decisions for the indices that changed since the previous call and the newly stale ones. */
  const sincePrevious = (
    original: readonly Immutable<Message>[],
    before: readonly Immutable<Message>[],
    changed: readonly number[],
    boundary: number,
  ): [[number, Immutable<Message>][], number] => {
    const changes: [number, Immutable<Message>][] = [];
    let count = prevStubs;
    for (const i of changed) {
      if (i >= prevBoundary) break;
      const message = original[i] as Immutable<Message>;
      const sent = decide(message);
      count += (sent !== message ? 1 : 0) - (prevOut !== undefined && prevOut[i] !== before[i] ? 1 : 0);
      changes.push([i, sent]);
    }
    for (let i = prevBoundary; i < boundary; i++) {
      const message = original[i] as Immutable<Message>;
      const sent = decide(message);
      if (sent !== message) {
        count++;
        changes.push([i, sent]);
      }
    }
    return [changes, count];
  };

  /** Every decision from scratch. */
  const fromScratch = (
    original: readonly Immutable<Message>[],
    boundary: number,
  ): [[number, Immutable<Message>][], number] => {
    const changes: [number, Immutable<Message>][] = [];
    for (let i = 0; i < boundary; i++) {
      const message = original[i] as Immutable<Message>;
      const sent = decide(message);
      if (sent !== message) changes.push([i, sent]);
    }
    return [changes, changes.length];
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
      // Which indices changed since the previous call (usually two: the system prompt a transform
      // rewrites, and the appended tail), known without comparing every element.
      const before = prevIn;
      const changed =
        before !== undefined && prevBoundary <= boundary ? messagesChangedSince(original, before) : undefined;
      const incremental = before !== undefined && changed !== undefined;
      const [changes, count] = incremental
        ? sincePrevious(original, before, changed, boundary)
        : fromScratch(original, boundary);
      // Nothing to stub: no replacement at all, the input goes on as it is.
      const out =
        count === 0
          ? undefined
          : ctx.replaceMessages(changes, incremental && prevOut !== undefined ? { previous: prevOut } : undefined);
      prevIn = original;
      prevOut = out;
      prevBoundary = boundary;
      prevStubs = count;
      return next();
    },
  });
}

function defaultStub(message: Immutable<ToolMessage>): string {
  return `[${message.toolName} result omitted to save context: ${message.content.length} characters]`;
}
