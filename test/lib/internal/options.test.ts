import assert from 'node:assert/strict';
import { suite, test } from 'node:test';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkMs,
  checkNumber,
  checkOneOf,
  checkString,
  describeValue,
} from '../../../lib/internal/options.js';

suite('describeValue: the one printer of a received value', () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ['a number', -1, 'number `-1`'],
    ['NaN', Number.NaN, 'number `NaN`'],
    ['a short string', 'later', 'string `later`'],
    ['a boolean', true, 'boolean `true`'],
    ['undefined', undefined, '`undefined`'],
    ['null', null, '`null`'],
    ['a named function', function tokenize() {}, 'a function `tokenize`'],
    ['a short list of ids', ['gpt-5-mini', 'x'], 'an array `["gpt-5-mini","x"]`'],
    ['an empty array', [], 'an array of length 0'],
    ['an array of objects', [{ role: 'user' }], 'an array of length 1'],
    ['an object', { role: 'user', content: 'hi' }, 'an object with keys [role, content]'],
  ];
  for (const [label, value, expected] of cases) {
    test(label, () => assert.equal(describeValue(value), expected));
  }

  test('never shows a long or multi-line string (it could be a prompt): only its length', () => {
    const prompt = 'My card number is 4111 1111 1111 1111, please remember it';
    assert.equal(describeValue(prompt), `a string of ${prompt.length} characters`);
    assert.equal(describeValue('a\nb'), 'a string of 3 characters');
    assert.equal(describeValue([prompt]), 'an array of length 1');
  });
});

suite('option checks: one message shape, naming where, the option, what it wants and what it got', () => {
  const cases: ReadonlyArray<readonly [string, () => void, string | undefined]> = [
    [
      'positive integer',
      () => checkInteger('f()', 'n', 0),
      'f(): expected `n` to be a positive integer, got number `0`.',
    ],
    [
      'non-negative integer',
      () => checkInteger('f()', 'n', 1.5, { sign: 'non-negative' }),
      'f(): expected `n` to be a non-negative integer, got number `1.5`.',
    ],
    ['integer 0 allowed when non-negative', () => checkInteger('f()', 'n', 0, { sign: 'non-negative' }), undefined],
    ['optional integer unset', () => checkInteger('f()', 'n', undefined, { optional: true }), undefined],
    [
      'number',
      () => checkNumber('f()', 'x', Number.NaN),
      'f(): expected `x` to be a positive number, got number `NaN`.',
    ],
    [
      'ms',
      () => checkMs('f()', 'waitMs', Number.POSITIVE_INFINITY),
      'f(): expected `waitMs` to be a positive number of ms, got number `Infinity`.',
    ],
    [
      'function',
      () => checkFunction('f()', 'fn', 'x', '(text) => number'),
      'f(): expected `fn` to be a function (text) => number, got string `x`.',
    ],
    ['optional function unset', () => checkFunction('f()', 'fn', undefined, '', { optional: true }), undefined],
    ['boolean', () => checkBoolean('f()', 'b', 'yes'), 'f(): expected `b` to be a boolean, got string `yes`.'],
    [
      'non-empty string',
      () => checkString('f()', 's', ''),
      'f(): expected `s` to be a non-empty string, got string ``.',
    ],
    ['empty string allowed', () => checkString('f()', 's', '', { nonEmpty: false }), undefined],
    [
      'one of',
      () => checkOneOf('f()', 'mode', 'later', ['buffer', 'incremental', 'final']),
      "f(): expected `mode` to be 'buffer', 'incremental' or 'final', got string `later`.",
    ],
    ['one of, accepted', () => checkOneOf('f()', 'mode', 'final', ['buffer', 'final']), undefined],
  ];
  for (const [label, run, message] of cases) {
    test(label, () => {
      if (message === undefined) assert.doesNotThrow(run);
      else assert.throws(run, { name: 'TypeError', message });
    });
  }
});
