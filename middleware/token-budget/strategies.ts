import type { Immutable } from 'immer';
import type { Message, ToolMessage } from '../../lib/core/messages.js';
import { toolCallsOf } from '../../lib/core/messages.js';
import { sealMessage } from '../../lib/kit.js';

/** What a custom strategy gets besides the messages. */
export interface TokenBudgetInfo {
  /** Tokens the messages may use (the budget minus the tool definitions). */
  readonly budget: number;
  /** Tokens the messages use now. */
  readonly total: number;
  /** The tokens of one message, memoised per message object. */
  readonly count: (message: Immutable<Message>) => number;
}

/**
 * Returns the messages to send. It must keep every tool result with its call (the result is
 * validated); if what it returns is still over budget, `BudgetExceededError` is thrown.
 */
export type TokenBudgetStrategy = (messages: Immutable<Message[]>, info: TokenBudgetInfo) => Immutable<Message[]>;

/** Whether the strategies may remove or cut a message: never system messages or the newest user message. */
function protectedIndices(messages: Immutable<Message[]>): (index: number) => boolean {
  let lastUser = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') {
      lastUser = i;
      break;
    }
  }
  return (i) => i === lastUser || messages[i]?.role === 'system';
}

/**
 * Drops the oldest unprotected messages until the rest fits. An assistant message with tool calls
 * goes together with every result of those calls, wherever they are, so no call or result is
 * left without its partner.
 */
export const dropOldest: TokenBudgetStrategy = function dropOldest(
  messages,
  { budget, total, count }: TokenBudgetInfo,
) {
  const isProtected = protectedIndices(messages);
  const resultsOf = new Map<string, number>();
  messages.forEach((m, i) => {
    if (m.role === 'tool') resultsOf.set(m.toolCallId, i);
  });
  const dropped = new Set<number>();
  let remaining = total;
  for (let i = 0; i < messages.length && remaining > budget; i++) {
    const message = messages[i] as Immutable<Message>;
    // A tool result goes with its call, never alone.
    if (dropped.has(i) || isProtected(i) || message.role === 'tool') continue;
    dropped.add(i);
    remaining -= count(message);
    for (const call of toolCallsOf(message as Message)) {
      const at = resultsOf.get(call.toolCallId);
      if (at === undefined || dropped.has(at)) continue;
      dropped.add(at);
      remaining -= count(messages[at] as Immutable<Message>);
    }
  }
  return dropped.size === 0 ? messages : messages.filter((_, i) => !dropped.has(i));
};

/** Characters of a truncated tool result that are kept. */
const KEEP_CHARS = 256;

/**
 * Cuts the oldest tool results down to their first characters until the rest fits; drops nothing.
 * A cut result is made once per message object and reused every turn.
 */
export function truncateToolResults(): TokenBudgetStrategy {
  const cuts = new WeakMap<object, ToolMessage | null>();
  return function truncateToolResults(messages, { budget, total, count }) {
    let copy: Immutable<Message>[] | undefined;
    let remaining = total;
    for (let i = 0; i < messages.length && remaining > budget; i++) {
      const message = messages[i] as Immutable<Message>;
      if (message.role !== 'tool') continue;
      let cut = cuts.get(message);
      if (cut === undefined) {
        cut = message.content.length <= KEEP_CHARS * 2 ? null : truncated(message, count(message));
        cuts.set(message, cut);
      }
      if (cut === null) continue;
      remaining -= count(message) - count(cut);
      (copy ??= [...messages])[i] = cut;
    }
    return copy ?? messages;
  };
}

function truncated(message: Immutable<ToolMessage>, tokens: number): ToolMessage {
  const content = `${message.content.slice(0, KEEP_CHARS)}\n…[truncated by tokenBudget: ${tokens} tokens in full]`;
  return sealMessage(Object.assign({}, message as ToolMessage, { content })) as ToolMessage;
}
