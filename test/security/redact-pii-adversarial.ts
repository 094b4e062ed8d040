// Adversarial inputs for redactPii's detectors, shared by the time-bounded tests (run in a worker)
// and bench/redact.bench.ts. Each is about `size` characters of near-misses built for one detector:
// text that keeps a detector busy without ever (or rarely) matching.

const repeat = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

/** Base64-like text: long alphanumeric runs with `+` and `/`, no `@` (the 20-second input of issue 9). */
export function base64(size: number): string {
  let out = '';
  let seed = 7;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  while (out.length < size) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out += alphabet[seed % 64];
  }
  return out;
}

/** Prose with a sprinkling of real values. */
export function natural(size: number): string {
  return repeat(
    'The quarterly report is due on 2024-01-15; ask the team, version 1.2.3 ships next week. ' +
      'Contact jane.doe@example.com or +1 (555) 123-4567 about order 12345 and server 10.0.0.12. ',
    size,
  );
}

/**
 * Near-misses per detector, plus inputs of dense matches (named so): a match every few characters
 * is bound by allocating the matches, not by scanning.
 */
export const ADVERSARIAL: Record<string, (size: number) => string> = {
  'email: local run without @': (size) => base64(size),
  'email: 64-char local parts and a domain with no TLD': (size) =>
    repeat(`${'a'.repeat(63)}@${'b1.'.repeat(80)}1 `, size),
  'email: @ after @': (size) => repeat('a@', size),
  'email: dotted run with @ and a 1-letter TLD': (size) => repeat('a.a@a.a ', size),
  'email: dense matches': (size) => repeat('a.a@a.aa ', size),
  'phone: prefixes and groups ending in a letter': (size) => repeat('+12 (1234) 12x ', size),
  'phone: dense 2-digit groups': (size) => repeat('12 ', size),
  'credit-card: 12 digits then a letter': (size) => repeat('4111 1111 1111x ', size),
  'credit-card: 16 digits failing Luhn': (size) => repeat('4111 1111 1111 1112 x ', size),
  'credit-card: spaced single digits': (size) => repeat('1 ', size),
  'ipv4: endless dotted octets': (size) => repeat('255.', size),
  'ipv4: octets out of range': (size) => repeat('256.1.1.1 ', size),
  'api-key: sk- with 19 key characters': (size) => repeat(`sk-${'a'.repeat(19)} `, size),
  'api-key: sk-a-a-a… one endless token': (size) => `sk-${repeat('a-', size - 3)}`,
  'api-key: AKIA with 15 characters': (size) => repeat('AKIAIOSFODNN7EXAMP ', size),
  'placeholder: [REDACTED_ without a closing bracket': (size) => repeat(`[REDACTED_${'A'.repeat(96)}x`, size),
};
