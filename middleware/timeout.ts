import { type Middleware, defineMiddleware } from '../lib/compose.js';
import { TimeoutError } from '../lib/errors.js';
import { linkSignals } from '../lib/signals.js';

export interface TimeoutOptions {
  /**
   * Time allowed for everything inside this layer: until the response in generate mode, until
   * the first part in stream mode (the stream itself is then the consumer's to pace).
   */
  readonly timeoutMs: number;
}

/**
 * Aborts the layers inside it and the executor after `timeoutMs`: `ctx.signal` inside aborts with a
 * `TimeoutError`, and the call rejects with it even if the executor ignores its signal. Put it
 * inside `retry()` for a per-attempt limit, outside for an overall one.
 *
 * @example
 * app.use(retry(), timeout({ timeoutMs: 30_000 }));
 */
export function timeout(options: TimeoutOptions): Middleware {
  const timeoutMs = options?.timeoutMs;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(
      `timeout(): expected \`timeoutMs\` to be a positive number of milliseconds, got \`${String(timeoutMs)}\`.`,
    );
  }
  return defineMiddleware({
    name: 'timeout',
    async call(ctx, next) {
      const core = ctx.core;
      const previous = core.signal;
      previous.throwIfAborted();
      // Created here rather than in the timer callback so its stack points at the call.
      const error = new TimeoutError(
        `timeout: the layers inside \`timeout\` and the model took longer than ${timeoutMs} ms. Raise \`timeoutMs\` or check the provider.`,
        timeoutMs,
      );
      const controller = new AbortController();
      const linked = linkSignals(previous, controller.signal);
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(linked.signal.reason);
        linked.signal.addEventListener('abort', onAbort, { once: true });
      });
      const timer = setTimeout(() => controller.abort(error), timeoutMs);
      core.signal = linked.signal;
      let keepLink = false;
      try {
        await Promise.race([next(), aborted]);
        // In stream mode the executor goes on reading with the linked signal after the first part:
        // keep the link, so the caller's abort still reaches it, until the stream closes.
        if (core.mode === 'stream' && core.stream) {
          keepLink = true;
          await ctx.tapStream({ onClose: () => linked.dispose() });
        }
      } catch (thrown) {
        // Gave up without waiting for the layers inside: whatever they still produce is late.
        if (controller.signal.aborted) core.epoch++;
        throw thrown;
      } finally {
        clearTimeout(timer);
        if (onAbort) linked.signal.removeEventListener('abort', onAbort);
        if (!keepLink) linked.dispose();
        core.signal = previous;
      }
    },
  });
}
