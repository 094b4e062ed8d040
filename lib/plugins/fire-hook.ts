import type { Immutable } from 'immer';
import type { Context } from '../core/context.js';
import type { HookPoint } from './hooks.js';
import type { PluginManager } from './manager.js';
import type { PluginScope } from './scope.js';

const ATTACHED = Symbol.for('modelware.plugins.attached');

/** @internal The manager (and run scope) the `plugins()` layer attached to a call. */
export interface Attached {
  readonly manager: PluginManager;
  readonly scope: PluginScope | undefined;
}

/** @internal Called by `plugins()`, so layers of the same call can fire custom hooks. */
export function attachPlugins(state: object, attached: Attached): void {
  (state as Record<symbol, Attached>)[ATTACHED] = attached;
}

/** @internal */
export function attachedPlugins(state: object | undefined): Attached | undefined {
  return state === undefined ? undefined : (state as Record<symbol, Attached | undefined>)[ATTACHED];
}

/**
 * Fires a hook point (usually one from `defineHook`) from inside a middleware, through the plugins
 * of the `plugins()` layer of the same call. Resolves with the payload as the handlers left it,
 * or `undefined` without calling `build` when no plugin handles the hook: no payload is built.
 *
 * @example
 * const out = await fireHook(ctx, cacheHit, () => ({ key, answer: cached }));
 * if (out) answer = out.answer;
 */
export async function fireHook<P extends object>(
  ctx: Pick<Context, 'state' | 'signal'>,
  point: HookPoint<string, P, string>,
  build: () => Immutable<P>,
): Promise<Immutable<P> | undefined> {
  const attached = attachedPlugins(ctx.state as object);
  if (!attached?.manager.wants(point.name, attached.scope)) return undefined;
  return attached.manager.dispatch(point, build(), { signal: ctx.signal, scope: attached.scope });
}
