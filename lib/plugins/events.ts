import type { PluginError, Violation } from '../core/errors.js';
import type { BreakerState, PluginBreaker } from './handler-guards.js';
import type { ActiveMode } from './registry.js';
import type { PluginErrorPolicy } from './plugins.js';

/** What a manager reports instead of throwing: logged violations, tolerated errors, state changes. */
export type PluginEvent =
  | {
      readonly type: 'violation';
      readonly plugin: string;
      readonly hook: string;
      readonly mode: ActiveMode;
      readonly violation: Violation;
    }
  | {
      readonly type: 'error';
      readonly plugin: string;
      readonly hook: string;
      readonly mode: ActiveMode;
      readonly policy: PluginErrorPolicy;
      readonly error: PluginError;
    }
  | { readonly type: 'disabled'; readonly plugin: string; readonly error: PluginError }
  | { readonly type: 'breaker'; readonly plugin: string; readonly state: BreakerState };

/** @internal Per plugin, per manager: what its failures and `init` left behind. */
export interface PluginState {
  disabled: boolean;
  breaker: PluginBreaker | undefined;
  ready: Promise<void> | undefined;
  initError: unknown;
}

/** The default `onEvent`: one process warning per event. */
export function warn(event: PluginEvent): void {
  const text =
    event.type === 'violation'
      ? `plugin \`${event.plugin}\` at hook \`${event.hook}\` would block (${event.violation.code}: ${event.violation.reason}); not enforced in ${event.mode} mode.`
      : event.type === 'error'
        ? `${event.error.message} (onError: '${event.policy}')`
        : event.type === 'disabled'
          ? `plugin \`${event.plugin}\` was disabled after a failure (onError: 'disable'). Call manager.reset('${event.plugin}') to enable it again.`
          : `plugin \`${event.plugin}\`: circuit breaker ${event.state}.`;
  emitWarning(text);
}

export function emitWarning(text: string): void {
  process.emitWarning(`modelware: ${text}`, { code: 'MODELWARE_PLUGIN' });
}
