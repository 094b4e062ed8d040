/**
 * The longest delay `setTimeout` honours: it stores the delay as a signed 32-bit integer and
 * fires any longer one after 1 ms (about 24.8 days).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `setTimeout` for any delay: waits in chunks of at most `MAX_TIMER_MS`, so a 40-day delay waits
 * 40 days instead of firing after 1 ms. Returns the function that cancels it. An infinite delay
 * never fires and holds no timer.
 */
export function setLongTimeout(callback: () => void, ms: number): () => void {
  if (ms === Number.POSITIVE_INFINITY) return () => {};
  let left = Math.max(0, ms);
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const step = Math.min(left, MAX_TIMER_MS);
    left -= step;
    timer = setTimeout(left > 0 ? arm : callback, step);
  };
  arm();
  return () => clearTimeout(timer);
}

/** An abortable sleep of any length that leaves no timer or listener behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal?.reason);
    };
    const cancel = setLongTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts when either input aborts, and a `dispose` that detaches it. Unlike
 * `AbortSignal.any`, nothing stays attached to a long-lived parent signal after `dispose()`.
 */
export function linkSignals(parent: AbortSignal, child: AbortSignal): { signal: AbortSignal; dispose: () => void } {
  if (parent.aborted) return { signal: parent, dispose: () => {} };
  if (child.aborted) return { signal: child, dispose: () => {} };
  const controller = new AbortController();
  const fromParent = () => controller.abort(parent.reason);
  const fromChild = () => controller.abort(child.reason);
  parent.addEventListener('abort', fromParent, { once: true });
  child.addEventListener('abort', fromChild, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      parent.removeEventListener('abort', fromParent);
      child.removeEventListener('abort', fromChild);
    },
  };
}

/**
 * Aborts `controller` (with the same reason) when `signal` aborts; returns the function that
 * detaches the listener. For a controller of one's own that must also follow a caller.
 */
export function forwardAbort(signal: AbortSignal | undefined, controller: AbortController): () => void {
  if (!signal) return () => {};
  const forward = () => controller.abort(signal.reason);
  signal.addEventListener('abort', forward, { once: true });
  return () => signal.removeEventListener('abort', forward);
}

/**
 * The promise, or the signal's reason as soon as it aborts, whichever comes first: for waiting
 * on work that may ignore the signal (a store, a plugin). The work's late outcome is dropped.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
