import type { PluginDecisionEvent } from '../core/observe.js';
import type { Immutable } from 'immer';
import { lookupHook } from './hook-points.js';
import type { HookPoint } from './hooks.js';
import { type PhaseHost, runPhases } from './phases.js';
import { type PluginEvent, type PluginState, emitWarning, warn } from './events.js';
import { type BreakerState, type BreakerStateStore, PluginBreaker } from './handler-guards.js';
import { PluginRegistry } from './registry.js';
import { PluginRunner } from './runner.js';
import { PluginScope } from './scope.js';
import { checkKeys, describeValue, optionNames } from '../internal/options.js';
import type { Plugin, PluginLike } from './plugins.js';
import type { RunContext } from '../core/context.js';
import { openRunPlugins, runScopeOf } from './run-plugins.js';

export interface PluginManagerOptions {
  /** Registered at once, pipeline-wide. */
  readonly plugins?: readonly PluginLike[];
  /**
   * Receives violations that are logged rather than enforced, errors under `ignore`/`disable`,
   * disables and breaker changes.
   * @default a process warning (code `MODELWARE_PLUGIN`) per event
   */
  readonly onEvent?: (event: PluginEvent) => void;
  /** The clock circuit breakers read, in ms; inject one in tests. @default Date.now */
  readonly now?: () => number;
  /** Check each changed payload field against the hook's schema. @default true */
  readonly validate?: boolean;
  /**
   * Shares every plugin's circuit breaker through a store (`redisStore({ client })` for a fleet):
   * failures are counted there, and a breaker one worker opens opens on the others from their
   * next dispatch of that plugin (they read the store in the background, so `allow` stays
   * synchronous). Half-open probes stay one per worker. Keys: `plugin-breaker:<plugin name>:…`.
   * @default none: each manager's breakers are its own
   */
  readonly breakerStore?: BreakerStateStore | undefined;
}

export interface DispatchOptions {
  /** The call's signal: it aborts awaited handlers. Fire-and-forget handlers keep only their timeout. */
  readonly signal?: AbortSignal | undefined;
  /** A run's plugins (`manager.runScope()`), merged with the manager's in priority order. */
  readonly scope?: PluginScope | undefined;
  /** Refuse every change, saying why (e.g. `llm_output` in stream mode: the response was already sent). */
  readonly readOnly?: string | undefined;
  /** Told of each handler that modified the payload, blocked, or logged a violation (the recorder shows them). */
  readonly onDecision?: ((decision: PluginDecisionEvent) => void) | undefined;
}

const ATTACHED = Symbol.for('modelware.plugins.attached');

/** The manager (and run scope) a dispatcher attached to a call (`manager.attach`). */
interface Attached {
  readonly manager: PluginManager;
  readonly scope: PluginScope | undefined;
}

/** @internal What `fireHook` dispatches to: the manager a dispatcher attached to the call's state. */
export function attachedPlugins(state: object | undefined): Attached | undefined {
  return state === undefined ? undefined : (state as Record<symbol, Attached | undefined>)[ATTACHED];
}

const MANAGER_KEYS = optionNames<PluginManagerOptions>({
  plugins: true,
  onEvent: true,
  now: true,
  validate: true,
  breakerStore: true,
});

/**
 * Holds plugins and dispatches hook points to them. Pipeline-wide plugins are registered here;
 * `scope()` adds plugins until the scope is disposed; `runScope()` holds one run's plugins, which
 * only that run's dispatches see.
 *
 * @example
 * const manager = new PluginManager({ plugins: [contentPolicy, auditLogger] });
 * const app = pipeline(executor).use(plugins(manager));
 */
export class PluginManager {
  readonly #registry = new PluginRegistry();
  readonly #states = new WeakMap<Plugin, PluginState>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #host: PhaseHost;
  readonly #now: () => number;
  readonly #breakerStore: BreakerStateStore | undefined;
  readonly #onEvent: (event: PluginEvent) => void;
  /** What `attach()` hands calls without a run scope: one object, not one per call. */
  readonly #attached: Attached = { manager: this, scope: undefined };

  constructor(options: PluginManagerOptions = {}) {
    checkKeys('new PluginManager()', options, MANAGER_KEYS);
    const { plugins = [], onEvent = warn, now = Date.now, validate = true, breakerStore } = options;
    if (typeof onEvent !== 'function') throw new TypeError('PluginManager: expected `onEvent` to be a function.');
    if (typeof now !== 'function') throw new TypeError('PluginManager: expected `now` to be a function.');
    if (breakerStore !== undefined && typeof breakerStore?.increment !== 'function') {
      throw new TypeError(
        'PluginManager: expected `breakerStore` to be a Store (memoryStore(), redisStore({ client })).',
      );
    }
    this.#now = now;
    this.#breakerStore = breakerStore;
    this.#onEvent = onEvent;
    const runner = new PluginRunner({ validate, state: (p) => this.#state(p), emit: (e) => this.emit(e) });
    this.#host = {
      runner,
      emit: (e) => this.emit(e),
      track: (task) => void this.#track(task, 'a fire-and-forget handler').catch(() => {}),
    };
    this.register(...plugins);
  }

  /** Names of the pipeline-wide plugins (including open scopes'), in run order. */
  get plugins(): readonly string[] {
    return this.#registry.plugins.map((p) => p.name);
  }

  /** Adds pipeline-wide plugins; their `init` starts now and their handlers wait for it. */
  register(...plugins: PluginLike[]): this {
    this.#add(this.#registry, plugins, this, 'PluginManager.register()');
    return this;
  }

  /** Removes a pipeline-wide plugin by name and runs its `shutdown`. */
  unregister(name: string): Promise<void> {
    return this.#stop(this.#registry.remove(name));
  }

  /**
   * Adds plugins until the scope is closed: `using scope = manager.scope(p)` removes them when the
   * block exits, even on a throw. Without `using`, call `await scope.close()` in a `finally`.
   */
  scope(...plugins: PluginLike[]): PluginScope {
    return this.createScope(...plugins).enter();
  }

  /** A scope that is not entered yet; `enter()` it once. */
  createScope(...plugins: PluginLike[]): PluginScope {
    return new PluginScope(plugins, {
      add: (items, owner) => this.#add(this.#registry, items, owner, 'PluginManager.scope()'),
      remove: (owner) => this.#track(this.#stop(this.#registry.remove(owner)), 'a plugin shutdown()'),
    });
  }

  /**
   * One run's plugins, in a registry of their own: dispatches given `{ scope }` see them merged
   * with the manager's, and no other run does. Close it when the run ends.
   */
  runScope(...plugins: PluginLike[]): PluginScope {
    return this.#runScope(plugins, undefined, 'PluginManager.runScope()');
  }

  /**
   * For a dispatcher's run layer: opens the plugins given to this run (`runPlugins()`,
   * `runAgent({ plugins })`) as a run scope of this manager, and returns it; close it when the run
   * ends. `undefined` when the run has none, or a layer opened them already (even one that closed
   * them since): a run's plugins join one manager, the first whose run layer opens them, once.
   * Until it is closed, `runScopeOf(run)` on this manager returns it for the run's calls and tool
   * calls.
   *
   * @example
   * const scope = manager.openRunScope(ctx.run);
   * try { await next(); } finally { await scope?.close(); }
   */
  openRunScope(run: RunContext): PluginScope | undefined {
    if (typeof run !== 'object' || run === null) {
      throw new TypeError(
        `PluginManager.openRunScope(): expected a run (\`ctx.run\` in a run layer), got ${describeValue(run)}. A call outside runAgent has no run: in a call layer, use runScopeOf(ctx.run), which accepts undefined.`,
      );
    }
    return openRunPlugins(run, this, (plugins, onClose) =>
      // What the user wrote to give the run its plugins, so a bad one is reported there.
      this.#runScope(plugins, onClose, 'runAgent({ plugins }) / runPlugins()'),
    );
  }

  /**
   * The run plugins this manager opened (`openRunScope`) for the run a call or tool call belongs
   * to, or `undefined`: pass it as `dispatch(..., { scope })` and to `wants(hook, scope)`.
   */
  runScopeOf(run: RunContext | undefined): PluginScope | undefined {
    return runScopeOf(run, this);
  }

  /**
   * Makes `fireHook(ctx, ...)`, in the layers inside yours for this call, dispatch to this manager
   * (with a run's `scope`). A dispatcher calls it as the call enters; `plugins()` does. It holds for
   * the rest of the call, on the way out too, until another dispatcher attaches: one inside yours
   * replaces it, and the layers between the two then reach the inner one after `next()` as well.
   * A tool call's context is attached the same way (`plugins()` attaches both), for tool layers.
   */
  attach(ctx: { readonly state: object }, scope?: PluginScope): void {
    (ctx.state as Record<symbol, Attached>)[ATTACHED] = scope ? { manager: this, scope } : this.#attached;
  }

  /** Whether any plugin handles `hook` here (or in `scope`): check it before building a payload. */
  wants(hook: string, scope?: PluginScope): boolean {
    return this.#registry.lists(hook) !== undefined || (scope?.registry?.lists(hook) ?? undefined) !== undefined;
  }

  /**
   * Runs a hook's handlers, phase by phase, and resolves with the payload as the handlers left it.
   * A block throws `PolicyViolationError`; a failure under `onError: 'fail'` throws `PluginError`.
   */
  dispatch<P extends object>(
    hook: HookPoint<string, P, string> | string,
    payload: Immutable<P>,
    options: DispatchOptions = {},
  ): Promise<Immutable<P>> {
    // Not async: one promise less per dispatch; errors still arrive as rejections.
    const point = typeof hook === 'string' ? lookupHook(hook) : hook;
    if (!point) {
      return Promise.reject(
        new TypeError(`PluginManager.dispatch(): no hook named \`${String(hook)}\`. Define it with defineHook().`),
      );
    }
    const own = this.#registry.lists(point.name);
    const run = options.scope?.registry?.lists(point.name);
    if (!own && !run) return Promise.resolve(payload);
    return runPhases(this.#host, point as HookPoint<string, P, string>, own, run, payload, options);
  }

  /** Resolves once every fire-and-forget handler started so far (and any started meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  /** Resolves once every registered plugin's `init` finished; rejects with the first init error. */
  async ready(): Promise<void> {
    const states = this.#registry.plugins.map((p) => this.#state(p));
    await Promise.all(states.map((s) => s.ready));
    const failed = states.find((s) => s.initError !== undefined);
    if (failed) throw failed.initError;
  }

  /** Unregisters every plugin, scoped ones included (running each `shutdown`), and drains background work. */
  async shutdown(): Promise<void> {
    await this.drain();
    await this.#stop(this.#registry.clear());
    await this.drain();
  }

  /** Closes a plugin's circuit breaker and re-enables it if `onError: 'disable'` turned it off. */
  reset(name: string): void {
    const plugin = this.#registry.find(name);
    if (!plugin) throw new TypeError(`PluginManager.reset(): no plugin named \`${name}\` is registered.`);
    const state = this.#state(plugin);
    state.disabled = false;
    state.breaker?.reset();
  }

  /** A plugin's health: whether `onError: 'disable'` turned it off, and its breaker's state. */
  status(name: string): { readonly disabled: boolean; readonly breaker: BreakerState | undefined } | undefined {
    const plugin = this.#registry.find(name);
    if (!plugin) return undefined;
    const state = this.#state(plugin);
    return { disabled: state.disabled, breaker: state.breaker?.state };
  }

  #runScope(plugins: readonly PluginLike[], onClose: (() => void) | undefined, where: string): PluginScope {
    const registry = new PluginRegistry();
    return new PluginScope(
      plugins,
      {
        add: (items, owner) => this.#add(registry, items, owner, where),
        remove: (owner) => {
          onClose?.();
          return this.#track(this.#stop(registry.remove(owner)), 'a plugin shutdown()');
        },
      },
      registry,
    ).enter();
  }

  /** @internal */
  emit(event: PluginEvent): void {
    try {
      this.#onEvent(event);
    } catch (error) {
      emitWarning(`a plugin onEvent listener threw: ${String(error)}`);
    }
  }

  // Background handlers and unawaited scope closes (`using`): drain() waits for them, and what
  // they throw becomes a warning rather than an unhandled rejection.
  #track<T>(promise: Promise<T>, what: string): Promise<T> {
    const task = promise
      .catch((error: unknown) => emitWarning(`${what} failed: ${String(error)}`))
      .finally(() => this.#background.delete(task));
    this.#background.add(task);
    return promise;
  }

  #state(plugin: Plugin): PluginState {
    let state = this.#states.get(plugin);
    if (!state) {
      const breaker = plugin.breaker
        ? new PluginBreaker(
            plugin.breaker,
            this.#now,
            (s) => this.emit({ type: 'breaker', plugin: plugin.name, state: s }),
            this.#breakerStore && {
              store: this.#breakerStore,
              key: `plugin-breaker:${plugin.name}`,
              track: (work) => void this.#track(work, `plugin \`${plugin.name}\` breaker store`).catch(() => {}),
            },
          )
        : undefined;
      state = { disabled: false, breaker, ready: undefined, initError: undefined };
      this.#states.set(plugin, state);
    }
    return state;
  }

  #add(registry: PluginRegistry, items: readonly PluginLike[], owner: object, where: string): void {
    for (const plugin of registry.add(items, owner, where)) {
      if (!plugin.init) continue;
      const state = this.#state(plugin);
      const init = plugin.init;
      state.initError = undefined;
      state.ready = Promise.resolve()
        .then(init)
        .catch((error: unknown) => void (state.initError = error ?? new Error('init failed')))
        .finally(() => void (state.ready = undefined));
    }
  }

  async #stop(plugins: readonly Plugin[]): Promise<void> {
    const errors: unknown[] = [];
    await Promise.all(
      plugins.map(async (p) => {
        try {
          await this.#state(p).ready;
          await p.shutdown?.();
        } catch (error) {
          errors.push(error);
        }
      }),
    );
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'Several plugins failed to shut down.');
  }
}
