import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Executor,
  InvalidRequestError,
  InvalidResponseError,
  type Middleware,
  MiddlewareError,
  ModelwareError,
  PolicyViolationError,
  RetryError,
  TimeoutError,
  isRetryable,
  pipeline,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { toError } from '../../../lib/core/errors.js';
import { BASE_REQUEST, logLayer } from '../../fixtures/core.js';

type Errors = typeof import('../../../lib/core/errors.js');

/** A second, independent copy of lib/core/errors.ts, as when two versions of the package are installed. */
async function duplicateCopy(): Promise<Errors> {
  const specifier: string = '../../../lib/core/errors.js?duplicate-copy';
  return (await import(specifier)) as Errors;
}

function instances(e: Errors) {
  return {
    ModelwareError: new e.ModelwareError('base'),
    InvalidRequestError: new e.InvalidRequestError({ layer: 'l', path: ['model'], issues: [], message: 'bad' }),
    InvalidResponseError: new e.InvalidResponseError({ source: 's', path: [], issues: [], message: 'bad' }),
    MiddlewareError: new e.MiddlewareError('l', 'contract'),
    PolicyViolationError: new e.PolicyViolationError({ reason: 'no', code: 'c' }),
    TimeoutError: new e.TimeoutError('slow', 10),
    RetryError: new e.RetryError('gave up', 'maxRetriesExceeded', [new Error('x')]),
  };
}

const CLASSES = {
  ModelwareError,
  InvalidRequestError,
  InvalidResponseError,
  MiddlewareError,
  PolicyViolationError,
  TimeoutError,
  RetryError,
} as const;
type Name = keyof typeof CLASSES;
const NAMES = Object.keys(CLASSES) as Name[];

describe('errors: names and isInstance', () => {
  const made = instances({ ...CLASSES } as unknown as Errors);

  for (const name of NAMES) {
    test(`${name} has the literal name '${name}' and is a ModelwareError`, () => {
      const error = made[name];
      assert.equal(error.name, name);
      assert.ok(error instanceof Error);
      assert.equal(ModelwareError.isInstance(error), true);
      assert.equal(CLASSES[name].isInstance(error), true);
    });

    test(`${name}.isInstance is false for the other classes and for non-errors`, () => {
      for (const other of NAMES) {
        if (other === name || name === 'ModelwareError') continue;
        assert.equal(CLASSES[name].isInstance(made[other]), false, `${name}.isInstance(${other})`);
      }
      for (const value of [new Error('x'), null, undefined, 'InvalidRequestError', { name }]) {
        assert.equal(CLASSES[name].isInstance(value), false);
      }
    });
  }

  test('isInstance recognises errors from a duplicate copy of the package, where instanceof does not', async () => {
    const copy = await duplicateCopy();
    assert.notEqual(copy.InvalidRequestError, InvalidRequestError);
    const foreign = instances(copy);
    for (const name of NAMES) {
      assert.equal(CLASSES[name].isInstance(foreign[name]), true, name);
      assert.equal(ModelwareError.isInstance(foreign[name]), true, name);
      if (name !== 'ModelwareError') assert.equal(foreign[name] instanceof CLASSES[name], false, name);
    }
  });

  test('and the duplicate copy recognises ours', async () => {
    const copy = await duplicateCopy();
    const ours = instances({ ...CLASSES } as unknown as Errors);
    for (const name of NAMES) assert.equal(copy[name].isInstance(ours[name]), true, name);
  });

  test('an object of an unrelated class carrying the Symbol.for markers is recognised', () => {
    class Foreign extends Error {}
    for (const key of ['modelware.error', 'modelware.error.RetryError']) {
      Object.defineProperty(Foreign.prototype, Symbol.for(key), { value: true });
    }
    const error = new Foreign('from elsewhere');
    assert.equal(RetryError.isInstance(error), true);
    assert.equal(ModelwareError.isInstance(error), true);
    assert.equal(TimeoutError.isInstance(error), false);
  });
});

describe('errors: fields and cause', () => {
  test('ModelwareError and MiddlewareError pass the cause through', () => {
    const cause = new Error('root');
    assert.equal(new ModelwareError('x', { cause }).cause, cause);
    assert.equal(new MiddlewareError('layer', 'x', { cause }).cause, cause);
  });

  test('PolicyViolationError keeps the violation, names plugin and hook, and passes the cause', () => {
    const cause = new Error('classifier said no');
    const violation = { reason: 'contains PII', code: 'pii', plugin: 'redact', hook: 'llm_input' } as const;
    const error = new PolicyViolationError(violation, { cause });
    assert.equal(error.violation, violation);
    assert.equal(error.cause, cause);
    assert.equal(error.message, 'plugin `redact` at hook `llm_input` blocked: contains PII (pii)');
    assert.equal(new PolicyViolationError({ reason: 'r', code: 'c' }).message, 'Blocked: r (c)');
  });

  test('RetryError carries reason, every error, lastError, and the last error as cause', () => {
    const errors = [new Error('1'), new Error('2')];
    const error = new RetryError('gave up', 'modelsExhausted', errors);
    assert.equal(error.reason, 'modelsExhausted');
    assert.deepEqual(error.errors, errors);
    assert.equal(error.lastError, errors[1]);
    assert.equal(error.cause, errors[1]);
  });

  test('TimeoutError carries timeoutMs', () => {
    assert.equal(new TimeoutError('slow', 250).timeoutMs, 250);
  });

  test('InvalidRequestError and InvalidResponseError keep layer/source, path and issues', () => {
    const issues = [{ code: 'custom', path: ['model'], message: 'm', input: undefined }] as never;
    const request = new InvalidRequestError({ layer: 'l', path: ['model'], issues, message: 'x' });
    const response = new InvalidResponseError({ source: 's', path: ['finishReason'], issues, message: 'y' });
    assert.deepEqual([request.layer, request.path, request.issues], ['l', ['model'], issues]);
    assert.deepEqual([response.source, response.path, response.issues], ['s', ['finishReason'], issues]);
  });
});

describe('errors: non-Error values thrown', () => {
  const values: readonly [string, unknown, string][] = [
    ['a string', 'boom', '"boom"'],
    ['an object', { code: 42 }, '{"code":42}'],
    ['a number', 7, '7'],
    ['undefined', undefined, 'undefined'],
  ];

  const throwers: readonly [string, (value: unknown) => { executor: Executor; layers: Middleware[] }][] = [
    [
      'a layer',
      (value) => ({
        executor: scriptedExecutor(['x']),
        layers: [
          function thrower() {
            throw value;
          },
        ],
      }),
    ],
    [
      'the executor (with a layer)',
      (value) => ({ executor: { generate: () => Promise.reject(value) }, layers: [logLayer('a', [])] }),
    ],
    ['the executor (no layers)', (value) => ({ executor: { generate: () => Promise.reject(value) }, layers: [] })],
  ];

  for (const [whoLabel, make] of throwers) {
    for (const [label, value, shown] of values) {
      test(`${label} thrown by ${whoLabel} becomes a MiddlewareError showing the value`, async () => {
        const { executor, layers } = make(value);
        await assert.rejects(
          pipeline(executor)
            .use(...layers)
            .generate(BASE_REQUEST),
          (error: unknown) => {
            assert.ok(MiddlewareError.isInstance(error));
            assert.ok(error.message.includes(shown), error.message);
            assert.match(error.message, /Throw an Error instance instead/);
            assert.equal(error.cause, value);
            return true;
          },
        );
      });
    }
  }

  test('a string thrown in stream mode becomes a MiddlewareError too', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(function thrower() {
      throw 'stream boom';
    });
    await assert.rejects(app.stream(BASE_REQUEST).text(), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.match(error.message, /"stream boom"/);
      return true;
    });
  });

  test('toError keeps Errors as they are and survives values JSON cannot show', () => {
    const error = new Error('same');
    assert.equal(toError(error, 'x'), error);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.match(toError(circular, 'layer').message, /\[object Object\]/);
    assert.match(toError(10n, 'layer').message, /10/);
  });
});

describe('isRetryable', () => {
  const cases: readonly [string, unknown, boolean][] = [
    ['a plain Error', new Error('x'), true],
    ['an error flagged retryable: true', Object.assign(new Error('x'), { retryable: true }), true],
    ['an error flagged retryable: false', Object.assign(new Error('x'), { retryable: false }), false],
    ['an InvalidRequestError', new InvalidRequestError({ layer: 'l', path: [], issues: [], message: 'x' }), false],
    ['a PolicyViolationError', new PolicyViolationError({ reason: 'r', code: 'c' }), false],
    ['a MiddlewareError', new MiddlewareError('l', 'x'), false],
    ['an AbortError', new DOMException('x', 'AbortError'), false],
    ['a TimeoutError', new TimeoutError('x', 1), true],
    ['a string', 'x', false],
    ['null', null, false],
  ];
  for (const [label, error, expected] of cases) {
    test(`${label}: ${expected}`, () => {
      assert.equal(isRetryable(error), expected);
    });
  }
});
