// StoreError lives in lib/stores (which imports nothing else of modelware) yet belongs to the error
// family: the `Symbol.for` marks make both `isInstance` checks hold, also for a copy from another
// instance of the package.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelwareError, StoreError, isRetryable } from '../../../lib/index.js';

const init = { store: 'redis', operation: 'take', key: 'k', message: 'redis: no answer' } as const;

describe('StoreError', () => {
  it('is a ModelwareError by isInstance, and a StoreError, with its fields', () => {
    const error = new StoreError({ ...init, cause: new Error('ECONNREFUSED') });
    assert.equal(ModelwareError.isInstance(error), true);
    assert.equal(StoreError.isInstance(error), true);
    assert.equal(error.name, 'StoreError');
    assert.deepEqual([error.store, error.operation, error.key, error.retryable], ['redis', 'take', 'k', true]);
    assert.equal(isRetryable(error), true);
    assert.equal(isRetryable(new StoreError({ ...init, retryable: false })), false);
  });

  it('recognises a StoreError of a duplicate copy of the package by its marks', () => {
    const duplicate = Object.assign(new Error('x'), {
      [Symbol.for('modelware.error')]: true,
      [Symbol.for('modelware.error.StoreError')]: true,
    });
    assert.equal(StoreError.isInstance(duplicate), true);
    assert.equal(ModelwareError.isInstance(duplicate), true);
    assert.equal(StoreError.isInstance(new ModelwareError('m')), false);
  });
});
