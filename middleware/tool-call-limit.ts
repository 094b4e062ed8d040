import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import { PolicyViolationError } from '../lib/core/errors.js';
import { checkKeys, checkInteger, checkOneOf, checkString, failOption } from '../lib/kit.js';

export interface ToolCallLimitOptions {
  /** Tool calls allowed in one `runAgent()` run, over all tools. @default no limit over all tools */
  readonly max?: number | undefined;
  /** Tool calls allowed per run for each named tool, e.g. `{ search: 3 }`. @default no per-tool limits */
  readonly perTool?: Readonly<Record<string, number>> | undefined;
  /**
   * Past a limit: `'deny'` answers the call with an error result the model reads (the tool does not
   * run, the run goes on); `'throw'` fails the run with `PolicyViolationError` (code `TOOL_CALL_LIMIT`).
   * @default 'deny'
   */
  readonly onLimit?: 'deny' | 'throw' | undefined;
  /** The text of a denial. @default 'Tool call limit reached: this tool cannot be called again in this run. Answer with what you have.' */
  readonly message?: string | undefined;
  /** Names the layer. @default 'toolCallLimit' */
  readonly name?: string | undefined;
}

const KEYS = ['max', 'perTool', 'onLimit', 'message', 'name'] as const;
const WHERE = 'toolCallLimit()';

/**
 * Limits tool calls per agent run, over all tools (`max`) and per tool (`perTool`). Calls are
 * counted before they run, synchronously, so parallel calls of one turn cannot slip past together;
 * a denied call counts towards no limit. Each entry into the layer counts, so a `toolRetry()`
 * outside it spends one call per attempt, and one inside it none.
 *
 * @example
 * app.use(toolCallLimit({ max: 20, perTool: { search: 3 } }));
 */
export function toolCallLimit(options: ToolCallLimitOptions): Middleware {
  checkKeys(WHERE, options, KEYS);
  const { max, perTool = {}, onLimit = 'deny', name = 'toolCallLimit' } = options ?? ({} as ToolCallLimitOptions);
  checkInteger(WHERE, 'max', max, { optional: true });
  if (typeof perTool !== 'object' || perTool === null || Array.isArray(perTool)) {
    failOption(WHERE, 'perTool', 'an object of tool names to positive integers', perTool);
  }
  // A Map of the own entries: a tool named `constructor` must not find a limit on Object.prototype.
  const limits = new Map<string, number>();
  for (const [tool, limit] of Object.entries(perTool)) {
    checkInteger(WHERE, `perTool.${tool}`, limit);
    limits.set(tool, limit);
  }
  if (max === undefined && limits.size === 0) failOption(WHERE, 'max', 'set (or `perTool` given)', max);
  checkOneOf(WHERE, 'onLimit', onLimit, ['deny', 'throw']);
  const message =
    options.message ??
    'Tool call limit reached: this tool cannot be called again in this run. Answer with what you have.';
  checkString(WHERE, 'message', message);
  checkString(WHERE, 'name', name);
  // Keyed by the run's state object, which lives as long as the run: a finished run's counts go with it.
  const runs = new WeakMap<object, { total: number; perTool: Map<string, number> }>();

  return defineMiddleware({
    name,
    async tool(ctx, next) {
      const state = ctx.run.state;
      let counts = runs.get(state);
      if (!counts) runs.set(state, (counts = { total: 0, perTool: new Map() }));
      const toolLimit = limits.get(ctx.toolName);
      const used = counts.perTool.get(ctx.toolName) ?? 0;
      const overTotal = max !== undefined && counts.total >= max;
      const overTool = toolLimit !== undefined && used >= toolLimit;
      if (!overTotal && !overTool) {
        counts.total++;
        counts.perTool.set(ctx.toolName, used + 1);
        return next();
      }
      if (onLimit === 'deny') {
        ctx.deny(message);
        return;
      }
      // The tool's name comes from the model: it stays in `details`, out of the message.
      throw new PolicyViolationError({
        reason: overTotal
          ? `a tool call exceeds the limit of ${max} tool calls per run (run ${ctx.run.runId}). Raise \`max\`, or pass onLimit: 'deny' to let the model read a refusal instead`
          : `a tool call exceeds its tool's limit of ${toolLimit} calls per run (run ${ctx.run.runId}); the tool is in \`details.tool\`. Raise \`perTool\`, or pass onLimit: 'deny'`,
        code: 'TOOL_CALL_LIMIT',
        plugin: name,
        details: { max, perTool: toolLimit, tool: ctx.toolName, calls: overTotal ? counts.total : used },
      });
    },
  });
}
