import type {
  Message,
  MessageShape,
  ModelResponse,
  ReadonlyModelRequest,
  RecordedChange,
  RecordedError,
} from '../../lib/index.js';
import { ModelwareError, isRetryable } from '../../lib/index.js';

type AnyMessage = Message | ReadonlyModelRequest['messages'][number];

/** Role, text length and part types: what a recording shows of a message without content. */
export function messageShape(message: AnyMessage): MessageShape {
  const content = message.content as unknown;
  const shape: { -readonly [K in keyof MessageShape]: MessageShape[K] } = { role: message.role, length: 0 };
  if (typeof content === 'string') shape.length = content.length;
  else if (Array.isArray(content)) {
    const parts: string[] = [];
    for (const part of content as readonly { type: string; text?: unknown }[]) {
      parts.push(part.type);
      if (typeof part.text === 'string') shape.length += part.text.length;
    }
    shape.parts = parts;
  }
  if (message.role === 'tool') {
    shape.toolCallId = message.toolCallId;
    shape.toolName = message.toolName;
  }
  return shape;
}

const MESSAGE_FIELDS = ['role', 'content', 'toolCallId', 'toolName', 'isError'] as const;

/** A value shown without captureContent: numbers, booleans and null say nothing of the prompt. */
const harmless = (value: unknown) => typeof value === 'number' || typeof value === 'boolean' || value === null;

/**
 * What changed between two versions of a message list, as a monotone alignment: messages are
 * matched by identity (Immer keeps untouched messages the same objects), so an `unshift` is one
 * addition, not a rewrite of every index. Unmatched messages facing each other pair up as changes.
 */
export function diffMessages(
  before: readonly AnyMessage[],
  after: readonly AnyMessage[],
  content: boolean,
  out: RecordedChange[],
): void {
  if (before === after) return;
  let start = 0;
  const min = Math.min(before.length, after.length);
  while (start < min && before[start] === after[start]) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before[endB - 1] === after[endA - 1]) {
    endB--;
    endA--;
  }
  if (start === endB && start === endA) return;
  // Where each message of one side's middle sits in the other's, to tell moves from edits.
  const inBefore = new Map<AnyMessage, number>();
  for (let i = start; i < endB; i++) inBefore.set(before[i] as AnyMessage, i);
  const inAfter = new Map<AnyMessage, number>();
  for (let j = start; j < endA; j++) inAfter.set(after[j] as AnyMessage, j);
  let i = start;
  let j = start;
  while (i < endB || j < endA) {
    const b = before[i];
    const a = after[j];
    if (i < endB && j < endA && b === a) {
      i++;
      j++;
    } else if (j < endA && (i >= endB || (inBefore.get(a as AnyMessage) ?? -1) > i)) {
      // `a` is further on in `before` (the ones before it were removed), or `before` is used up.
      if (i < endB && (inBefore.get(a as AnyMessage) ?? -1) > i) removed(out, i++, b as AnyMessage, content);
      else added(out, j++, a as AnyMessage, content);
    } else if (i < endB && (j >= endA || (inAfter.get(b as AnyMessage) ?? -1) > j)) {
      // `b` reappears later in `after`: what comes before it there is new.
      if (j < endA) added(out, j++, a as AnyMessage, content);
      else removed(out, i++, b as AnyMessage, content);
    } else if (i < endB && j < endA && (b as AnyMessage).role === (a as AnyMessage).role) {
      changed(out, j, b as AnyMessage, a as AnyMessage, content);
      i++;
      j++;
    } else if (i < endB) {
      removed(out, i++, b as AnyMessage, content);
    } else {
      added(out, j++, a as AnyMessage, content);
    }
  }
}

function added(out: RecordedChange[], index: number, message: AnyMessage, content: boolean): void {
  out.push(
    content
      ? { kind: 'message_added', index, shape: messageShape(message), message }
      : { kind: 'message_added', index, shape: messageShape(message) },
  );
}

function removed(out: RecordedChange[], index: number, message: AnyMessage, content: boolean): void {
  out.push(
    content
      ? { kind: 'message_removed', index, shape: messageShape(message), message }
      : { kind: 'message_removed', index, shape: messageShape(message) },
  );
}

function changed(out: RecordedChange[], index: number, b: AnyMessage, a: AnyMessage, content: boolean): void {
  const fields: string[] = [];
  const rb = b as unknown as Record<string, unknown>;
  const ra = a as unknown as Record<string, unknown>;
  for (const field of MESSAGE_FIELDS) if (!sameJson(rb[field], ra[field])) fields.push(field);
  if (fields.length === 0) return;
  if (
    fields.length === 1 &&
    fields[0] === 'content' &&
    typeof rb.content === 'string' &&
    typeof ra.content === 'string'
  ) {
    out.push(
      content
        ? {
            kind: 'text_replaced',
            index,
            role: a.role,
            from: rb.content.length,
            to: ra.content.length,
            before: rb.content,
            after: ra.content,
          }
        : { kind: 'text_replaced', index, role: a.role, from: rb.content.length, to: ra.content.length },
    );
    return;
  }
  out.push(
    content
      ? { kind: 'message_changed', index, role: a.role, fields, shape: messageShape(a), before: b, after: a }
      : { kind: 'message_changed', index, role: a.role, fields, shape: messageShape(a) },
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The changes of one `ctx.update`: messages, then options by key, then the other top-level fields. */
export function diffRequest(
  before: ReadonlyModelRequest,
  after: ReadonlyModelRequest,
  content: boolean,
): RecordedChange[] {
  const out: RecordedChange[] = [];
  diffMessages(before.messages, after.messages, content, out);
  if (before.options !== after.options) {
    const b = (before.options ?? {}) as Record<string, unknown>;
    const a = (after.options ?? {}) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (sameJson(b[key], a[key])) continue;
      const show = content || (harmless(b[key] ?? null) && harmless(a[key] ?? null));
      out.push(show ? optionChange(key, b[key], a[key]) : { kind: 'option_changed', key });
    }
  }
  const b = before as unknown as Record<string, unknown>;
  const a = after as unknown as Record<string, unknown>;
  for (const field of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (field === 'messages' || field === 'options' || b[field] === a[field] || sameJson(b[field], a[field])) continue;
    fieldChange(out, field, b[field], a[field], content || field === 'model');
  }
  return out;
}

function optionChange(key: string, before: unknown, after: unknown): RecordedChange {
  const change: { kind: 'option_changed'; key: string; before?: unknown; after?: unknown } = {
    kind: 'option_changed',
    key,
  };
  if (before !== undefined) change.before = before;
  if (after !== undefined) change.after = after;
  return change;
}

function fieldChange(out: RecordedChange[], field: string, before: unknown, after: unknown, show: boolean): void {
  const change: { kind: 'field_changed'; field: string; before?: unknown; after?: unknown } = {
    kind: 'field_changed',
    field,
  };
  if (show || (harmless(before ?? null) && harmless(after ?? null))) {
    if (before !== undefined) change.before = before;
    if (after !== undefined) change.after = after;
  } else if (field === 'tools') {
    // Tool names are not content; the viewer shows which tools a layer added or removed.
    change.before = toolNames(before);
    change.after = toolNames(after);
  }
  out.push(change);
}

function toolNames(tools: unknown): string[] | undefined {
  return Array.isArray(tools) ? tools.map((t: { name?: unknown }) => String(t?.name)) : undefined;
}

/** A response change: its message as message 0, then the other fields. */
export function diffResponse(
  before: ModelResponse | undefined,
  after: ModelResponse | undefined,
  content: boolean,
): RecordedChange[] {
  const out: RecordedChange[] = [];
  diffMessages(before ? [before.message] : [], after ? [after.message] : [], content, out);
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  for (const field of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (field === 'message' || sameJson(b[field], a[field])) continue;
    fieldChange(
      out,
      field,
      b[field],
      a[field],
      content || field === 'finishReason' || field === 'model' || field === 'usage',
    );
  }
  return out;
}

/** An error as recorded: class name, code, layer; the message only when it cannot hold content. */
export function recordError(error: unknown, content: boolean): RecordedError {
  if (!(error instanceof Error)) return { name: typeof error === 'string' ? 'string' : typeof error };
  const e = error as Error & { code?: unknown; layer?: unknown };
  const out: { -readonly [K in keyof RecordedError]: RecordedError[K] } = { name: e.name };
  if (typeof e.code === 'string') out.code = e.code;
  if (typeof e.layer === 'string') out.layer = e.layer;
  // modelware's own messages never print content (docs/security.md); anyone else's might.
  if (content || ModelwareError.isInstance(error)) out.message = e.message;
  out.retryable = isRetryable(error);
  return out;
}
