import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { CircuitOpenError, RetryError, isRetryable } from '../lib/core/errors.js';
import { message } from './retry.js';
import { checkKeys, optionNames } from '../lib/kit.js';

export interface FallbackOptions {
  /** Models to try, in order, after the requested one fails. */
  readonly models: readonly string[];
  /**
   * Whether to try the next model after this error. By default the same rule as `retry()`:
   * provider failures yes; invalid requests, policy violations and aborts no; and yes for a
   * `CircuitOpenError` (a `circuitBreaker()` inside refused the model without sending the call).
   */
  readonly shouldFallback?: ((error: unknown, model: string, ctx: Context) => boolean) | undefined;
  /** Called when switching from a failed model to the next one. */
  readonly onFallback?:
    | ((info: { readonly error: unknown; readonly from: string; readonly to: string }) => void)
    | undefined;
}

const KEYS = optionNames<FallbackOptions>({ models: true, shouldFallback: true, onFallback: true });

/**
 * Tries the requested model, then each of `models` in turn, re-running every layer inside it for
 * each. Layers inside see the model being tried (`ctx.request.model`, `ctx.model.resolved`);
 * layers outside and the `completed` event see the model that answered in `ctx.model.resolved`.
 *
 * A bare list of models is short for `{ models }`.
 *
 * @example
 * app.use(fallback({ models: ['claude-haiku-4-5', 'gpt-5-mini'] }));
 * app.use(fallback(['claude-haiku-4-5', 'gpt-5-mini']));
 */
export function fallback(options: FallbackOptions | readonly string[]): Middleware {
  if (!Array.isArray(options)) checkKeys('fallback()', options, KEYS);
  // `fallback(['a', 'b'])` reads naturally; it means `fallback({ models: ['a', 'b'] })`.
  const { models, shouldFallback, onFallback } = Array.isArray(options)
    ? { models: options as readonly string[], shouldFallback: undefined, onFallback: undefined }
    : ((options ?? {}) as FallbackOptions);
  if (!Array.isArray(models) || models.length === 0 || models.some((m) => typeof m !== 'string' || m.length === 0)) {
    throw new TypeError(
      `fallback(): expected \`models\` to be a non-empty array of model ids, as in \`fallback({ models: ['gpt-5-mini', 'claude-haiku-4-5'] })\`, got \`${JSON.stringify(models)}\`.`,
    );
  }
  // An inner retry() that gave up on this model is a reason to try the next one, if its last
  // error was the kind worth another attempt; so is an open circuit (`circuitBreaker()` inside).
  const decide =
    shouldFallback ??
    ((error: unknown) => {
      const last = RetryError.isInstance(error) ? error.lastError : error;
      return CircuitOpenError.isInstance(last) || isRetryable(last);
    });

  return defineMiddleware({
    name: 'fallback',
    replay: true,
    async call(ctx, next) {
      const errors: unknown[] = [];
      const chain = [ctx.request.model, ...models.filter((m) => m !== ctx.request.model)];
      for (let i = 0; i < chain.length; i++) {
        const model = chain[i] as string;
        if (i > 0) ctx.update((draft) => void (draft.model = model));
        try {
          await next();
          return;
        } catch (error) {
          errors.push(error);
          if (ctx.signal.aborted || !decide(error, model, ctx)) throw error;
          const to = chain[i + 1];
          if (to === undefined) break;
          onFallback?.({ error, from: model, to });
        }
      }
      throw new RetryError(
        `fallback: every model failed (${chain.join(', ')}); the last error: ${message(errors.at(-1))}.`,
        'modelsExhausted',
        errors,
      );
    },
  });
}
