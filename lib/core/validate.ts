import type { z } from 'zod';
import { InvalidRequestError, InvalidResponseError, type IssuePath } from './errors.js';
import type { ReadonlyModelRequest } from './executor.js';
import { isValidArray, markValid } from '../internal/provenance.js';
import { isQuickValidMessage, isQuickValidResponse } from '../internal/quick-check.js';
import type { Touched } from '../internal/track.js';
import { type Checked, knownPrefix, remember } from './validated-prefix.js';
import {
  CallOptionsSchema,
  type Message,
  MessageSchema,
  ModelResponseSchema,
  type ToolCallPart,
  type ToolMessage,
  ResponseFormatSchema,
  ToolSpecSchema,
  toolCallsOf,
} from './messages.js';

/**
 * Validation only checks: zod's parse output is discarded so the caller's objects (and every
 * WeakMap cache keyed by them) survive. A message object that passed once is remembered with the
 * fields that decide its validity and its pairing (role, content, tool-call id), so a transcript is
 * checked once per message, not once per call, and a caller who edits one of those fields in place
 * between calls gets it checked again. (An edit deep inside a content array is not seen; the
 * read-only types forbid it.)
 */
const validMessages = new WeakMap<object, Fingerprint>();

interface Fingerprint {
  readonly role: unknown;
  readonly content: unknown;
  readonly toolCallId: unknown;
}

function fingerprintMatches(message: object, seen: Fingerprint | undefined): boolean {
  const m = message as Record<string, unknown>;
  return seen !== undefined && seen.role === m.role && seen.content === m.content && seen.toolCallId === m.toolCallId;
}

type Issue = z.core.$ZodIssue;

interface Problem {
  readonly path: IssuePath;
  readonly issues: readonly Issue[];
}

export function formatPath(path: IssuePath): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out || '(root)';
}

/**
 * The same knowledge kept on the message itself, for frozen messages the library builds (tool
 * results, compacted and truncated copies): a property read costs a tenth of a WeakSet lookup, and
 * a compacted view re-sends hundreds of such messages on every call. Non-enumerable, so a copy
 * (spread, Immer) never carries it.
 */
const VALID = Symbol('modelware.valid');

/** Checks a message the library built, marks it valid if it is, and freezes it (shallowly). */
export function sealMessage<T extends object>(message: T): Readonly<T> {
  if (checkMessage(message, 0) === undefined) Object.defineProperty(message, VALID, { value: true });
  return Object.freeze(message);
}

function checkMessage(message: unknown, index: number): Problem | undefined {
  if (typeof message === 'object' && message !== null) {
    if ((message as { [VALID]?: boolean })[VALID] === true) return undefined;
    if (isQuickValidMessage(message)) return undefined;
    if (fingerprintMatches(message, validMessages.get(message))) return undefined;
  }
  const result = MessageSchema.safeParse(message);
  if (!result.success) return prefixed(['messages', index], result.error.issues);
  const m = message as Record<string, unknown>;
  validMessages.set(message as object, { role: m.role, content: m.content, toolCallId: m.toolCallId });
  return undefined;
}

function prefixed(prefix: IssuePath, issues: readonly Issue[]): Problem {
  const full = issues.map((issue) => ({ ...issue, path: [...prefix, ...issue.path] }) as Issue);
  return { path: full[0]?.path ?? prefix, issues: full };
}

function custom(path: IssuePath, message: string): Problem {
  return { path, issues: [{ code: 'custom', path: path as PropertyKey[], message, input: undefined } as Issue] };
}

/**
 * Every tool message must answer a tool call of an earlier assistant message, with the same tool
 * name, and at most once.
 */
export function checkToolPairing(
  messages: readonly Message[] | ReadonlyModelRequest['messages'],
  from = 0,
  before?: Checked,
): Problem | undefined {
  // With `before`, the messages below `from` are paired already and `before` holds their calls and
  // answers; this check's own are kept apart, since it must not change the record.
  let calls: Map<string, string> | undefined;
  let answered: Set<string> | undefined;
  for (let i = from; i < messages.length; i++) {
    const m = messages[i] as Message;
    if (m.role === 'assistant') {
      if (typeof m.content === 'string') continue;
      for (const part of m.content) {
        if (part.type === 'tool-call') (calls ??= new Map()).set(part.toolCallId, part.toolName);
      }
    } else if (m.role === 'tool') {
      const name = calls?.get(m.toolCallId) ?? before?.calls.get(m.toolCallId);
      if (name === undefined) {
        return custom(
          ['messages', i, 'toolCallId'],
          `tool result \`${m.toolCallId}\` has no matching tool call in an earlier assistant message`,
        );
      }
      if (name !== m.toolName) {
        return custom(
          ['messages', i, 'toolName'],
          `tool result \`${m.toolCallId}\` names tool \`${m.toolName}\` but the call was to \`${name}\``,
        );
      }
      if ((answered ??= new Set()).has(m.toolCallId) || before?.answered.has(m.toolCallId)) {
        return custom(['messages', i, 'toolCallId'], `tool call \`${m.toolCallId}\` is answered more than once`);
      }
      answered.add(m.toolCallId);
    }
  }
  return undefined;
}

/**
 * Frozen tool specs and call options that passed once. An agent run sends the same objects on
 * every call (`tool()` freezes its spec), and a zod parse of a spec costs microseconds.
 */
const validParts = new WeakSet<object>();

function checkFields(request: ReadonlyModelRequest, before: ReadonlyModelRequest | undefined): Problem | undefined {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return custom(
      [],
      `expected a request object { model, messages }, got ${request === null ? 'null' : typeof request}`,
    );
  }
  // `before?.model` alone would let a request with no model through a full check (undefined === undefined).
  if (
    (!before || request.model !== before.model) &&
    (typeof request.model !== 'string' || request.model.length === 0)
  ) {
    return custom(['model'], 'expected `model` to be a non-empty string');
  }
  if (!Array.isArray(request.messages)) return custom(['messages'], 'expected `messages` to be an array');
  const unknown = unknownRequestKey(request);
  if (unknown !== undefined) {
    return {
      path: [],
      issues: [
        {
          code: 'unrecognized_keys',
          keys: [unknown],
          path: [],
          message: `unknown key \`${unknown}\``,
          input: undefined,
        } as unknown as Issue,
      ],
    };
  }
  if (request.tools !== before?.tools && request.tools !== undefined) {
    if (!Array.isArray(request.tools)) return custom(['tools'], 'expected `tools` to be an array');
    for (let i = 0; i < request.tools.length; i++) {
      const spec = request.tools[i];
      if (validParts.has(spec as object)) continue;
      const result = ToolSpecSchema.safeParse(spec);
      if (!result.success) return prefixed(['tools', i], result.error.issues);
      if (Object.isFrozen(spec)) validParts.add(spec as object);
    }
  }
  if (request.responseFormat !== before?.responseFormat && request.responseFormat !== undefined) {
    const result = ResponseFormatSchema.safeParse(request.responseFormat);
    if (!result.success) return prefixed(['responseFormat'], result.error.issues);
  }
  if (request.options !== before?.options && request.options !== undefined && !validParts.has(request.options)) {
    const result = CallOptionsSchema.safeParse(request.options);
    if (!result.success) return prefixed(['options'], result.error.issues);
    if (Object.isFrozen(request.options)) validParts.add(request.options);
  }
  if (
    request.metadata !== before?.metadata &&
    request.metadata !== undefined &&
    (typeof request.metadata !== 'object' || request.metadata === null || Array.isArray(request.metadata))
  ) {
    return custom(['metadata'], 'expected `metadata` to be a plain object');
  }
  return undefined;
}

/** The first key a request may not have (the request schema is strict), checked on every call: a few ns. */
function unknownRequestKey(request: object): string | undefined {
  for (const key in request) {
    switch (key) {
      case 'model':
      case 'messages':
      case 'tools':
      case 'responseFormat':
      case 'options':
      case 'metadata':
        continue;
      default:
        return key;
    }
  }
  return undefined;
}

/**
 * Whether two messages carry the same tool-call ids and names, in order (an assistant message's
 * tool calls, or a tool result's answer). Compared field by field: no separator can make different
 * ids read the same, and nothing is allocated on this hot path (every compacted message of every
 * call goes through it).
 */
function sameToolIds(a: Message, b: Message): boolean {
  if (a.role === 'tool' || b.role === 'tool') {
    return (
      a.role === b.role &&
      (a as ToolMessage).toolCallId === (b as ToolMessage).toolCallId &&
      (a as ToolMessage).toolName === (b as ToolMessage).toolName
    );
  }
  const x = toolCallsOf(a);
  const y = toolCallsOf(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const p = x[i] as ToolCallPart;
    const q = y[i] as ToolCallPart;
    if (p.toolCallId !== q.toolCallId || p.toolName !== q.toolName) return false;
  }
  return true;
}

/** Whether `sealMessage` found this message valid. */
export function isSealedValid(message: object): boolean {
  return (message as { [VALID]?: boolean })[VALID] === true;
}

/** Full check of a request: every field, every message not seen before, tool pairing. */
export function findRequestProblem(request: ReadonlyModelRequest): Problem | undefined {
  const problem = checkFields(request, undefined);
  if (problem) return problem;
  const { messages } = request;
  if (isValidArray(messages)) return undefined;
  // A frozen array of frozen messages is checked once, as a whole. A caller's own array may be pushed
  // to or copied between calls, and a message in it (even in a frozen array) edited in place: what
  // an earlier check of its history covers is skipped (see validated-prefix.ts).
  const known = knownPrefix(messages);
  const from = known?.length ?? 0;
  for (let i = from; i < messages.length; i++) {
    const p = checkMessage(messages[i], i);
    if (p) return p;
  }
  const pairing = checkToolPairing(messages, from, known?.record);
  if (pairing) return pairing;
  if (Object.isFrozen(messages) && everyFrozen(messages)) markValid(messages);
  else remember(messages, known);
  return undefined;
}

/** Whether no message of `messages` can be edited in place (its role, content or ids). */
function everyFrozen(messages: readonly unknown[]): boolean {
  for (let i = 0; i < messages.length; i++) if (!Object.isFrozen(messages[i])) return false;
  return true;
}

/**
 * Check only what changed between two versions of a request. Messages that kept their identity are
 * skipped; an in-place replacement that keeps the tool-call ids of the message it replaces (the
 * common case: compacting or redacting content) needs no pairing pass.
 */
export function findUpdateProblem(
  before: ReadonlyModelRequest,
  after: ReadonlyModelRequest,
  touched?: Touched,
): Problem | undefined {
  if (after === before) return undefined;
  const problem = checkFields(after, before);
  if (problem) return problem;
  const a = before.messages;
  const b = after.messages;
  if (a === b) return undefined;
  if (touched && !touched.all) return checkTouched(a, b, touched.indices);
  let pairingNeeded = a.length !== b.length;
  for (let i = 0; i < b.length; i++) {
    const m = b[i];
    const old = a[i];
    // Past the old end, a hole (undefined) is not "the same message".
    if (m === old && i < a.length) continue;
    // The common replacement, inline: a library-built tool result in place of one with the same ids
    // (compaction, truncation). Hundreds per call in a long run, so no call and no lookup.
    if (
      (m as { [VALID]?: boolean } | null)?.[VALID] === true &&
      m?.role === 'tool' &&
      old?.role === 'tool' &&
      m.toolCallId === old.toolCallId &&
      m.toolName === old.toolName
    ) {
      continue;
    }
    const p = checkMessage(m, i);
    if (p) return p;
    if (!pairingNeeded) pairingNeeded = old === undefined || !sameToolIds(old as Message, m as Message);
  }
  return pairingNeeded ? checkToolPairing(b) : undefined;
}

/** Like the walk in `findUpdateProblem`, over the touched indices and any new tail only. */
function checkTouched(a: readonly unknown[], b: readonly unknown[], indices: readonly number[]): Problem | undefined {
  let pairingNeeded = a.length !== b.length;
  for (const i of indices) {
    const m = b[i];
    if (i >= b.length || m === a[i]) continue;
    const p = checkMessage(m, i);
    if (p) return p;
    if (!pairingNeeded) pairingNeeded = i >= a.length || !sameToolIds(a[i] as Message, m as Message);
  }
  for (let i = a.length; i < b.length; i++) {
    const p = checkMessage(b[i], i);
    if (p) return p;
  }
  return pairingNeeded ? checkToolPairing(b as readonly Message[]) : undefined;
}

function describeProblem(problem: Problem, response = false): string {
  const first = problem.issues[0];
  const more = problem.issues.length > 1 ? ` (and ${problem.issues.length - 1} more issue(s))` : '';
  const text =
    first?.code === 'unrecognized_keys' && !response
      ? problem.path.length === 0
        ? requestKeyText(first.keys[0] ?? '')
        : unknownKeyText(first.keys, problem.path)
      : first?.message;
  return `${formatPath(problem.path)}: ${text ?? 'invalid'}${more}`;
}

const REQUEST_KEYS = ['model', 'messages', 'tools', 'responseFormat', 'options', 'metadata'];

function requestKeyText(key: string): string {
  const near = nearest(key, REQUEST_KEYS);
  return `unknown key \`${key}\`${near ? ` (did you mean \`${near}\`?)` : ''}; a request has model, messages, tools, responseFormat, options and metadata (provider fields go in \`options.openai\`, \`options.anthropic\` or \`options.providerOptions\`, your own data in \`metadata\`)`;
}

const MESSAGE_KEYS = ['role', 'content', 'toolCallId', 'toolName', 'isError', 'cacheControl'];
const PART_KEYS = [
  'type',
  'text',
  'image',
  'mediaType',
  'signature',
  'providerMetadata',
  'toolCallId',
  'toolName',
  'input',
  'cacheControl',
];

/** `unknown key `contnet` (did you mean `content`?)`: the keys a strict schema refused, with the nearest known one. */
function unknownKeyText(keys: readonly string[], path: IssuePath): string {
  const last = path.at(-1);
  const known =
    last === 'options'
      ? Object.keys(CallOptionsSchema.shape)
      : path[0] === 'tools'
        ? Object.keys(ToolSpecSchema.shape)
        : path.includes('content')
          ? PART_KEYS
          : MESSAGE_KEYS;
  const named = keys.map((key) => {
    const near = nearest(key, known);
    return `\`${key}\`${near ? ` (did you mean \`${near}\`?)` : ''}`;
  });
  const provider =
    last === 'options'
      ? '; provider fields go in `options.openai`, `options.anthropic` or `options.providerOptions`'
      : '';
  return `unknown key${keys.length > 1 ? 's' : ''} ${named.join(', ')}${provider}`;
}

/** The known key closest to `key` by edit distance, if close enough to be a typo or another casing. */
function nearest(key: string, known: readonly string[]): string | undefined {
  if (key.length > 64) return undefined;
  const folded = key.toLowerCase().replace(/_/g, '');
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    if (c === folded || c.startsWith(folded) || c.replace('output', '') === folded) return candidate;
    const d = distance(folded, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best;
}

/** Levenshtein distance of two short strings (both at most 64 characters here). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] as number) + 1,
        (row[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * The one way an `InvalidRequestError` is built. `phrase` wraps the problem's description
 * (`messages[3].toolCallId: ...`) in a sentence for other subjects than a request.
 */
export function requestError(
  problem: Problem,
  layer: string,
  phrase?: (detail: string) => string,
): InvalidRequestError {
  const detail = describeProblem(problem);
  const message = phrase
    ? phrase(detail)
    : layer === 'caller'
      ? `Invalid request: ${detail}. Fix the request before calling generate() or stream().`
      : `\`${layer}\` produced an invalid request: ${detail}. The request was left as it was before this update.`;
  return new InvalidRequestError({ layer, path: problem.path, issues: problem.issues, message });
}

export function validateRequest(request: ReadonlyModelRequest, layer: string): void {
  const problem = findRequestProblem(request);
  if (problem) throw requestError(problem, layer);
}

export function validateUpdate(
  before: ReadonlyModelRequest,
  after: ReadonlyModelRequest,
  layer: string,
  touched?: Touched,
): void {
  const problem = findUpdateProblem(before, after, touched);
  if (problem) throw requestError(problem, layer);
}

const validResponses = new WeakSet<object>();

export function validateResponse(response: unknown, source: string): void {
  if (isQuickValidResponse(response)) return;
  if (typeof response === 'object' && response !== null && validResponses.has(response)) return;
  const result = ModelResponseSchema.safeParse(response);
  if (!result.success) {
    const problem = prefixed([], result.error.issues);
    throw new InvalidResponseError({
      source,
      path: problem.path,
      issues: problem.issues,
      message: `\`${source}\` returned an invalid response: ${describeProblem(problem, true)}. Responses must match ModelResponseSchema ({ message: { role: 'assistant', content }, finishReason }).`,
    });
  }
  validResponses.add(response as object);
}

/**
 * For `ctx.replaceMessages()`: checks the messages at `indices` of `after`, an array as long as
 * `before` holding `before`'s messages or replacements checked earlier. Each new one must be a
 * valid message; the tool pairing of the whole array is checked when one does not keep the
 * tool-call ids of the message it replaces, or when `pairing` is set (carried-over replacements
 * that changed ids). `idsKept`: every new replacement kept them.
 */
export function checkReplacements(
  before: readonly unknown[],
  after: readonly unknown[],
  indices: Iterable<number>,
  pairing: boolean,
): { readonly problem: Problem | undefined; readonly idsKept: boolean } {
  let idsKept = true;
  for (const i of indices) {
    const m = after[i];
    const old = before[i];
    if (m === old) continue;
    const problem = checkMessage(m, i);
    if (problem) return { problem, idsKept: false };
    if (idsKept) idsKept = sameToolIds(old as Message, m as Message);
  }
  return { problem: pairing || !idsKept ? checkToolPairing(after as readonly Message[]) : undefined, idsKept };
}
