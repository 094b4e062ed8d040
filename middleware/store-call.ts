import { setLongTimeout } from '../lib/kit.js';
import { StoreError, type StoreOperation } from '../lib/stores/errors.js';
import type { Store } from '../lib/stores/store.js';

/**
 * One store operation of a built-in, bounded: it rejects with a retryable `StoreError` once
 * `timeoutMs` pass without an answer (a hung Redis, a custom store that never settles), and with
 * the reason once `outer` aborts. A late answer is dropped. Not exported: the built-ins' helper.
 *
 * On the hot path of every budgeted call, so it allocates no AbortController and builds the error
 * only when the timer fires: the store gets `outer` itself, and the race bounds the wait.
 */
export function storeCall<T>(
  store: Store,
  layer: string,
  operation: StoreOperation,
  key: string,
  timeoutMs: number,
  run: (signal: AbortSignal | undefined) => Promise<T>,
  outer?: AbortSignal,
): Promise<T> {
  if (outer?.aborted) return Promise.reject(outer.reason);
  const work = run(outer);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      finish();
      work.catch(() => {});
      reject(outer?.reason);
    };
    const cancelTimer = setLongTimeout(() => {
      finish();
      work.catch(() => {});
      reject(
        new StoreError({
          store: store.name,
          operation,
          key,
          message: `${layer}: the store \`${store.name}\` did not answer ${operation}() within ${timeoutMs} ms (storeTimeoutMs). Check that it is reachable.`,
        }),
      );
    }, timeoutMs);
    function finish(): void {
      cancelTimer();
      outer?.removeEventListener('abort', onAbort);
    }
    outer?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}
