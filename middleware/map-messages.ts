import type { Immutable } from 'immer';
import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { ReadonlyModelRequest } from '../lib/core/executor.js';
import type { Message } from '../lib/core/messages.js';
import { checkFunction, checkInteger, checkKeys, checkString, optionNames, sealMessage } from '../lib/kit.js';

/**
 * Rewrites one message. Return a replacement, or the message itself (or `undefined`) to send it as
 * it is. Called once per message object: it must depend on the message alone.
 */
export type MessageMapper = (message: Immutable<Message>) => Message | Immutable<Message> | undefined;

export interface MapMessagesOptions {
  /** Names the layer in errors, patches and traces. @default the mapper's function name, else 'mapMessages' */
  readonly name?: string | undefined;
  /** How many of the newest messages are sent as they are, not mapped (the latest tool result, say). @default 0 */
  readonly exceptLast?: number | undefined;
}

const KEYS = optionNames<MapMessagesOptions>({ name: true, exceptLast: true });
const NONE: readonly never[] = Object.freeze([]);

/** What the mapper made of one message, with the fields it saw (an in-place edit of them maps it again). */
interface Mapped {
  readonly role: unknown;
  readonly content: unknown;
  readonly out: unknown;
}

/**
 * A per-message transform of what each call sends, memoised by message object: in an agent loop,
 * call N maps only the messages new since call N-1, and sends the same replacement objects as
 * before (checked once, then known valid), so a long run pays for its new messages only. The
 * run's transcript is untouched. Use it instead of `transformContext` when the change to each
 * message depends on that message alone (stub, truncate, redact, strip images): a `transformContext`
 * recipe rebuilds its replacements on every call, and each one is checked again.
 *
 * A message edited in place (a new `role` or `content`) is mapped again. A replacement is sent as a
 * frozen shallow copy; the object the mapper returned is not changed.
 *
 * @example
 * app.use(mapMessages(function shortenOldResults(m) {
 *   if (m.role === 'tool') return { ...m, content: `${m.content.slice(0, 12)}…` };
 * }, { exceptLast: 1 }));
 */
export function mapMessages(mapper: MessageMapper, options: MapMessagesOptions = {}): Middleware {
  checkFunction('mapMessages()', 'mapper', mapper, '(message) => message | undefined');
  checkKeys('mapMessages()', options, KEYS);
  const { name = mapper.name || 'mapMessages', exceptLast = 0 } = options ?? {};
  checkString('mapMessages()', 'name', name);
  checkInteger('mapMessages()', 'exceptLast', exceptLast, { sign: 'non-negative' });

  const memo = new WeakMap<object, Mapped>();
  // The previous call's messages and what each became. A loop's call N holds call N-1's messages
  // at the same places, so one comparison finds most of them, without a WeakMap lookup.
  let lastIn: readonly unknown[] = [];
  let lastMapped: Mapped[] = [];
  // What ctx.replaceMessages() returned for `lastIn` (undefined: nothing was replaced). Passed back
  // as `previous`, it carries every replacement whose message is still at its index, so a call
  // hands the core only the indices it decided anew and the core checks only those.
  let sent: ReadonlyModelRequest['messages'] | undefined;
  // Two buffers taken in turns, so a call allocates nothing for this bookkeeping.
  let spare: Mapped[] = [];

  function map(message: Immutable<Message>): Mapped {
    const seen = memo.get(message);
    if (seen !== undefined && seen.role === message.role && seen.content === message.content) return seen;
    const result = mapper(message);
    // Our own frozen copy: validation knows it once checked, and the mapper's object stays its own.
    // Object.assign, not a spread: Node 20 freezes a spread-made object ~10× slower (decisions §61).
    const out =
      result === undefined || result === message ? message : sealMessage(Object.assign({}, result as Message));
    const mapped: Mapped = { role: message.role, content: message.content, out };
    memo.set(message, mapped);
    return mapped;
  }

  return defineMiddleware({
    name,
    // Not async: nothing runs after next(), so the layer returns its promise (one promise less).
    call(ctx, next) {
      const input = ctx.request.messages;
      const end = Math.max(input.length - exceptLast, 0);
      const mappedNow = spare;
      mappedNow.length = end;
      const carrying = sent !== undefined;
      let changes: [number, Immutable<Message>][] | undefined;
      for (let i = 0; i < end; i++) {
        const message = input[i] as Immutable<Message>;
        const last = lastMapped[i];
        const kept = lastIn[i] === message;
        const mapped =
          last !== undefined && kept && last.role === message.role && last.content === message.content
            ? last
            : map(message);
        mappedNow[i] = mapped;
        // `previous` carries index i when its message is the same object as then: pass it only if
        // the mapping changed (an in-place edit). Elsewhere the input's own message is sent unless
        // the mapping replaces it.
        if (carrying && kept && last !== undefined ? mapped !== last : mapped.out !== message) {
          (changes ??= []).push([i, mapped.out as Immutable<Message>]);
        }
      }
      // The newest `exceptLast` go as they are, also where `previous` replaced the same message.
      if (carrying) {
        for (let i = end; i < Math.min(lastMapped.length, input.length); i++) {
          if (lastIn[i] === input[i] && (lastMapped[i] as Mapped).out !== input[i])
            (changes ??= []).push([i, input[i] as never]);
        }
      }
      const previous = sent;
      // Forgotten until the core accepted the changes: after a throw the next call decides anew.
      sent = undefined;
      lastIn = NONE;
      if (changes !== undefined || previous !== undefined) {
        sent = ctx.replaceMessages(changes ?? NONE, previous === undefined ? undefined : { previous });
      }
      lastIn = input;
      spare = lastMapped;
      lastMapped = mappedNow;
      return next();
    },
  });
}
