import type { Immutable } from 'immer';
import type { Message } from './messages.js';
import type { MessageFingerprint } from './recording.js';

/**
 * Fingerprints: how a recording says which request an executor received without holding its
 * content, and how a replay tells whether a new request is the same. A hash is 53 bits
 * (cyrb53, non-cryptographic) in base 36; it shows equality, not content.
 */

/** A 53-bit hash of a string, base 36. */
export function hashText(text: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** JSON with object keys sorted, so equal data hashes equal whatever the key order. */
export function stableJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** A hash of any JSON-like value (`stableJson`, then `hashText`). */
export function hashValue(value: unknown): string {
  return hashText(stableJson(value));
}

// Messages keep their identity across turns (structural sharing), so each is fingerprinted once.
const fingerprints = new WeakMap<object, MessageFingerprint>();

/**
 * A message's fingerprint: its role, a hash of its content, and the fields that are not content
 * (`toolCallId`, `toolName`, `isError`). Cached per message object.
 *
 * @example
 * messageFingerprint({ role: 'user', content: 'hi' }); // { role: 'user', content: '1x8k0…' }
 */
export function messageFingerprint(message: Message | Immutable<Message>): MessageFingerprint {
  const cached = fingerprints.get(message);
  if (cached) return cached;
  const fp: { -readonly [K in keyof MessageFingerprint]: MessageFingerprint[K] } = {
    role: message.role,
    content: hashValue(message.content),
  };
  if (message.role === 'tool') {
    fp.toolCallId = message.toolCallId;
    fp.toolName = message.toolName;
    if (message.isError) fp.isError = true;
  }
  fingerprints.set(message, fp);
  return fp;
}

/** The fields of two fingerprints that differ, first the role. */
export function fingerprintDifference(a: MessageFingerprint, b: MessageFingerprint): string | undefined {
  for (const field of ['role', 'content', 'toolCallId', 'toolName', 'isError'] as const) {
    if (a[field] !== b[field]) return field;
  }
  return undefined;
}

/**
 * The messages' hash, folded one fingerprint at a time: `chainHash(previous, fp)`, starting from
 * `''`. A writer that keeps the hash of a prefix extends it with the new messages only.
 */
export function chainHash(previous: string, fp: MessageFingerprint): string {
  return hashText(
    `${previous}\u0000${fp.role}:${fp.content}:${fp.toolCallId ?? ''}:${fp.toolName ?? ''}:${fp.isError ? 1 : 0}`,
  );
}

/** `chainHash` over a whole list. */
export function messagesHash(fps: readonly MessageFingerprint[]): string {
  let h = '';
  for (const fp of fps) h = chainHash(h, fp);
  return h;
}

/** The hash of a whole request as `dispatch` records it (`requestHash`). */
export function requestHashOf(model: string, messagesHash: string, optionsHash: string, toolsHash: string): string {
  return hashText(`${model}\u0000${messagesHash}\u0000${optionsHash}\u0000${toolsHash}`);
}
