import { describeValue } from '../../lib/kit.js';
/**
 * Detectors of personal data and secrets for `redactPii()`: the built-in scanners, custom ones,
 * and the matching rule (left to right; where two overlap, the earlier detector wins).
 *
 * Every built-in runs in time linear in its input: the email scanner starts only at an `@` and
 * looks a bounded distance either side; the others are regexes whose every quantifier is bounded,
 * so a failed attempt costs a constant before the scan moves on. Each declares `maxMatch`, the
 * longest match it can produce, which bounds what a stream has to hold back.
 */

export type BuiltinPiiDetector = 'email' | 'phone' | 'credit-card' | 'ipv4' | 'api-key';

/** A custom detector: every match of `pattern` (global or not) that `validate` accepts. */
export interface PiiDetector {
  /** Names the kind in placeholders (`employee-id` → `[REDACTED_EMPLOYEE_ID]`) and violations. */
  readonly name: string;
  readonly pattern: RegExp;
  /** Rejects false positives, e.g. a checksum. */
  readonly validate?: ((match: string) => boolean) | undefined;
  /**
   * The longest match `pattern` can produce; a stream holds back this many characters. A custom
   * pattern is yours to keep linear: bound its quantifiers.
   * @default 256
   */
  readonly maxMatchChars?: number | undefined;
}

/**
 * The spans a detector's scan consumed, flat in `data`: `start, end, accepted (1 or 0)` per span
 * (`accepted` is 0 when `validate` rejected it), `length` numbers in all. A typed array that
 * doubles when full: a scan allocates nothing per near-miss (a plain array's `push` of a million
 * numbers cost more than the scan itself).
 */
export class Spans {
  data = new Int32Array(48);
  length = 0;

  push(start: number, end: number, accepted: 0 | 1): void {
    let data = this.data;
    const at = this.length;
    if (at + 3 > data.length) {
      const grown = new Int32Array(data.length * 2);
      grown.set(data);
      this.data = data = grown;
    }
    data[at] = start;
    data[at + 1] = end;
    data[at + 2] = accepted;
    this.length = at + 3;
  }
}

export interface Detector {
  readonly name: string;
  readonly label: string;
  /** Longest match it can produce, in characters. */
  readonly maxMatch: number;
  /**
   * Appends every span to `out`, left to right and non-overlapping, starting at or after `from`;
   * the text before `from` is only context (a look-behind of one character).
   */
  scan(text: string, from: number, out: Spans): void;
}

export interface Match {
  readonly start: number;
  readonly end: number;
  readonly detector: Detector;
  readonly value: string;
}

export interface Scan {
  /** The accepted matches after overlap resolution, left to right. */
  readonly matches: Match[];
  /** Every span any detector consumed (accepted or not): a stream never cuts inside one. */
  readonly spans: Spans;
}

/** RFC 5321 limits: 64 characters before the `@`, 253 after. */
const EMAIL_LOCAL_MAX = 64;
const EMAIL_DOMAIN_MAX = 253;
const API_KEY_MAX = 256;
/** 13 to 19 digits with single separators between them. */
const CARD_MAX = 37;
const DEFAULT_CUSTOM_MAX = 256;

/** Accepts or rejects `text.slice(start, end)` without slicing it. */
type RangeCheck = (text: string, start: number, end: number) => boolean;

function regexDetector(name: string, pattern: RegExp, maxMatch: number, check?: RangeCheck | undefined): Detector {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  return {
    name,
    label: labelOf(name),
    maxMatch,
    scan(text, from, out) {
      global.lastIndex = from;
      for (let m = global.exec(text); m !== null; m = global.exec(text)) {
        // After a non-empty match `lastIndex` is its end: no substring per candidate.
        const start = m.index;
        const end = global.lastIndex;
        if (end <= start) {
          global.lastIndex = start + 1;
          continue;
        }
        out.push(start, end, check === undefined || check(text, start, end) ? 1 : 0);
      }
    },
  };
}

/** A custom detector's `validate` sees the match as a string; built-ins check char codes in place. */
function customDetector(
  name: string,
  pattern: RegExp,
  maxMatch: number,
  validate: ((match: string) => boolean) | undefined,
): Detector {
  return regexDetector(
    name,
    pattern,
    maxMatch,
    validate && ((text, start, end) => validate(text.slice(start, end)) === true),
  );
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const ipv4 = /(?<![\d.])(?:OCTET\.){3}OCTET(?!\d|\.\d)/.source.replaceAll('OCTET', OCTET);

const BUILTIN: Record<BuiltinPiiDetector, () => Detector> = {
  email: () => ({ name: 'email', label: 'EMAIL', maxMatch: EMAIL_LOCAL_MAX + 1 + EMAIL_DOMAIN_MAX, scan: scanEmails }),
  phone: () =>
    regexDetector(
      'phone',
      /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w)|\+\d{8,15}(?!\w)/,
      36,
      // Dates and version-like runs share the shape; a phone number has 7-15 digits.
      (text, start, end) => {
        const digits = countDigits(text, start, end);
        return digits >= 7 && digits <= 15 && !isDate(text, start, end);
      },
    ),
  'credit-card': () => ({ name: 'credit-card', label: 'CREDIT_CARD', maxMatch: CARD_MAX, scan: scanCards }),
  ipv4: () => regexDetector('ipv4', new RegExp(ipv4), 15),
  // Bounded lengths: a longer token is redacted up to API_KEY_MAX characters, the rest is text.
  'api-key': () =>
    regexDetector(
      'api-key',
      /\bsk-[A-Za-z0-9_-]{20,253}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bghp_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,245}|\bxox[abposr]-[A-Za-z0-9-]{10,251}|\bAIza[0-9A-Za-z_-]{35}/,
      API_KEY_MAX,
    ),
};
export const DEFAULT_DETECTORS: readonly BuiltinPiiDetector[] = ['api-key', 'email', 'credit-card', 'ipv4', 'phone'];

/** The built-in detectors' longest matches, documented in the README and docs/security.md. */
export const BUILTIN_MAX_MATCH: Readonly<Record<BuiltinPiiDetector, number>> = Object.fromEntries(
  Object.entries(BUILTIN).map(([name, make]) => [name, make().maxMatch]),
) as Record<BuiltinPiiDetector, number>;

/**
 * Placeholder-shaped text in content (`[REDACTED_API_KEY_1]`): replaced like a value, so text
 * that imitates a placeholder never reaches the model as one.
 */
export const PLACEHOLDER_LIKE: Detector = regexDetector('placeholder', /\[REDACTED_[A-Za-z0-9_]{1,96}\]/, 108);

function isLocal(c: number): boolean {
  // [A-Za-z0-9._%+-]
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 46 ||
    c === 95 ||
    c === 37 ||
    c === 43 ||
    c === 45
  );
}

function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isLabel(c: number): boolean {
  return isAlpha(c) || (c >= 48 && c <= 57) || c === 45;
}

/**
 * `local@label(.label)*.tld`: starts only at an `@`, takes up to 64 local characters before it
 * (never before the previous match) and the longest domain within 253 characters after it whose
 * last label starts with 2+ letters. Each `@` costs at most the distance to its neighbours.
 */
function scanEmails(text: string, from: number, out: Spans): void {
  let floor = from;
  let at = text.indexOf('@', from);
  while (at !== -1) {
    let start = at;
    const min = Math.max(floor, at - EMAIL_LOCAL_MAX);
    while (start > min && isLocal(text.charCodeAt(start - 1))) start--;
    const end = start < at ? domainEnd(text, at + 1) : -1;
    if (end !== -1) {
      out.push(start, end, 1);
      floor = end;
      at = text.indexOf('@', end);
    } else {
      at = text.indexOf('@', at + 1);
    }
  }
}

/** The end of the longest domain starting at `p`, or -1. */
function domainEnd(text: string, p: number): number {
  const limit = Math.min(text.length, p + EMAIL_DOMAIN_MAX);
  let best = -1;
  let labels = 0;
  let labelStart = p;
  let alpha = 0;
  let inAlpha = true;
  for (let i = p; ; i++) {
    const c = i < limit ? text.charCodeAt(i) : -1;
    if (c !== -1 && isLabel(c)) {
      if (inAlpha && isAlpha(c)) alpha++;
      else inAlpha = false;
      continue;
    }
    if (i === labelStart) break; // an empty label ends the domain
    if (labels >= 1 && alpha >= 2) best = labelStart + alpha;
    labels++;
    if (c !== 46) break; // not a '.'
    labelStart = i + 1;
    alpha = 0;
    inAlpha = true;
  }
  return best;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Where a card number can start: a digit after a non-digit with 12 more digits ahead. A global
 * regex's `test` finds it at native speed and allocates nothing (only `lastIndex` moves).
 */
const CARD_START = /(?<!\d)\d(?=(?:[ -]?\d){12})/g;

/**
 * Credit-card numbers: exactly the matches of `/(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g` (the
 * reference in the tests), checked with Luhn over char codes, with no allocation per candidate. A
 * candidate starts at a digit after a non-digit and takes up to 18 more digits, each after an
 * optional space or hyphen; the longest run of at least 13 digits not followed by a digit wins.
 */
function scanCards(text: string, from: number, out: Spans): void {
  let i = from;
  for (;;) {
    CARD_START.lastIndex = i;
    if (!CARD_START.test(text)) return;
    const start = CARD_START.lastIndex - 1;
    let p = start + 1;
    let end = -1;
    for (let groups = 1; groups <= 18; groups++) {
      const c = text.charCodeAt(p);
      if (isDigit(c)) p++;
      else if ((c === 32 || c === 45) && isDigit(text.charCodeAt(p + 1))) p += 2;
      else break;
      // `(?!\d)` after 12+ groups; a longer run that also ends well replaces it.
      if (groups >= 12 && !isDigit(text.charCodeAt(p))) end = p;
    }
    if (end === -1) {
      i = start + 1;
      continue;
    }
    out.push(start, end, luhn(text, start, end) ? 1 : 0);
    i = end;
  }
}

/**
 * Every accepted match, left to right; where two overlap, the earlier detector's wins. Linear:
 * each detector's matches are merged into the kept ones in one sorted pass.
 */
export function scanText(text: string, detectors: readonly Detector[], from = 0): Scan {
  let kept: Match[] = [];
  const spans = new Spans();
  for (const detector of detectors) {
    const first = spans.length;
    detector.scan(text, from, spans);
    const data = spans.data;
    const accepted: Match[] = [];
    let j = 0;
    for (let i = first; i < spans.length; i += 3) {
      if (data[i + 2] === 0) continue;
      const start = data[i] as number;
      const end = data[i + 1] as number;
      while (j < kept.length && (kept[j] as Match).end <= start) j++;
      if (j < kept.length && (kept[j] as Match).start < end) continue;
      accepted.push({ start, end, detector, value: text.slice(start, end) });
    }
    if (accepted.length > 0) kept = kept.length === 0 ? accepted : mergeSorted(kept, accepted);
  }
  return { matches: kept, spans };
}

export function findMatches(text: string, detectors: readonly Detector[]): Match[] {
  return scanText(text, detectors).matches;
}

function mergeSorted(a: Match[], b: Match[]): Match[] {
  const out: Match[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && (a[i] as Match).start < (b[j] as Match).start)) out.push(a[i++] as Match);
    else out.push(b[j++] as Match);
  }
  return out;
}

export function mask(value: string): string {
  const keep = Math.max(0, value.length - 4);
  return value.slice(0, keep).replace(/[A-Za-z0-9]/g, '*') + value.slice(keep);
}

/** Luhn's checksum over the digits of `text[start, end)`, separators skipped. */
function luhn(text: string, start: number, end: number): boolean {
  let sum = 0;
  let odd = false;
  for (let i = end - 1; i >= start; i--) {
    let d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    if (odd) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    odd = !odd;
    sum += d;
  }
  return sum % 10 === 0;
}

function countDigits(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (isDigit(text.charCodeAt(i))) n++;
  return n;
}

/** `dddd-dd-dd`: a date, not a phone number. */
function isDate(text: string, start: number, end: number): boolean {
  return (
    end - start === 10 &&
    text.charCodeAt(start + 4) === 45 &&
    text.charCodeAt(start + 7) === 45 &&
    countDigits(text, start, end) === 8
  );
}

function labelOf(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

export function toDetectors(requested: readonly (BuiltinPiiDetector | PiiDetector)[]): Detector[] {
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new TypeError(
      `redactPii(): expected \`detectors\` to be a non-empty array of built-in names (${DEFAULT_DETECTORS.join(', ')}) or { name, pattern } objects, got ${describeValue(requested)}.`,
    );
  }
  return requested.map((entry, i) => {
    if (typeof entry === 'string') {
      if (!Object.hasOwn(BUILTIN, entry)) {
        throw new TypeError(
          `redactPii(): unknown detector \`${entry}\` in \`detectors[${i}]\`; built-ins are ${DEFAULT_DETECTORS.join(', ')}.`,
        );
      }
      return BUILTIN[entry as BuiltinPiiDetector]();
    }
    const { name, pattern, validate, maxMatchChars = DEFAULT_CUSTOM_MAX } = (entry ?? {}) as Partial<PiiDetector>;
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name) || !(pattern instanceof RegExp)) {
      throw new TypeError(
        `redactPii(): \`detectors[${i}]\` must be a built-in name or { name: 'up to 64 letters, digits, - or _', pattern: RegExp, validate?, maxMatchChars? }, got ${typeof entry === 'object' ? JSON.stringify({ name, pattern: String(pattern) }) : String(entry)}.`,
      );
    }
    if (validate !== undefined && typeof validate !== 'function') {
      throw new TypeError(`redactPii(): \`detectors[${i}].validate\` must be a function, got ${typeof validate}.`);
    }
    if (!Number.isInteger(maxMatchChars) || maxMatchChars < 1) {
      throw new TypeError(
        `redactPii(): expected \`detectors[${i}].maxMatchChars\` to be a positive integer, got ${describeValue(maxMatchChars)}.`,
      );
    }
    return customDetector(name, pattern, maxMatchChars, validate);
  });
}
