import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import { PolicyViolationError } from '../lib/core/errors.js';
import { checkInteger, checkOneOf, checkString, checkKeys, optionNames } from '../lib/kit.js';

export interface CallLimitOptions {
  /** Model calls allowed through this layer in one scope (see `per`). */
  readonly maxCalls: number;
  /**
   * What is counted: `'run'` counts the calls of one `runAgent()` run (calls outside a run are not
   * limited); `'pipeline'` counts every call through this middleware instance, for its lifetime.
   * @default 'run'
   */
  readonly per?: 'run' | 'pipeline' | undefined;
  /**
   * Past the limit: `'throw'` rejects with `PolicyViolationError` (code `CALL_LIMIT`);
   * `'end'` answers without calling the model with an assistant message (no tool calls), so an
   * agent run ends normally with stop reason `no-tool-calls`.
   * @default 'throw'
   */
  readonly onLimit?: 'throw' | 'end' | undefined;
  /** The text of the `'end'` answer. @default 'Stopping here: the limit of <maxCalls> model calls was reached.' */
  readonly message?: string | undefined;
  /** Names the layer. @default 'callLimit' */
  readonly name?: string | undefined;
}

const KEYS = optionNames<CallLimitOptions>({ maxCalls: true, per: true, onLimit: true, message: true, name: true });

/**
 * Limits model calls per agent run or per pipeline. Each entry into the layer counts, so a
 * `retry()` outside it spends one call per attempt, and one inside it none.
 *
 * @example
 * app.use(callLimit({ maxCalls: 8, onLimit: 'end' }));
 */
export function callLimit(options: CallLimitOptions): Middleware {
  checkKeys('callLimit()', options, KEYS);
  const { maxCalls, per = 'run', onLimit = 'throw', name = 'callLimit' } = options ?? ({} as CallLimitOptions);
  checkInteger('callLimit()', 'maxCalls', maxCalls);
  checkOneOf('callLimit()', 'per', per, ['run', 'pipeline']);
  checkOneOf('callLimit()', 'onLimit', onLimit, ['throw', 'end']);
  const message = options.message ?? `Stopping here: the limit of ${maxCalls} model calls was reached.`;
  checkString('callLimit()', 'message', message, { nonEmpty: false });
  // Keyed by the run's state object, the one thing a run keeps for its whole life; a finished run's
  // count goes with it.
  const perRun = new WeakMap<object, number>();
  let perPipeline = 0;
  const scope = per === 'run' ? 'per run' : 'for this pipeline';

  return defineMiddleware({
    name,
    async call(ctx, next) {
      let calls: number;
      if (per === 'pipeline') {
        calls = ++perPipeline;
      } else {
        const run = ctx.run;
        if (!run) return next();
        calls = (perRun.get(run.state) ?? 0) + 1;
        perRun.set(run.state, calls);
      }
      // Counted before the call, synchronously: concurrent calls cannot slip past the limit together.
      if (calls <= maxCalls) return next();
      if (onLimit === 'end') {
        ctx.response = { message: { role: 'assistant', content: message }, finishReason: 'stop' };
        return;
      }
      throw new PolicyViolationError({
        reason: `model call ${calls} exceeds the limit of ${maxCalls} ${scope}${ctx.run ? ` (run ${ctx.run.runId})` : ''}. Raise \`maxCalls\`, or pass onLimit: 'end' to finish the run with a final answer instead`,
        code: 'CALL_LIMIT',
        plugin: name,
        details: { maxCalls, per, calls },
      });
    },
  });
}
