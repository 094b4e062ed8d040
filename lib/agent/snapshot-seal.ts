import { createHmac, timingSafeEqual } from 'node:crypto';
import { SnapshotError } from '../core/errors.js';
import { checkKeys, describeValue, optionNames } from '../internal/options.js';
import { type RunSnapshot, loadRunSnapshot } from './snapshot.js';

/** A secret for `sealRunSnapshot` / `openRunSnapshot`: a string or bytes, at least 32 bytes long. */
export type SnapshotKey = string | Uint8Array;

/** Options of `sealRunSnapshot()`. */
export interface SealRunSnapshotOptions {
  /** The secret that signs (HMAC-SHA256). At least 32 bytes; keep it out of the snapshot's reach. */
  readonly key: SnapshotKey;
}

/** Options of `openRunSnapshot()`. */
export interface OpenRunSnapshotOptions {
  /**
   * The secret(s) a sealed snapshot may be signed with. Several during a key rotation: sign with
   * the new key, accept the old one until every snapshot sealed with it has been resumed.
   */
  readonly key: SnapshotKey | readonly SnapshotKey[];
  /** The longest sealed text accepted, in characters. @default 64 MiB (67_108_864) */
  readonly maxChars?: number | undefined;
}

const PREFIX = 'mwsnap1.';
const MIN_KEY_BYTES = 32;
const SEAL_KEYS = optionNames<SealRunSnapshotOptions>({ key: true });
const OPEN_KEYS = optionNames<OpenRunSnapshotOptions>({ key: true, maxChars: true });

/**
 * Seals a snapshot for a trip through hands you do not trust (a browser, a queue, a ticket): the
 * JSON text with an HMAC-SHA256 signature in front, `mwsnap1.<signature>.<json>`. Only
 * `openRunSnapshot` with the same key gets it back; an edit to any character (a pending call's
 * input, a result, the run id) is refused. The text is signed, not encrypted: it still holds the
 * conversation in clear.
 *
 * @example
 * const sealed = sealRunSnapshot(result.snapshot, { key: process.env.SNAPSHOT_KEY });
 * // ... later, in another process:
 * await runAgent({ model, tools, resume: { snapshot: openRunSnapshot(sealed, { key }), decisions } });
 */
export function sealRunSnapshot(snapshot: RunSnapshot, options: SealRunSnapshotOptions): string {
  const where = 'sealRunSnapshot()';
  checkKeys(where, options, SEAL_KEYS);
  const key = checkKey(where, options?.key);
  // Checked before it is signed: a seal vouches only for a snapshot that loads.
  const json = JSON.stringify(loadRunSnapshot(snapshot));
  return `${PREFIX}${sign(key, json)}.${json}`;
}

/**
 * Checks the signature of a sealed snapshot in constant time against each key, then loads it
 * with `loadRunSnapshot` (every check of an unsealed snapshot still applies).
 *
 * @throws SnapshotError `SNAPSHOT_BAD_SIGNATURE` (not sealed, sealed with another key, or edited), or any
 * code of `loadRunSnapshot`.
 */
export function openRunSnapshot(sealed: string, options: OpenRunSnapshotOptions): RunSnapshot {
  const where = 'openRunSnapshot()';
  checkKeys(where, options, OPEN_KEYS);
  const given = options?.key;
  const keys = (Array.isArray(given) ? given : [given]).map((k) => checkKey(where, k));
  if (keys.length === 0)
    throw new TypeError(`${where}: expected \`key\` to hold at least one key, got an empty array.`);
  const maxChars = options.maxChars ?? 67_108_864;
  if (!Number.isSafeInteger(maxChars) || maxChars < 1) {
    throw new TypeError(`${where}: expected \`maxChars\` to be a positive integer, got ${describeValue(maxChars)}.`);
  }
  if (typeof sealed !== 'string') {
    throw badSignature(`${where}: expected the string sealRunSnapshot() returned, got ${describeValue(sealed)}.`);
  }
  if (sealed.length > maxChars) {
    throw badSignature(
      `${where}: the sealed text has ${sealed.length} characters, more than maxChars (${maxChars}). Raise maxChars if snapshots this large are expected.`,
    );
  }
  const dot = sealed.indexOf('.', PREFIX.length);
  if (!sealed.startsWith(PREFIX) || dot === -1) {
    throw badSignature(
      `${where}: the text is not a sealed snapshot (it does not start with \`${PREFIX}<signature>.\`). Seal snapshots with sealRunSnapshot(), or load an unsealed one with loadRunSnapshot().`,
    );
  }
  // Compared as text, not decoded: base64url decoding ignores a last character's spare bits and
  // skips stray characters, so two texts could decode to one signature.
  const signature = Buffer.from(sealed.slice(PREFIX.length, dot), 'latin1');
  const json = sealed.slice(dot + 1);
  const valid = keys.some((key) => {
    const expected = Buffer.from(sign(key, json), 'latin1');
    return expected.length === signature.length && timingSafeEqual(expected, signature);
  });
  if (!valid) {
    throw badSignature(
      `${where}: the signature does not match: the snapshot was edited, or sealed with a key not in \`key\`. Nothing was loaded.`,
    );
  }
  return loadRunSnapshot(json);
}

function sign(key: Uint8Array, json: string): string {
  return createHmac('sha256', key).update(PREFIX).update(json).digest('base64url');
}

function checkKey(where: string, key: unknown): Uint8Array {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key instanceof Uint8Array ? key : undefined;
  if (bytes === undefined) {
    throw new TypeError(`${where}: expected \`key\` to be a string or a Uint8Array, got ${describeValue(key)}.`);
  }
  if (bytes.length < MIN_KEY_BYTES) {
    throw new TypeError(
      `${where}: \`key\` has ${bytes.length} bytes; use at least ${MIN_KEY_BYTES} random bytes (e.g. crypto.randomBytes(32).toString('base64')).`,
    );
  }
  return bytes;
}

function badSignature(message: string): SnapshotError {
  return new SnapshotError({ code: 'SNAPSHOT_BAD_SIGNATURE', message });
}
