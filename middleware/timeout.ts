import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import { TimeoutError } from '../lib/core/errors.js';
import type { StreamPart } from '../lib/core/messages.js';
import { checkMs, linkSignals, setLongTimeout, checkKeys, optionNames } from '../lib/kit.js';

export interface TimeoutOptions {
  /**
   * Time allowed for everything inside this layer: until the response in generate mode, until
   * the first part in stream mode. Any finite length works (timers wait in chunks).
   */
  readonly timeoutMs: number;
  /**
   * Stream mode: the longest wait for each later part, counted from the consumer asking for it
   * (a slow consumer never trips it). `Infinity` turns it off. @default timeoutMs
   */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * Stream mode: time allowed for the whole stream, from this layer's entry to its last part,
   * the consumer's own pace included. @default Infinity (no bound; `idleTimeoutMs` still holds)
   */
  readonly totalTimeoutMs?: number | undefined;
}

const KEYS = optionNames<TimeoutOptions>({ timeoutMs: true, idleTimeoutMs: true, totalTimeoutMs: true });

/**
 * Aborts the layers inside it and the executor after `timeoutMs`: `ctx.signal` inside aborts with a
 * `TimeoutError`, and the call rejects with it even if the executor ignores its signal. In stream
 * mode it also bounds the gap between parts (`idleTimeoutMs`) and, if set, the whole stream
 * (`totalTimeoutMs`); a stream cut short that way fails with a `TimeoutError` that is not
 * retryable (its parts were already sent). Put it inside `retry()` for a per-attempt limit,
 * outside for an overall one.
 *
 * @example
 * app.use(retry(), timeout({ timeoutMs: 30_000 }));
 */
export function timeout(options: TimeoutOptions): Middleware {
  checkKeys('timeout()', options, KEYS);
  const { timeoutMs, idleTimeoutMs = timeoutMs, totalTimeoutMs = Number.POSITIVE_INFINITY } = options ?? {};
  checkMs('timeout()', 'timeoutMs', timeoutMs);
  checkMs('timeout()', 'idleTimeoutMs', idleTimeoutMs, { infinite: true });
  checkMs('timeout()', 'totalTimeoutMs', totalTimeoutMs, { infinite: true });
  return defineMiddleware({
    name: 'timeout',
    async call(ctx, next) {
      ctx.signal.throwIfAborted();
      const stream = ctx.mode === 'stream';
      // Created here rather than in the timer callback so its stack points at the call.
      const error = new TimeoutError(
        `timeout: the layers inside \`timeout\` and the model took longer than ${timeoutMs} ms${stream ? ' to send the first part' : ''}. Raise \`timeoutMs\` or check the provider.`,
        timeoutMs,
      );
      const controller = new AbortController();
      const linked = linkSignals(ctx.signal, controller.signal);
      const cancelFirst = setLongTimeout(() => controller.abort(error), timeoutMs);
      const cancelTotal = stream
        ? setLongTimeout(
            () =>
              controller.abort(
                new TimeoutError(
                  `timeout: the stream took longer than \`totalTimeoutMs\` (${totalTimeoutMs} ms) in all. Raise \`totalTimeoutMs\`, or ask for a shorter answer.`,
                  totalTimeoutMs,
                  { retryable: false },
                ),
              ),
            totalTimeoutMs,
          )
        : () => {};
      let handedOver = false;
      try {
        // Bounds the layers inside and the executor; a late answer after the timeout is discarded.
        await ctx.withSignal(linked.signal, next);
        // In stream mode the executor goes on reading with the linked signal after the first part:
        // the stream keeps the link (and the total timer) until it closes.
        if (stream && ctx.stream) {
          const release = () => {
            cancelTotal();
            linked.dispose();
          };
          await ctx.wrapStream((source) => watched(source, linked.signal, controller, idleTimeoutMs, release));
          handedOver = true;
        }
      } finally {
        cancelFirst();
        if (!handedOver) {
          cancelTotal();
          linked.dispose();
        }
      }
    },
  });
}

/**
 * The stream with every pull bounded by `idleMs` and by `signal` (the caller's abort or the total
 * timeout): a pull that loses rejects at once, even when the executor ignores its signal, and
 * the source is closed behind it. `release` runs once, when the stream ends for any reason.
 */
function watched(
  source: AsyncIterable<StreamPart>,
  signal: AbortSignal,
  controller: AbortController,
  idleMs: number,
  release: () => void,
): AsyncIterableIterator<StreamPart> {
  const iterator = source[Symbol.asyncIterator]();
  let closed = false;
  const close = () => {
    if (closed) return false;
    closed = true;
    release();
    return true;
  };
  return {
    next() {
      if (closed) return Promise.resolve({ done: true, value: undefined });
      return new Promise<IteratorResult<StreamPart>>((resolve, reject) => {
        let settled = false;
        const settle = () => {
          if (settled) return false;
          settled = true;
          cancelIdle();
          signal.removeEventListener('abort', onAbort);
          return true;
        };
        const give = (reason: unknown) => {
          if (!settle()) return;
          close();
          // The pending pull is left behind; close the source once it lets go.
          void Promise.resolve(iterator.return?.()).catch(() => {});
          reject(reason);
        };
        const onAbort = () => give(signal.reason);
        const cancelIdle = setLongTimeout(() => {
          const idle = new TimeoutError(
            `timeout: no stream part for \`idleTimeoutMs\` (${idleMs} ms). Raise \`idleTimeoutMs\` or check the provider.`,
            idleMs,
            { retryable: false },
          );
          // Aborting tells the executor to stop; the listener then rejects this pull with `idle`.
          controller.abort(idle);
          give(idle);
        }, idleMs);
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        iterator.next().then(
          (result) => {
            if (!settle()) return;
            if (result.done) close();
            resolve(result);
          },
          (thrown: unknown) => {
            if (!settle()) return;
            close();
            reject(thrown);
          },
        );
      });
    },
    async return(value?: unknown) {
      close();
      await iterator.return?.(value);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
