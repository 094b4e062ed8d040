import type { Immutable } from 'immer';
import { type Middleware, type Next, defineMiddleware } from '../../lib/core/compose.js';
import type { Context } from '../../lib/core/context.js';
import type { PluginDecisionEvent } from '../../lib/core/observe.js';
import { PolicyViolationError } from '../../lib/core/errors.js';
import { hookPoints, type ValidationFailure } from '../../lib/plugins/hook-points.js';
import type { ModelResponse, StreamPart } from '../../lib/core/messages.js';
import { PluginManager } from '../../lib/plugins/manager.js';
import type { PluginScope } from '../../lib/plugins/scope.js';
import { agentLayers } from './agent.js';
import { describeValue } from '../../lib/kit.js';

// runPlugins() lives in lib/plugins/run-plugins.ts: runAgent({ plugins }) is sugar for it, and
// lib/agent imports no built-in (.dependency-cruiser.cjs).
export { runPlugins } from '../../lib/plugins/run-plugins.js';

export interface PluginsOptions {
  /**
   * Attempts to repair a response that failed `validation_check`: each runs the `repair` hook and
   * then every layer inside this one again. In stream mode nothing is repaired (the parts were
   * already sent): a failure rejects the stream at its end.
   * @default 2
   */
  readonly maxRepairs?: number | undefined;
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
      `plugins(): expected \`maxRepairs\` to be a non-negative integer, got ${describeValue(maxRepairs)}.`,
    );
  }

  return defineMiddleware({
    name: 'plugins',
    // Repair re-runs the layers inside, which only a replay layer may do; without repairs the
    // layer stays an ordinary (cheaper) one.
    replay: maxRepairs > 0,
    ...agentLayers(manager),
    async call(ctx, next) {
      const scope = manager.runScopeOf(ctx.run);
      manager.attach(ctx, scope);
      // Each hook point costs one lookup when nobody handles it: no payload, no extra await.
      // Helpers live at module level, since a closure per call would cost more than the checks.
      if (
        manager.wants('model_resolve', scope) ||
        manager.wants('transform_context', scope) ||
        manager.wants('llm_input', scope)
      ) {
        await beforeCall(ctx, manager, scope);
        if (manager.wants('model_resolve', scope) || manager.wants('llm_input', scope)) {
          watchModelChoice(ctx, manager, scope);
        }
      }
      if (manager.wants('llm_error', scope) || manager.wants('validation_check', scope)) {
        await callWithRepairs(ctx, next, manager, scope, maxRepairs);
      } else await next();
      if (ctx.mode === 'stream') streamHooks(ctx, manager, scope);
      else if (manager.wants('llm_output', scope)) {
        const response = ctx.response as ModelResponse;
        const payload = { ...base(ctx), model: ctx.model, request: ctx.request, response };
        const out = await manager.dispatch(hookPoints.llm_output, payload, dispatchOptions(ctx, scope));
        if (out.response !== response) ctx.updateResponse(() => out.response);
      }
    },
  });
}

function dispatchOptions(ctx: Context, scope: PluginScope | undefined, readOnly?: string) {
  // ctx.signal would create an AbortController for every call that has none (microseconds each).
  // Plugin decisions go to the call's observers (the recorder), only when someone observes.
  const onDecision = ctx.observed ? (d: PluginDecisionEvent) => ctx.reportPluginDecision(d) : undefined;
  return { signal: ctx.signalIfAny, scope, readOnly, onDecision };
}

/** `model_resolve`, `transform_context` and `llm_input`, each applied with ctx.update (validated, chained). */
async function beforeCall(ctx: Context, manager: PluginManager, scope: PluginScope | undefined): Promise<void> {
  if (manager.wants('model_resolve', scope)) {
    const payload = { ...base(ctx), requested: ctx.model.requested, model: ctx.request.model, request: ctx.request };
    const out = await manager.dispatch(hookPoints.model_resolve, payload, dispatchOptions(ctx, scope));
    if (out.model !== ctx.request.model) ctx.update((draft) => void (draft.model = out.model));
  }
  if (manager.wants('transform_context', scope)) {
    const messages = ctx.request.messages;
    const payload = { ...base(ctx), model: ctx.model, messages };
    const out = await manager.dispatch(hookPoints.transform_context, payload, dispatchOptions(ctx, scope));
    if (out.messages !== messages) ctx.update((draft) => void (draft.messages = out.messages as never));
  }
  if (manager.wants('llm_input', scope)) {
    const request = ctx.request;
    const out = await manager.dispatch(
      hookPoints.llm_input,
      { ...base(ctx), model: ctx.model, request },
      dispatchOptions(ctx, scope),
    );
    if (out.request !== request) ctx.update(() => out.request);
  }
}

/**
 * When a layer or executor inside chooses another model than the one `llm_input` saw (a fallback,
 * a routing executor), `model_resolve` and `llm_input` run again for that attempt, with the model
 * chosen, before the call; what they change is what the attempt sends.
 */
function watchModelChoice(ctx: Context, manager: PluginManager, scope: PluginScope | undefined): void {
  const seen = ctx.request.model;
  ctx.addExecutorHooks({
    async onModelChosen({ model, request }) {
      if (model === seen) return undefined;
      let sent = request;
      if (manager.wants('model_resolve', scope)) {
        const payload = { ...base(ctx), requested: ctx.model.requested, model, request: sent };
        const out = await manager.dispatch(hookPoints.model_resolve, payload, dispatchOptions(ctx, scope));
        if (out.model !== sent.model) sent = { ...sent, model: out.model };
      }
      if (manager.wants('llm_input', scope)) {
        const resolved = { requested: ctx.model.requested, resolved: sent.model };
        const out = await manager.dispatch(
          hookPoints.llm_input,
          { ...base(ctx), model: resolved, request: sent },
          dispatchOptions(ctx, scope),
        );
        sent = out.request as typeof sent;
      }
      return sent;
    },
  });
}

/** Runs the layers inside; `llm_error` may recover a failure; `validation_check` failures run `repair` and go again. */
async function callWithRepairs(
  ctx: Context,
  next: Next,
  manager: PluginManager,
  scope: PluginScope | undefined,
  maxRepairs: number,
): Promise<void> {
  // The request as this layer sends it: what `repair` changes (inner layers re-apply theirs).
  let sent = ctx.request;
  for (let attempt = 1; ; attempt++) {
    try {
      await next();
    } catch (error) {
      // A cancelled call stays cancelled (the dispatcher would refuse an aborted signal anyway).
      if (ctx.signal.aborted || !manager.wants('llm_error', scope)) throw error;
      const payload = { ...base(ctx), model: ctx.model, request: ctx.request, error };
      const out = await manager.dispatch(hookPoints.llm_error, payload, dispatchOptions(ctx, scope));
      if (out.response === undefined) throw error;
      ctx.response = out.response as ModelResponse;
    }
    if (ctx.mode === 'stream' || !manager.wants('validation_check', scope)) return;
    const response = ctx.response as ModelResponse;
    const check = { ...base(ctx), model: ctx.model, request: ctx.request, response, attempt, failures: [] };
    const { failures } = await manager.dispatch(hookPoints.validation_check, check, dispatchOptions(ctx, scope));
    if (failures.length === 0) return;
    if (attempt > maxRepairs || !manager.wants('repair', scope)) throw validationFailed(failures, attempt);
    const payload = { ...base(ctx), model: ctx.model, request: sent, response, attempt, failures };
    const repaired = await manager.dispatch(hookPoints.repair, payload, dispatchOptions(ctx, scope));
    if (repaired.request === sent) throw validationFailed(failures, attempt);
    ctx.update(() => repaired.request);
    sent = repaired.request;
  }
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
  if (manager.wants('stream_chunk', scope)) {
    // An async generator, so an abandoned stream still closes its source (see ctx.wrapStream).
    void ctx.wrapStream(async function* (source) {
      let index = 0;
      for await (const part of source) {
        const out = await manager.dispatch(
          hookPoints.stream_chunk,
          { ...base(ctx), model: ctx.model, index: index++, part },
          dispatchOptions(ctx, scope),
        );
        if (out.part !== null) yield out.part as StreamPart;
      }
    });
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
          hookPoints.validation_check,
          { ...payload, attempt: 1, failures: [] },
          dispatchOptions(ctx, scope),
        );
        if (failures.length > 0) throw validationFailed(failures, 1);
      }
      if (output) await manager.dispatch(hookPoints.llm_output, payload, dispatchOptions(ctx, scope, STREAMED));
    },
    async onError(error) {
      if (!errors) return;
      const payload = { ...base(ctx), model: ctx.model, request: ctx.request, error };
      await manager.dispatch(
        hookPoints.llm_error,
        payload,
        dispatchOptions(ctx, scope, 'the stream failed after it started; it cannot be replaced'),
      );
    },
  });
}
