/**
 * The stores' error. lib/stores imports nothing else of modelware (the dependency rule in
 * .dependency-cruiser.cjs), so `StoreError` cannot extend `ModelwareError`; it carries the same
 * `Symbol.for` marks instead, and `ModelwareError.isInstance(error)` and `StoreError.isInstance(error)`
 * both hold for it (across duplicate copies of the package too). `instanceof ModelwareError` does not.
 */

const MODELWARE_ERROR = Symbol.for('modelware.error');
const STORE = Symbol.for('modelware.error.StoreError');

/** A `Store` method, as named in `StoreError.operation`. */
export type StoreOperation =
  | 'get'
  | 'set'
  | 'delete'
  | 'increment'
  | 'take'
  | 'reserve'
  | 'settle'
  // RunStore operations (run-store.ts)
  | 'append'
  | 'read'
  | 'acquire'
  | 'renew'
  | 'release';

/**
 * A store could not do what was asked: the server is unreachable, the connection dropped before
 * the answer came, or the server refused the command. Raised by `redisStore()` instead of the
 * client's own errors (the client's error is the `cause`); custom stores may throw it too, so
 * `rateLimit({ onStoreError })` can tell an unreachable store from a bug.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  /** The mark of every modelware error, so `ModelwareError.isInstance(storeError)` holds. */
  readonly [MODELWARE_ERROR] = true;
  /** The store's `name`, e.g. `redis`. */
  readonly store: string;
  readonly operation: StoreOperation;
  /** The key, without the store's prefix. */
  readonly key: string;
  /** `true` when the store could not be reached or did not answer; `false` when it refused the command. */
  readonly retryable: boolean;

  constructor(init: {
    store: string;
    operation: StoreOperation;
    key: string;
    message: string;
    retryable?: boolean | undefined;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.store = init.store;
    this.operation = init.operation;
    this.key = init.key;
    this.retryable = init.retryable ?? true;
  }

  static isInstance(error: unknown): error is StoreError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[STORE] === true;
  }
}
Object.defineProperty(StoreError.prototype, STORE, { value: true });
