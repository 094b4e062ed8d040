import { abortable, forwardAbort, setLongTimeout } from '../lib/internal/signals.js';
import { StoreError, type StoreOperation } from '../lib/stores/errors.js';
import type { Store } from '../lib/stores/store.js';

/**
 * One store operation of a built-in, bounded: it rejects with a retryable `StoreError` once
 * `timeoutMs` pass without an answer (a hung Redis, a custom store that never settles), and with
 * the reason once `outer` aborts. A late answer is dropped. Not exported: the built-ins' helper.
 */
export async function storeCall<T>(
  store: Store,
  layer: string,
  operation: StoreOperation,
  key: string,
  timeoutMs: number,
  run: (signal: AbortSignal) => Promise<T>,
  outer?: AbortSignal,
): Promise<T> {
  outer?.throwIfAborted();
  const controller = new AbortController();
  // Built here, not in the timer, so its stack points at the call.
  const timeout = new StoreError({
    store: store.name,
    operation,
    key,
    message: `${layer}: the store \`${store.name}\` did not answer ${operation}() within ${timeoutMs} ms (storeTimeoutMs). Check that it is reachable.`,
  });
  const cancelTimer = setLongTimeout(() => controller.abort(timeout), timeoutMs);
  const stopForwarding = outer ? forwardAbort(outer, controller) : undefined;
  try {
    // Raced: a custom store may ignore the signal and never answer.
    return await abortable(run(controller.signal), controller.signal);
  } finally {
    cancelTimer();
    stopForwarding?.();
  }
}
