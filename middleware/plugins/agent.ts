import type { Immutable } from 'immer';
import type { PluginScope } from '../../lib/plugins/scope.js';
import { PolicyViolationError } from '../../lib/core/errors.js';
import { hookPoints } from '../../lib/plugins/hook-points.js';
import { approvalRequestOf } from '../../lib/plugins/phases.js';
import type { HookPoint } from '../../lib/plugins/hooks.js';
import type { PluginManager } from '../../lib/plugins/manager.js';
import type { RunLayerContext, RunMiddlewareFn, TurnMiddlewareFn } from '../../lib/agent/run-context.js';
import type { ToolContext, ToolMiddlewareFn, ToolResult } from '../../lib/agent/tool-context.js';
import { toolContent, toolMessage } from '../../lib/kit.js';

/** The run, turn and tool layers of `plugins()`, written on `PluginManager`'s public dispatch methods. */
export function agentLayers(manager: PluginManager): {
  run: RunMiddlewareFn;
  turn: TurnMiddlewareFn;
  tool: ToolMiddlewareFn;
} {
  // Each layer looks up its run's scope once. `signal` aborts awaited handlers with the run (or tool
  // call); run_end is fired without it, so an aborted run still reports its end.
  const fire: Fire = (point, scope, signal, build) =>
    manager.wants(point.name, scope) ? manager.dispatch(point, build(), { scope, signal }) : undefined;

  return {
    async run(ctx, next) {
      const { run } = ctx;
      // The plugins given to this run (runPlugins(), runAgent({ plugins })), merged with ours.
      const opened = manager.openRunScope(run);
      const scope = manager.runScopeOf(run);
      let failed = true;
      try {
        const messages = run.transcript;
        const started = await fire(hookPoints.run_start, scope, ctx.signal, () => ({
          runId: run.runId,
          metadata: run.metadata,
          resumed: ctx.resumed,
          messages,
        }));
        if (started && started.messages !== messages) run.updateTranscript(() => started.messages);
        let error: unknown;
        try {
          await next();
        } catch (thrown) {
          error = thrown;
          throw thrown;
        } finally {
          await fire(hookPoints.run_end, scope, undefined, () => runEnd(ctx, error));
        }
        failed = false;
      } finally {
        // A run that failed keeps its own error: a failing shutdown() must not replace it (the
        // manager reports that failure as a warning either way).
        const closing = opened?.close();
        await (failed ? closing?.catch(() => {}) : closing);
      }
    },

    async turn(ctx, next) {
      const { run, turn } = ctx;
      const base = { runId: run.runId, metadata: run.metadata, turn };
      const scope = manager.runScopeOf(run);
      await fire(hookPoints.turn_start, scope, ctx.signal, () => ({ ...base, messages: run.transcript }));
      await next();
      const record = ctx.record;
      if (record)
        await fire(hookPoints.turn_end, scope, ctx.signal, () => ({
          ...base,
          response: record.response,
          messages: run.transcript,
        }));
    },

    async tool(ctx, next) {
      const { run } = ctx;
      // fireHook(ctx, ...) in the tool layers inside this one reaches our plugins too.
      const scope = manager.runScopeOf(run);
      manager.attach(ctx, scope);
      const base = {
        runId: run.runId,
        turn: run.turn,
        toolCallId: ctx.toolCallId,
        toolName: ctx.toolName,
        metadata: run.metadata,
      };
      try {
        const input = ctx.input;
        let pre: Immutable<{ input: unknown }> | undefined;
        try {
          pre = await fire(hookPoints.tool_pre_invoke, scope, ctx.signal, () => ({ ...base, input }));
        } catch (error) {
          // requireApproval(): hold the call for a decision; once approved on resume, it runs.
          const request = approvalRequestOf(error);
          if (!request) throw error;
          const { reason, details, plugin } = request;
          if (ctx.interrupt(details === undefined ? { reason } : { reason, details }, { plugin })) return;
        }
        if (pre && pre.input !== input) ctx.updateInput(() => pre.input as never);
        await next();
        // A layer inside held the call for a decision: it did not run, there is nothing to report.
        if (ctx.interrupted) return;
        const result = ctx.result as ToolResult;
        const post = await fire(hookPoints.tool_post_invoke, scope, ctx.signal, () => ({
          ...base,
          input: ctx.input,
          output: result.output,
          isError: result.isError === true,
        }));
        if (post && (post.output !== result.output || post.isError !== (result.isError === true))) {
          const content = post.output === result.output ? result.content : toolContent(post.output);
          ctx.result = { ...result, output: post.output, content, isError: post.isError };
        }
        await persist(ctx, base, fire, scope);
      } catch (error) {
        // A block at a tool hook denies the call: the model reads why (or, with throwOnToolError,
        // the run rejects with the PolicyViolationError carried in the result).
        if (!PolicyViolationError.isInstance(error) || !error.violation.hook?.startsWith('tool_')) throw error;
        const { reason, code } = error.violation;
        ctx.result = { content: `Blocked by policy (${code}): ${reason}`, isError: true, error };
      }
    },
  };
}

/** Fires a hook point for a run, turn or tool call, when anyone handles it (no payload is built otherwise). */
type Fire = <P extends object>(
  point: HookPoint<string, P, string>,
  scope: PluginScope | undefined,
  signal: AbortSignal | undefined,
  build: () => Immutable<P>,
) => Promise<Immutable<P>> | undefined;

async function persist(
  ctx: ToolContext,
  base: { toolCallId: string; toolName: string },
  fire: Fire,
  scope: PluginScope | undefined,
): Promise<void> {
  const result = ctx.result as ToolResult;
  const message = toolMessage(base, result);
  const out = await fire(hookPoints.tool_result_persist, scope, ctx.signal, () => ({ ...base, message }));
  if (!out || out.message === message) return;
  ctx.result = { ...result, content: out.message.content, isError: out.message.isError === true };
}

function runEnd(ctx: RunLayerContext, error: unknown) {
  const { run, result } = ctx;
  const payload = {
    runId: run.runId,
    metadata: run.metadata,
    resumed: ctx.resumed,
    turns: result?.turns.length ?? Math.max(0, run.turn - 1),
    messages: result?.transcript ?? run.transcript,
  };
  return {
    ...payload,
    ...(result ? { response: result.response, usage: result.usage, stopReason: result.stopReason } : {}),
    ...(error === undefined ? {} : { error }),
  };
}
