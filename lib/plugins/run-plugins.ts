import { type Middleware, defineMiddleware } from '../core/compose.js';
import type { RunContext } from '../core/context.js';
import type { PluginLike } from './plugins.js';
import type { PluginScope } from './scope.js';

/** @internal The run plugins of one run, and the scope a `plugins(manager)` layer opened for them. */
export interface RunSlot {
  plugins: readonly PluginLike[] | undefined;
  scope: PluginScope | undefined;
  /** The manager whose run layer opened `scope`: only its dispatches see the run's plugins. */
  owner: object | undefined;
  /** A `plugins(manager)` layer picked the plugins up. */
  opened: boolean;
}

// Per run: keyed by the run's state object (shared by every view of one run, collected with it),
// then by run id (two runs may be handed the same state object).
const slots = new WeakMap<object, Map<string, RunSlot>>();

/** @internal */
export function slotOf(run: RunContext, create: boolean): RunSlot | undefined {
  let byId = slots.get(run.state as object);
  if (!byId && create) slots.set(run.state as object, (byId = new Map()));
  let slot = byId?.get(run.runId);
  if (!slot && create)
    byId?.set(run.runId, (slot = { plugins: undefined, scope: undefined, owner: undefined, opened: false }));
  return slot;
}

function release(run: RunContext): void {
  const byId = slots.get(run.state as object);
  byId?.delete(run.runId);
  if (byId?.size === 0) slots.delete(run.state as object);
}

/**
 * @internal The plugins of the run a call or tool call belongs to, when `owner` opened them
 * (public as `manager.runScopeOf`).
 */
export function runScopeOf(run: RunContext | undefined, owner: object): PluginScope | undefined {
  const slot = run === undefined ? undefined : slotOf(run, false);
  return slot?.owner === owner ? slot.scope : undefined;
}

/**
 * @internal Opens the run plugins given to `run` with `open` (a manager's run scope) once: the
 * first dispatcher whose run layer asks gets the scope, later ones (and any after it was closed)
 * `undefined`; only `owner` finds it with `runScopeOf`. Closing the scope takes it off the run
 * (public as `manager.openRunScope`).
 */
export function openRunPlugins(
  run: RunContext,
  owner: object,
  open: (plugins: readonly PluginLike[], onClose: () => void) => PluginScope,
): PluginScope | undefined {
  const slot = slotOf(run, false);
  // Once per run: after the owner closed them (shut down), no layer opens (and re-inits) them again.
  if (!slot?.plugins || slot.opened) return undefined;
  slot.opened = true;
  const scope = open(slot.plugins, () => {
    slot.scope = undefined;
    slot.owner = undefined;
  });
  slot.scope = scope;
  slot.owner = owner;
  return scope;
}

/**
 * Plugins for one run only: `runAgent({ middleware: [runPlugins(p1, p2)] })`. The pipeline's
 * `plugins(manager)` layer opens them as a run scope of its manager at run start and closes it at
 * run end; they sort with the manager's plugins by priority, and no other run sees them.
 *
 * @example
 * await runAgent({ model: app, modelId: 'gpt-5-mini', messages, middleware: [runPlugins(tenantPolicy)] });
 */
export function runPlugins(...plugins: PluginLike[]): Middleware {
  return defineMiddleware({
    name: 'runPlugins',
    async run(ctx, next) {
      const slot = slotOf(ctx.run, true) as RunSlot;
      slot.plugins = [...(slot.plugins ?? []), ...plugins];
      try {
        await next();
      } finally {
        release(ctx.run);
        // A dispatcher should close what it opened when its run layer exits; one that did not (or
        // opened them from a call layer) does not keep the run's plugins alive past the run. A
        // failing shutdown is reported by the manager (a warning), not thrown here.
        await slot.scope?.close().catch(() => {});
      }
      if (!slot.opened && plugins.length > 0) {
        process.emitWarning(
          `modelware: runPlugins(): the run's plugins (${plugins.length}) never ran: no dispatcher opened them. Add plugins(manager) to the pipeline passed as \`model\` (a dispatcher of your own opens them with manager.openRunScope(ctx.run) in its run layer).`,
          { code: 'MODELWARE_PLUGIN' },
        );
      }
    },
  });
}
