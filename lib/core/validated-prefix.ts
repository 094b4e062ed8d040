/**
 * Entry validation of a caller's own message array (unfrozen, or frozen with unfrozen messages), paid for the new messages only.
 *
 * A caller's history grows by appending: the next call passes a new array (or the same array,
 * pushed to) whose first messages are the objects checked last time. The last check of such a
 * history is kept as a `Checked` record, found again through the message that was last in it (the
 * caller may copy the array, so the array itself is no key). A later array that holds the same
 * objects at the same places, each still with the role and content it had when it was checked
 * (a tool result with the same tool-call id and tool name, an assistant message with the same tool
 * calls in the same places of a content array as long), needs only its new tail checked,
 * and the tool pairing of that tail against the calls and answers the record remembers.
 *
 * The prefix is still walked on every call: an in-place edit of an old message (a new `content`,
 * another `role`, a tool result's ids) must be caught, and only reading those fields sees it. The
 * walk compares them against dense arrays instead of running the per-message quick check and cache
 * lookup. (An edit deep inside a content array, or a key added in place, is not seen, as before;
 * the read-only types forbid both.)
 *
 * Bounds: one record per history (a record is handed on to the longer array that extends it, and
 * the shorter array loses it), held weakly by its last message; it holds one pointer per message
 * and per field, and one map entry per tool call.
 */

/** Slots per message in `Checked.entries`. */
const STRIDE = 5;

/** How many new messages at the end of an array the search for a previous check looks past. */
const MAX_APPENDED = 16;

/** A check that passed: every message valid and every tool result paired. */
export interface Checked {
  /**
   * Five slots per message checked, in order: the message, then its role, content, tool-call id and
   * tool name when it was checked; for an assistant message with a content array, the last two are
   * its tool calls (see `sameCalls`) and its number of parts. One array, so the walk reads one.
   */
  readonly entries: unknown[];
  /** Tool name of every tool call made so far, by call id (the latest call wins, as in the full check). */
  readonly calls: Map<string, string>;
  /** The call ids answered so far. */
  readonly answered: Set<string>;
}

const byLast = new WeakMap<object, Checked>();

/** The calls of an assistant message whose content array had none (its length is still compared). */
const NO_CALLS: readonly unknown[] = Object.freeze([]);

/** What a previous check covers of `messages`: how many leading messages are known valid, and the record. */
export interface KnownPrefix {
  readonly length: number;
  readonly record: Checked;
}

/**
 * The longest prefix of `messages` a previous check covers, if any, with every message of it still
 * the same object carrying the same fields; `undefined` when none does (check everything).
 */
export function knownPrefix(messages: readonly unknown[]): KnownPrefix | undefined {
  const n = messages.length;
  for (let end = n; end > 0 && end >= n - MAX_APPENDED; end--) {
    const last = messages[end - 1];
    if (typeof last !== 'object' || last === null) continue;
    const record = byLast.get(last);
    if (record === undefined) continue;
    if (record.entries.length !== end * STRIDE || !samePrefix(messages, record.entries)) {
      // Edited in place (or rearranged): this record describes nothing the caller still has.
      byLast.delete(last);
      return undefined;
    }
    return { length: end, record };
  }
  return undefined;
}

function samePrefix(messages: readonly unknown[], entries: readonly unknown[]): boolean {
  for (let i = 0, j = 0; j < entries.length; i++, j += STRIDE) {
    const m = messages[i] as Record<string, unknown>;
    // Identity first: the caller may have put anything (null) where a checked message was.
    if (m !== entries[j]) return false;
    const role = m.role;
    if (role !== entries[j + 1] || m.content !== entries[j + 2]) return false;
    // Only ids decide anything more (the pairing): a tool result's, and an assistant message's calls.
    // Both keep a defined fourth slot (a tool result's id; the calls, or NO_CALLS): a chat message
    // costs one comparison here.
    const ids = entries[j + 3];
    if (ids === undefined) continue;
    if (role === 'tool') {
      if (m.toolCallId !== ids || m.toolName !== entries[j + 4]) return false;
    } else if (!sameCalls(m.content as readonly unknown[], entries, j)) return false;
  }
  return true;
}

/**
 * Whether an assistant message's content array still holds the tool calls remembered for it, at the
 * same places with the same ids and names, and as many parts: a call renamed or removed in place
 * would leave a later tool result unpaired (the pairing of the prefix is not checked again).
 */
function sameCalls(content: readonly unknown[], entries: readonly unknown[], j: number): boolean {
  if (content.length !== entries[j + 4]) return false;
  const calls = entries[j + 3] as readonly unknown[];
  for (let c = 0; c < calls.length; c += 4) {
    const part = content[calls[c] as number] as Record<string, unknown>;
    if (part !== calls[c + 1] || part.type !== 'tool-call') return false;
    if (part.toolCallId !== calls[c + 2] || part.toolName !== calls[c + 3]) return false;
  }
  return true;
}

/**
 * Remembers that `messages` passed a full check, extending `known` (whose prefix it holds) or
 * starting a new record. The extended record leaves the shorter array: checking that one again
 * walks it whole.
 */
export function remember(messages: readonly unknown[], known: KnownPrefix | undefined): void {
  const n = messages.length;
  if (n === 0) return;
  let record: Checked;
  let from: number;
  if (known) {
    record = known.record;
    from = known.length;
    if (from === n) return;
    byLast.delete(messages[from - 1] as object);
  } else {
    record = { entries: [], calls: new Map(), answered: new Set() };
    from = 0;
  }
  for (let i = from; i < n; i++) {
    const m = messages[i] as { role: string; content: unknown; toolCallId?: string; toolName?: string };
    if (m.role === 'assistant' && Array.isArray(m.content)) {
      // An assistant message's tool calls, four slots each: where, the part, its id and tool name.
      let calls: unknown[] | undefined;
      const content = m.content as { type: string; toolCallId: string; toolName: string }[];
      for (let k = 0; k < content.length; k++) {
        const part = content[k] as (typeof content)[number];
        if (part.type !== 'tool-call') continue;
        record.calls.set(part.toolCallId, part.toolName);
        (calls ??= []).push(k, part, part.toolCallId, part.toolName);
      }
      record.entries.push(m, m.role, m.content, calls ?? NO_CALLS, content.length);
    } else {
      record.entries.push(m, m.role, m.content, m.toolCallId, m.toolName);
      if (m.role === 'tool') record.answered.add(m.toolCallId as string);
    }
  }
  const last = messages[n - 1];
  if (typeof last === 'object' && last !== null) byLast.set(last, record);
}
