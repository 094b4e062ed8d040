import type { Immutable } from 'immer';
import type { HookPoint } from './hooks.js';
import { attachedPlugins } from './manager.js';

/**
 * Fires a hook point (usually one from `defineHook`) from inside a middleware, through the plugins
 * of the dispatcher attached to the same call or tool call (`plugins()`, or a layer of yours that
 * called `manager.attach(ctx, scope)`). Resolves with the payload as the handlers left it,
 * or `undefined` without calling `build` when no plugin handles the hook: no payload is built.
 *
 * @example
 * const out = await fireHook(ctx, cacheHit, () => ({ key, answer: cached }));
 * if (out) answer = out.answer;
 */
export async function fireHook<P extends object>(
  ctx: { readonly state: object; readonly signal?: AbortSignal | undefined },
  point: HookPoint<string, P, string>,
  build: () => Immutable<P>,
): Promise<Immutable<P> | undefined> {
  const attached = attachedPlugins(ctx.state as object);
  if (!attached?.manager.wants(point.name, attached.scope)) return undefined;
  return attached.manager.dispatch(point, build(), { signal: ctx.signal, scope: attached.scope });
}
