import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { RetryError, isRetryable } from '../lib/core/errors.js';
import { sleep, failOption, checkKeys, optionNames } from '../lib/kit.js';

export interface RetryOptions {
  /** Retries after the first attempt. @default 2 */
  readonly retries?: number | undefined;
  /** Delay before the first retry, in ms. @default 200 */
  readonly initialDelayMs?: number | undefined;
  /** Multiplier applied to the delay after each retry. @default 2 */
  readonly factor?: number | undefined;
  /** Upper bound of any delay, including a provider's `retryAfterMs`. @default 10_000 */
  readonly maxDelayMs?: number | undefined;
  /**
   * Whether an error is worth another attempt. By default: the error's own `retryable` flag
   * (set by the provider adapters for 429, 5xx and timeouts); never for invalid requests,
   * policy violations, contract errors or aborts.
   */
  readonly shouldRetry?: ((error: unknown, attempt: number, ctx: Context) => boolean) | undefined;
  /** Called before each retry. */
  readonly onRetry?:
    | ((info: { readonly error: unknown; readonly attempt: number; readonly delayMs: number }) => void)
    | undefined;
}

const KEYS = optionNames<RetryOptions>({
  retries: true,
  initialDelayMs: true,
  factor: true,
  maxDelayMs: true,
  shouldRetry: true,
  onRetry: true,
});

/**
 * Re-runs every layer inside it and the executor when an attempt fails with a retryable error,
 * each time from the request as it was when `retry` was entered. Honours `retryAfterMs` on errors.
 *
 * @example
 * app.use(retry({ retries: 3, initialDelayMs: 500 }));
 */
export function retry(options: RetryOptions = {}): Middleware {
  checkKeys('retry()', options, KEYS);
  const { retries = 2, initialDelayMs = 200, factor = 2, maxDelayMs = 10_000, shouldRetry, onRetry } = options;
  check('retries', retries, Number.isInteger(retries) && retries >= 0, 'a non-negative integer');
  check('initialDelayMs', initialDelayMs, initialDelayMs >= 0, 'a non-negative number');
  check('factor', factor, factor >= 1, 'a number >= 1');
  check('maxDelayMs', maxDelayMs, maxDelayMs >= 0, 'a non-negative number');
  const decide = shouldRetry ?? ((error: unknown) => isRetryable(error));

  return defineMiddleware({
    name: 'retry',
    replay: true,
    async call(ctx, next) {
      const errors: unknown[] = [];
      for (let attempt = 1; ; attempt++) {
        try {
          await next();
          return;
        } catch (error) {
          errors.push(error);
          if (ctx.signal.aborted) throw error;
          const retryable = decide(error, attempt, ctx);
          if (!retryable && attempt === 1) throw error;
          if (!retryable) {
            throw new RetryError(
              `retry: attempt ${attempt} failed with an error that is not retryable: ${message(error)}`,
              'errorNotRetryable',
              errors,
            );
          }
          if (attempt > retries) {
            throw new RetryError(
              `retry: all ${attempt} attempts failed; the last error: ${message(error)}. Raise \`retries\` or check the provider.`,
              'maxRetriesExceeded',
              errors,
            );
          }
          const backoff = initialDelayMs * factor ** (attempt - 1);
          const delayMs = Math.min(maxDelayMs, Math.max(backoff, retryAfter(error)));
          onRetry?.({ error, attempt, delayMs });
          if (delayMs > 0) await sleep(delayMs, ctx.signal);
        }
      }
    },
  });
}

function retryAfter(error: unknown): number {
  const value =
    typeof error === 'object' && error !== null ? (error as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof value === 'number' && value > 0 ? value : 0;
}

/**
 * The error's message to sit inside a sentence of ours: without a final full stop, and without the
 * sentences that advise adding `retry()` (adapters end provider errors with one), which would
 * contradict a message that says retry() already tried.
 */
export function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const kept = text.split('. ').filter((sentence) => !sentence.includes('retry()'));
  return kept.join('. ').replace(/\.$/, '');
}

function check(name: string, value: unknown, ok: boolean, expected: string): void {
  if (!ok || typeof value !== 'number' || Number.isNaN(value)) {
    failOption('retry()', name, expected, value);
  }
}
