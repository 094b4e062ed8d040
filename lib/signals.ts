/** An abortable sleep that leaves no timer or listener behind. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
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
