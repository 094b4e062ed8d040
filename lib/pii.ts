/**
 * Detectors of personal data and secrets for `redactPii()`: the built-in patterns, custom ones,
 * and the matching rule (left to right; where two overlap, the earlier detector wins).
 */

export type BuiltinPiiDetector = 'email' | 'phone' | 'credit-card' | 'ipv4' | 'api-key';

/** A custom detector: every match of `pattern` (global or not) that `validate` accepts. */
export interface PiiDetector {
  /** Names the kind in placeholders (`employee-id` → `[REDACTED_EMPLOYEE_ID]`) and violations. */
  readonly name: string;
  readonly pattern: RegExp;
  /** Rejects false positives, e.g. a checksum. */
  readonly validate?: ((match: string) => boolean) | undefined;
}

export interface Detector {
  readonly name: string;
  readonly label: string;
  readonly pattern: RegExp;
  readonly validate: ((match: string) => boolean) | undefined;
}

export interface Match {
  readonly start: number;
  readonly end: number;
  readonly detector: Detector;
  readonly value: string;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

const BUILTIN: Record<BuiltinPiiDetector, Omit<PiiDetector, 'name'>> = {
  email: { pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  phone: {
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w)|\+\d{8,15}(?!\w)/g,
    // Dates and version-like runs share the shape; a phone number has 7-15 digits.
    validate: (match) => {
      const digits = match.replace(/\D/g, '').length;
      return digits >= 7 && digits <= 15 && !/^\d{4}-\d{2}-\d{2}$/.test(match);
    },
  },
  'credit-card': { pattern: /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g, validate: luhn },
  ipv4: { pattern: new RegExp(`(?<![\\d.])(?:${OCTET}\\.){3}${OCTET}(?!\\d|\\.\\d)`, 'g') },
  'api-key': {
    pattern:
      /\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{20,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bghp_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}/g,
  },
};
export const DEFAULT_DETECTORS: readonly BuiltinPiiDetector[] = ['api-key', 'email', 'credit-card', 'ipv4', 'phone'];

/** Every accepted match, left to right; where two overlap, the earlier detector's wins. */
export function findMatches(text: string, detectors: readonly Detector[]): Match[] {
  const all: (Match & { rank: number })[] = [];
  detectors.forEach((detector, rank) => {
    for (const m of text.matchAll(detector.pattern)) {
      if (m[0].length === 0 || (detector.validate && !detector.validate(m[0]))) continue;
      all.push({ start: m.index, end: m.index + m[0].length, detector, value: m[0], rank });
    }
  });
  if (all.length <= 1) return all;
  all.sort((a, b) => a.rank - b.rank || a.start - b.start);
  const kept: Match[] = [];
  for (const m of all) if (!kept.some((k) => m.start < k.end && k.start < m.end)) kept.push(m);
  return kept.sort((a, b) => a.start - b.start);
}

export function mask(value: string): string {
  const keep = Math.max(0, value.length - 4);
  return value.slice(0, keep).replace(/[A-Za-z0-9]/g, '*') + value.slice(keep);
}

function luhn(match: string): boolean {
  const digits = match.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function toDetectors(requested: readonly (BuiltinPiiDetector | PiiDetector)[]): Detector[] {
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new TypeError(
      `redactPii(): expected \`detectors\` to be a non-empty array of built-in names (${DEFAULT_DETECTORS.join(', ')}) or { name, pattern } objects, got \`${String(requested)}\`.`,
    );
  }
  return requested.map((entry, i) => {
    const spec: PiiDetector | undefined =
      typeof entry === 'string'
        ? Object.hasOwn(BUILTIN, entry)
          ? { name: entry, ...BUILTIN[entry as BuiltinPiiDetector] }
          : undefined
        : entry;
    if (typeof entry === 'string' && !spec) {
      throw new TypeError(
        `redactPii(): unknown detector \`${entry}\` in \`detectors[${i}]\`; built-ins are ${DEFAULT_DETECTORS.join(', ')}.`,
      );
    }
    const { name, pattern, validate } = (spec ?? {}) as Partial<PiiDetector>;
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name) || !(pattern instanceof RegExp)) {
      throw new TypeError(
        `redactPii(): \`detectors[${i}]\` must be a built-in name or { name: 'letters, digits, - or _', pattern: RegExp, validate? }, got ${typeof entry === 'object' ? JSON.stringify({ name, pattern: String(pattern) }) : String(entry)}.`,
      );
    }
    if (validate !== undefined && typeof validate !== 'function') {
      throw new TypeError(`redactPii(): \`detectors[${i}].validate\` must be a function, got ${typeof validate}.`);
    }
    const flags = pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`;
    return {
      name,
      label: name.toUpperCase().replace(/-/g, '_'),
      pattern: new RegExp(pattern.source, flags),
      validate,
    };
  });
}
