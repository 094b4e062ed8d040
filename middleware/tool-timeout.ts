import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import { TimeoutError } from '../lib/core/errors.js';
import { checkKeys, checkMs, checkString, linkSignals, setLongTimeout } from '../lib/kit.js';

export interface ToolTimeoutOptions {
  /** How long each tool call may take, in ms, including the tool layers inside this one. */
  readonly ms: number;
  /**
   * The error result the model reads when a call times out.
   * @default 'The tool did not finish within <ms> ms and was stopped. Try again, or with a smaller request.'
   */
  readonly message?: string | undefined;
  /** Names the layer. @default 'toolTimeout' */
  readonly name?: string | undefined;
}

const KEYS = ['ms', 'message', 'name'] as const;
const WHERE = 'toolTimeout()';

/**
 * Bounds each tool call: after `ms` the tool's signal aborts with a `TimeoutError`, the call stops
 * waiting for it (even if the tool ignores its signal) and the model reads an error result
 * (`isError`, with the `TimeoutError` as `error`); the run goes on. A cancelled run still ends the
 * run. Put it inside `toolRetry()` to bound each attempt, outside to bound them all.
 *
 * @example
 * app.use(toolRetry({ attempts: 3 }), toolTimeout({ ms: 10_000 }));
 */
export function toolTimeout(options: ToolTimeoutOptions): Middleware {
  checkKeys(WHERE, options, KEYS);
  const { ms, name = 'toolTimeout' } = options ?? ({} as ToolTimeoutOptions);
  checkMs(WHERE, 'ms', ms);
  const message =
    options.message ?? `The tool did not finish within ${ms} ms and was stopped. Try again, or with a smaller request.`;
  checkString(WHERE, 'message', message);
  checkString(WHERE, 'name', name);

  return defineMiddleware({
    name,
    async tool(ctx, next) {
      const own = new AbortController();
      // Built here, not in the timer: its stack then shows who started the call.
      const error = new TimeoutError(
        `${name}: a tool call did not finish within ${ms} ms (\`ms\`); the tool's name is the call's \`toolName\`.`,
        ms,
      );
      const cancel = setLongTimeout(() => own.abort(error), ms);
      const link = linkSignals(ctx.signal, own.signal);
      try {
        await ctx.withSignal(link.signal, next);
      } catch (thrown) {
        if (!own.signal.aborted || ctx.signal.aborted) throw thrown;
        ctx.result = { content: message, isError: true, error };
      } finally {
        cancel();
        link.dispose();
      }
    },
  });
}
