// redactPii's built-in scanners validate in place (issue 9, throughput): the credit-card scanner is
// hand-written over char codes and the phone check counts digits without slicing. Each must report
// exactly the spans, and accept exactly the candidates, of the regex and string check it replaced.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Spans, toDetectors } from '../../middleware/redact-pii/detectors.js';

/** The regex-and-string reference: every match from `from` and whether `validate` accepts it. */
function reference(pattern: RegExp, validate: (match: string) => boolean, text: string, from: number): number[] {
  const out: number[] = [];
  const global = new RegExp(pattern.source, 'g');
  global.lastIndex = from;
  for (let m = global.exec(text); m !== null; m = global.exec(text)) {
    out.push(m.index, m.index + m[0].length, validate(m[0]) ? 1 : 0);
  }
  return out;
}

function scan(name: 'credit-card' | 'phone', text: string, from: number): number[] {
  const out = new Spans();
  toDetectors([name])[0]?.scan(text, from, out);
  return [...out.data.subarray(0, out.length)];
}

function luhn(match: string): boolean {
  let sum = 0;
  let odd = false;
  for (let i = match.length - 1; i >= 0; i--) {
    let d = match.charCodeAt(i) - 48;
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

const digits = (s: string) => s.replace(/\D/g, '').length;
const phoneCheck = (m: string) =>
  digits(m) >= 7 && digits(m) <= 15 && !(m.length === 10 && m[4] === '-' && m[7] === '-' && digits(m) === 8);

/** Texts made of the pieces these detectors turn on, so candidates, near-misses and matches abound. */
const text = (pieces: readonly string[]) =>
  fc.array(fc.constantFrom(...pieces), { maxLength: 60 }).map((parts) => parts.join(''));

describe('redactPii built-in scanners equal their regex references', () => {
  test('property: credit-card spans and Luhn verdicts, from any start', () => {
    const pattern = /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/;
    fc.assert(
      fc.property(
        text(['4', '1', '0', '7', '9', ' ', '-', 'x', '  ', '--', '4111111111111111', '4111 1111 1111 1111', '5555-']),
        fc.nat({ max: 40 }),
        (input, start) => {
          const from = Math.min(start, input.length);
          assert.deepEqual(scan('credit-card', input, from), reference(pattern, luhn, input, from));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('property: phone spans and digit-count / date verdicts, from any start', () => {
    const pattern =
      /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w)|\+\d{8,15}(?!\w)/;
    fc.assert(
      fc.property(
        text(['1', '23', '456', '2024-01-15', '+', '(', ')', ' ', '-', '.', 'x', '+1 (555) 123-4567', '+4412345678']),
        fc.nat({ max: 40 }),
        (input, start) => {
          const from = Math.min(start, input.length);
          assert.deepEqual(scan('phone', input, from), reference(pattern, phoneCheck, input, from));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('a custom validate still sees the match as a string', () => {
    const seen: string[] = [];
    const validate = (m: string) => {
      seen.push(m);
      return m !== 'T-2';
    };
    const [detector] = toDetectors([{ name: 'ticket', pattern: /T-\d+/, validate }]);
    const out = new Spans();
    detector?.scan('T-1 and T-2 and T-33', 0, out);
    assert.deepEqual(seen, ['T-1', 'T-2', 'T-33']);
    assert.deepEqual([...out.data.subarray(0, out.length)], [0, 3, 1, 8, 11, 0, 16, 20, 1]);
  });
});
