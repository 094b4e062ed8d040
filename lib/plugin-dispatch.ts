import type { Immutable } from 'immer';
import { PolicyViolationError } from './errors.js';
import type { HookPoint, HookSubject } from './hooks.js';
import type { PluginEvent } from './plugin-events.js';
import type { Outcome, PluginRunner } from './plugin-runner.js';
import type { ActiveMode, Handler } from './plugin-registry.js';

/** @internal What the phases need from the manager. */
export interface PhaseHost {
  readonly runner: PluginRunner;
  emit(event: PluginEvent): void;
  /** Keeps a background task for `drain()`. */
  track(task: Promise<unknown>): void;
}

/**
 * @internal Runs one hook's handlers phase by phase: sequential and transform in order, each on
 * the previous one's result; audit in parallel on the result; concurrent in parallel, fail-fast;
 * fire-and-forget in the background on the final payload.
 */
export async function runPhases<P extends object>(
  host: PhaseHost,
  point: HookPoint<string, P, string>,
  lists: (mode: ActiveMode) => readonly Handler[],
  payload: Immutable<P>,
  signal: AbortSignal | undefined,
  readOnly: string | undefined,
): Promise<Immutable<P>> {
  const { runner } = host;
  const hook = point as unknown as HookPoint;
  let current = payload as object;
  let subject: HookSubject | undefined;
  const about = () => (subject ??= hook.subject(current));
  const log = (h: Handler, mode: ActiveMode) => (out: Outcome | undefined) => {
    if (out?.block)
      host.emit({ type: 'violation', plugin: h.plugin.name, hook: hook.name, mode, violation: out.block });
  };

  for (const mode of ['sequential', 'transform'] as const) {
    for (const h of lists(mode)) {
      if (!runner.admit(h, mode, about)) continue;
      signal?.throwIfAborted();
      const out = await runner.invoke(h, hook, current, mode, signal, readOnly);
      if (!out) continue;
      if (out.block && mode === 'sequential') throw new PolicyViolationError(out.block);
      log(h, mode)(out);
      if (out.next !== current) {
        current = out.next;
        subject = undefined;
      }
    }
  }
  const admitted = (mode: ActiveMode) => lists(mode).filter((h) => runner.admit(h, mode, about));
  const audits = admitted('audit');
  if (audits.length > 0) {
    signal?.throwIfAborted();
    const snapshot = current;
    await Promise.all(audits.map((h) => runner.invoke(h, hook, snapshot, 'audit', signal).then(log(h, 'audit'))));
  }
  const concurrent = admitted('concurrent');
  if (concurrent.length > 0) await runner.concurrently(concurrent, hook, current, signal);
  for (const h of admitted('fire_and_forget')) {
    host.track(runner.invoke(h, hook, current, 'fire_and_forget', undefined).then(log(h, 'fire_and_forget')));
  }
  return current as Immutable<P>;
}
