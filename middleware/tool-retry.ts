import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { ToolContext } from '../lib/agent/tool-context.js';
import { checkKeys, checkFunction, checkInteger, checkNumber, checkString, failOption, sleep } from '../lib/kit.js';

/** The delay before retry `attempt` (1 for the first retry), in ms. */
export type ToolBackoff = (attempt: number) => number;

/** Exponential backoff: `initialDelayMs * factor ** (attempt - 1)`, at most `maxDelayMs`. */
export interface ToolBackoffOptions {
  /** @default 100 */
  readonly initialDelayMs?: number | undefined;
  /** @default 2 */
  readonly factor?: number | undefined;
  /** @default 5_000 */
  readonly maxDelayMs?: number | undefined;
}

export interface ToolRetryOptions {
  /** Attempts in all, the first included. @default 3 */
  readonly attempts?: number | undefined;
  /**
   * Whether a failure is worth another attempt. It receives what the tool threw (the result's
   * `error`), or what a layer inside threw. By default every failure of a tool the run has, except
   * arguments its schema refused (the same arguments would fail again).
   */
  readonly retryOn?: ((error: unknown, attempt: number, ctx: ToolContext) => boolean) | undefined;
  /** The delay before each retry: a function of the retry number, or exponential settings. @default { initialDelayMs: 100, factor: 2, maxDelayMs: 5_000 } */
  readonly backoff?: ToolBackoff | ToolBackoffOptions | undefined;
  /** Called before each retry. */
  readonly onRetry?:
    | ((info: { readonly error: unknown; readonly attempt: number; readonly delayMs: number }) => void)
    | undefined;
  /** Names the layer. @default 'toolRetry' */
  readonly name?: string | undefined;
}

const KEYS = ['attempts', 'retryOn', 'backoff', 'onRetry', 'name'] as const;
const WHERE = 'toolRetry()';

/**
 * Re-runs a failed tool call (the tool layers inside and the tool), each time from the arguments as
 * they were when `toolRetry` was entered. A failure is a result with an `error` (the tool threw or
 * timed out) or a throw from inside. After the last attempt the model reads the last failure's
 * result (a throw is rethrown). Waits between attempts honour the run's signal.
 *
 * @example
 * app.use(toolRetry({ attempts: 3, backoff: { initialDelayMs: 200 } }));
 */
export function toolRetry(options: ToolRetryOptions = {}): Middleware {
  checkKeys(WHERE, options, KEYS);
  const { attempts = 3, retryOn = defaultRetryOn, backoff = {}, onRetry, name = 'toolRetry' } = options ?? {};
  checkInteger(WHERE, 'attempts', attempts);
  checkFunction(WHERE, 'retryOn', retryOn, '(error, attempt, ctx) => boolean');
  checkFunction(WHERE, 'onRetry', onRetry, '(info) => void', { optional: true });
  checkString(WHERE, 'name', name);
  const delayOf = backoffFunction(backoff);

  return defineMiddleware({
    name,
    replay: true,
    async tool(ctx, next) {
      for (let attempt = 1; ; attempt++) {
        let failure: unknown;
        let threw = false;
        try {
          await next();
          const result = ctx.result;
          if (result === undefined || result.error === undefined) return;
          failure = result.error;
        } catch (thrown) {
          failure = thrown;
          threw = true;
        }
        if (ctx.signal.aborted || attempt >= attempts || !retryOn(failure, attempt, ctx)) {
          if (threw) throw failure;
          return;
        }
        const delayMs = delayOf(attempt);
        onRetry?.({ error: failure, attempt, delayMs });
        if (delayMs > 0) await sleep(delayMs, ctx.signal);
      }
    },
  });
}

function defaultRetryOn(error: unknown, _attempt: number, ctx: ToolContext): boolean {
  // Schema refusals (zod's errors carry `issues`) and unknown tools fail the same way every time.
  const issues = typeof error === 'object' && error !== null && Array.isArray((error as { issues?: unknown }).issues);
  return ctx.tool !== undefined && !issues;
}

function backoffFunction(backoff: unknown): ToolBackoff {
  if (typeof backoff === 'function') {
    return (attempt) => {
      const ms = (backoff as ToolBackoff)(attempt);
      return typeof ms === 'number' && ms > 0 && Number.isFinite(ms) ? ms : 0;
    };
  }
  if (typeof backoff !== 'object' || backoff === null || Array.isArray(backoff)) {
    failOption(WHERE, 'backoff', 'a function (attempt) => ms or { initialDelayMs?, factor?, maxDelayMs? }', backoff);
  }
  checkKeys(`${WHERE} \`backoff\``, backoff, ['initialDelayMs', 'factor', 'maxDelayMs']);
  const { initialDelayMs = 100, factor = 2, maxDelayMs = 5_000 } = backoff as ToolBackoffOptions;
  checkNumber(WHERE, 'backoff.initialDelayMs', initialDelayMs, { sign: 'non-negative' });
  checkNumber(WHERE, 'backoff.factor', factor);
  checkNumber(WHERE, 'backoff.maxDelayMs', maxDelayMs, { sign: 'non-negative' });
  return (attempt) => Math.min(maxDelayMs, initialDelayMs * factor ** (attempt - 1));
}
