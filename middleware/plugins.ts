import type { Immutable } from 'immer';
import { type Middleware, defineMiddleware } from '../lib/compose.js';
import type { Context } from '../lib/context.js';
import { PolicyViolationError } from '../lib/errors.js';
import { attachPlugins } from '../lib/fire-hook.js';
import { HOOKS, type ValidationFailure } from '../lib/hook-points.js';
import type { HookPoint } from '../lib/hooks.js';
import type { ModelResponse, StreamPart } from '../lib/messages.js';
import { PluginManager } from '../lib/plugin-manager.js';
import type { PluginScope } from '../lib/plugin-scope.js';
import { agentLayers, runScopeOf } from './plugins-agent.js';

export { runPlugins } from './plugins-agent.js';

export interface PluginsOptions {
  /**
   * Attempts to repair a response that failed `validation_check`: each runs the `repair` hook and
   * then every layer inside this one again. In stream mode nothing is repaired (the parts were
   * already sent): a failure rejects the stream at its end.
   * @default 2
   */
  readonly maxRepairs?: number;
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});
const STREAMED = 'the response was already streamed; rewrite parts at `stream_chunk` instead';

/**
 * Dispatches the hook points to a manager's plugins: around each call `model_resolve`,
 * `transform_context`, `llm_input`, then `llm_output` or `llm_error` (with the model actually
 * used), `stream_chunk` per streamed part, `validation_check` and `repair`; around agent runs,
 * turns and tool calls the `run_*`, `turn_*` and `tool_*` hooks. Where it sits in `use()` order
 * is where the hooks run: after the layers before it, before those after it. A hook with no
 * handlers costs one lookup and builds no payload.
 *
 * @example
 * const manager = new PluginManager({ plugins: [contentPolicy, auditLogger] });
 * app.use(plugins(manager));
 */
export function plugins(manager: PluginManager, options: PluginsOptions = {}): Middleware {
  if (!(manager instanceof PluginManager)) {
    throw new TypeError(
      `plugins(): expected a PluginManager (new PluginManager({ plugins })), got ${String(manager)}.`,
    );
  }
  const { maxRepairs = 2 } = options;
  if (!Number.isInteger(maxRepairs) || maxRepairs < 0) {
    throw new TypeError(
      `plugins(): expected \`maxRepairs\` to be a non-negative integer, got \`${String(maxRepairs)}\`.`,
    );
  }

  return defineMiddleware({
    name: 'plugins',
    // Repair re-runs the layers inside; a plain call never calls next() twice.
    replay: true,
    ...agentLayers(manager),
    async call(ctx, next) {
      const scope = runScopeOf(ctx.run);
      attachPlugins(ctx.state as object, { manager, scope });
      const wants = (point: HookPoint) => manager.wants(point.name, scope);
      const fire = <P extends object>(point: HookPoint<string, P, string>, payload: Immutable<P>, readOnly?: string) =>
        manager.dispatch(point, payload, { signal: ctx.signal, scope, readOnly });

      if (wants(HOOKS.model_resolve)) {
        const out = await fire(HOOKS.model_resolve, {
          ...base(ctx),
          requested: ctx.model.requested,
          model: ctx.request.model,
          request: ctx.request,
        });
        if (out.model !== ctx.request.model) ctx.update((draft) => void (draft.model = out.model));
      }
      if (wants(HOOKS.transform_context)) {
        const messages = ctx.request.messages;
        const out = await fire(HOOKS.transform_context, { ...base(ctx), model: ctx.model, messages });
        if (out.messages !== messages) ctx.update((draft) => void (draft.messages = out.messages as never));
      }
      if (wants(HOOKS.llm_input)) {
        const request = ctx.request;
        const out = await fire(HOOKS.llm_input, { ...base(ctx), model: ctx.model, request });
        if (out.request !== request) ctx.update(() => out.request);
      }

      // The request as this layer sends it: what `repair` changes (inner layers re-apply theirs).
      let sent = ctx.request;
      for (let attempt = 1; ; attempt++) {
        try {
          await next();
        } catch (error) {
          if (!wants(HOOKS.llm_error)) throw error;
          const out = await fire(HOOKS.llm_error, { ...base(ctx), model: ctx.model, request: ctx.request, error });
          if (out.response === undefined) throw error;
          ctx.response = out.response as ModelResponse;
        }
        if (ctx.mode === 'stream') return streamHooks(ctx, manager, scope);
        if (!wants(HOOKS.validation_check)) break;
        const response = ctx.response as ModelResponse;
        const checked = await fire(HOOKS.validation_check, {
          ...base(ctx),
          model: ctx.model,
          request: ctx.request,
          response,
          attempt,
          failures: [],
        });
        const { failures } = checked;
        if (failures.length === 0) break;
        if (attempt > maxRepairs || !wants(HOOKS.repair)) throw validationFailed(failures, attempt);
        const repaired = await fire(HOOKS.repair, {
          ...base(ctx),
          model: ctx.model,
          request: sent,
          response,
          attempt,
          failures,
        });
        if (repaired.request === sent) throw validationFailed(failures, attempt);
        ctx.update(() => repaired.request);
        sent = repaired.request;
      }
      if (wants(HOOKS.llm_output)) {
        const response = ctx.response as ModelResponse;
        const out = await fire(HOOKS.llm_output, { ...base(ctx), model: ctx.model, request: ctx.request, response });
        if (out.response !== response) ctx.updateResponse(() => out.response as ModelResponse);
      }
    },
  });
}

/** The ids and metadata every call payload carries. */
function base(ctx: Context) {
  const run = ctx.run;
  const own = ctx.request.metadata;
  const metadata = run && own ? { ...run.metadata, ...own } : (own ?? run?.metadata ?? EMPTY);
  return {
    callId: ctx.id,
    mode: ctx.mode,
    runId: run?.runId,
    turn: run?.turn,
    metadata: metadata as Readonly<Record<string, unknown>>,
  };
}

function validationFailed(failures: Immutable<ValidationFailure[]>, attempts: number): PolicyViolationError {
  const first = failures[0] as ValidationFailure;
  const repairs = attempts - 1;
  return new PolicyViolationError({
    reason: `the response failed validation${repairs > 0 ? ` after ${repairs} repair(s)` : ''}: ${first.reason}`,
    code: first.code,
    details: { failures, attempts },
    hook: 'validation_check',
    ...(first.plugin === undefined ? {} : { plugin: first.plugin }),
  });
}

/** In stream mode: `stream_chunk` per part, then `validation_check` and a read-only `llm_output` at the end. */
function streamHooks(ctx: Context, manager: PluginManager, scope: PluginScope | undefined): void {
  const opts = (readOnly?: string) => ({ signal: ctx.signal, scope, readOnly });
  if (manager.wants('stream_chunk', scope)) {
    const source = ctx.core.streamFor(ctx.layer, 'stream_chunk');
    ctx.core.stream = (async function* () {
      let index = 0;
      for await (const part of source) {
        const out = await manager.dispatch(
          HOOKS.stream_chunk,
          { ...base(ctx), model: ctx.model, index: index++, part },
          opts(),
        );
        if (out.part !== null) yield out.part as StreamPart;
      }
    })();
  }
  const check = manager.wants('validation_check', scope);
  const output = manager.wants('llm_output', scope);
  const errors = manager.wants('llm_error', scope);
  if (!check && !output && !errors) return;
  void ctx.tapStream({
    async onFinish(response) {
      const payload = { ...base(ctx), model: ctx.model, request: ctx.request, response };
      if (check) {
        const { failures } = await manager.dispatch(
          HOOKS.validation_check,
          { ...payload, attempt: 1, failures: [] },
          opts(),
        );
        if (failures.length > 0) throw validationFailed(failures, 1);
      }
      if (output) await manager.dispatch(HOOKS.llm_output, payload, opts(STREAMED));
    },
    async onError(error) {
      if (!errors) return;
      const payload = { ...base(ctx), model: ctx.model, request: ctx.request, error };
      await manager.dispatch(
        HOOKS.llm_error,
        payload,
        opts('the stream failed after it started; it cannot be replaced'),
      );
    },
  });
}
