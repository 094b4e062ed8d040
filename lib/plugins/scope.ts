import { MiddlewareError } from '../core/errors.js';
import type { PluginRegistry } from './registry.js';
import type { PluginLike } from './plugins.js';

/** @internal How a scope adds and removes its plugins (provided by the manager). */
export interface ScopeHost {
  add(plugins: readonly PluginLike[], owner: object): void;
  remove(owner: object): Promise<void>;
}

/**
 * Plugins that are active between `enter()` and `close()`. A scope is single-use: entering it
 * again, open or closed, is refused, so a scope can never be half-owned by two blocks.
 *
 * `using scope = manager.scope(plugin)` closes it when the block exits, even on a throw
 * (`await using` also waits for the plugins' `shutdown`). Without `using`:
 *
 * @example
 * const scope = manager.scope(redactor);
 * try { await app.generate(request); } finally { await scope.close(); }
 */
export class PluginScope implements Disposable, AsyncDisposable {
  #state: 'new' | 'open' | 'closed' = 'new';
  #closing: Promise<void> | undefined;
  readonly #plugins: readonly PluginLike[];
  readonly #host: ScopeHost;
  /** @internal A run scope's own registry; `undefined` for a manager scope (its plugins join the manager). */
  readonly registry: PluginRegistry | undefined;

  /** @internal Use `manager.scope()`, `manager.createScope()` or `manager.runScope()`. */
  constructor(plugins: readonly PluginLike[], host: ScopeHost, registry?: PluginRegistry) {
    this.#plugins = plugins;
    this.#host = host;
    this.registry = registry;
  }

  /** Whether the scope's plugins are active. */
  get active(): boolean {
    return this.#state === 'open';
  }

  /** Activates the plugins. Throws if this scope was entered before. */
  enter(): this {
    if (this.#state !== 'new') {
      throw new MiddlewareError(
        'PluginScope',
        `PluginScope.enter(): this scope was already entered${this.#state === 'closed' ? ' and closed' : ''}; scopes are single-use. Create a new one with manager.scope(...).`,
      );
    }
    this.#host.add(this.#plugins, this);
    this.#state = 'open';
    return this;
  }

  /**
   * Removes the plugins at once and resolves after their `shutdown` ran. Closing twice is
   * harmless; closing a scope that was never entered just marks it closed.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      const wasOpen = this.#state === 'open';
      this.#state = 'closed';
      this.#closing = wasOpen ? this.#host.remove(this) : Promise.resolve();
    }
    return this.#closing;
  }

  [Symbol.dispose](): void {
    // Removal is synchronous; shutdown errors are reported by the manager (see `drain()`).
    this.close().catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
