import type { RunContext } from '../lib/context.js';
import type { PluginManager } from '../lib/plugin-manager.js';
import type { PluginScope } from '../lib/plugin-scope.js';

// Run scopes by the run's state object: one per run, shared by every view of it, and collected
// with the run.
const runScopes = new WeakMap<object, PluginScope>();

/** @internal The plugins of the run a call belongs to. */
export function runScopeOf(run: RunContext | undefined): PluginScope | undefined {
  return run === undefined ? undefined : runScopes.get(run.state as object);
}

/** @internal The run, turn and tool layers of `plugins()`. */
export function agentLayers(_manager: PluginManager): Record<string, never> {
  return {};
}
