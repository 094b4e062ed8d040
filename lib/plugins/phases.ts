import type { Immutable } from 'immer';
import { PolicyViolationError } from '../core/errors.js';
import type { PluginDecisionEvent } from '../core/observe.js';
import type { PluginEvent } from './events.js';
import type { ActiveMode, Handler, HandlerLists } from './registry.js';
import { mergeLists } from './registry.js';
import type { Outcome, PluginRunner, Subject } from './runner.js';
import type { ApprovalRequest, HookPoint } from './hooks.js';

/** @internal What the phases need from the manager. */
export interface PhaseHost {
  readonly runner: PluginRunner;
  emit(event: PluginEvent): void;
  /** Keeps a background task for `drain()`. */
  track(task: Promise<unknown>): void;
}

/** @internal What one dispatch needs to know about its call. */
export interface PhaseOptions {
  /** Read only when a handler turns out to be async: a call's signal may be costly to create. */
  readonly signal?: AbortSignal | undefined;
  readonly readOnly?: string | undefined;
  readonly onDecision?: ((decision: PluginDecisionEvent) => void) | undefined;
}

const NONE: readonly Handler[] = [];

const APPROVAL = Symbol.for('modelware.plugins.approvalRequired');

/**
 * @internal Thrown by a `tool_pre_invoke` dispatch when a handler returned `requireApproval()`;
 * the `plugins()` tool layer turns it into an interruption (it never reaches the caller). Public
 * as `approvalRequestOf(error)`.
 */
export class ApprovalRequired extends Error {
  override readonly name = 'ApprovalRequired';
  readonly [APPROVAL] = true;
  /** Approval is a decision, not a failure: a retry layer must not repeat the call. */
  readonly retryable = false;
  constructor(readonly request: ApprovalRequest) {
    super(`Plugin \`${request.plugin}\` holds the tool call for approval.`);
  }
  static isInstance(error: unknown): error is ApprovalRequired {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[APPROVAL] === true;
  }
}

/**
 * What a `tool_pre_invoke` handler asked for with `requireApproval()`, when `error` is what the
 * dispatch rejected with for it; `undefined` for any other error. A dispatcher of your own turns it
 * into an interruption, as `plugins()` does:
 *
 * @example
 * const request = approvalRequestOf(error);
 * if (!request) throw error;
 * if (ctx.interrupt({ reason: request.reason }, { plugin: request.plugin })) return;
 */
export function approvalRequestOf(error: unknown): ApprovalRequest | undefined {
  if (!ApprovalRequired.isInstance(error)) return undefined;
  // The mark is global (Symbol.for), so the error may come from another copy of modelware: check
  // the shape rather than hand a dispatcher something that is not what the type says.
  const request = (error as { readonly request?: unknown }).request as Partial<ApprovalRequest> | null | undefined;
  if (typeof request !== 'object' || request === null) return undefined;
  const { reason, plugin, details } = request;
  if (typeof reason !== 'string' || typeof plugin !== 'string' || plugin === '') return undefined;
  if (details !== undefined && (typeof details !== 'object' || details === null)) return undefined;
  return request as ApprovalRequest;
}

function listFor(own: HandlerLists | undefined, run: HandlerLists | undefined, mode: ActiveMode): readonly Handler[] {
  return mergeLists(own?.[mode] ?? NONE, run?.[mode] ?? NONE);
}

function logViolation(
  host: PhaseHost,
  h: Handler,
  hook: string,
  mode: ActiveMode,
  out: Outcome | undefined,
  onDecision?: PhaseOptions['onDecision'],
): void {
  if (!out?.block) return;
  host.emit({ type: 'violation', plugin: h.plugin.name, hook, mode, violation: out.block });
  onDecision?.({ plugin: h.plugin.name, hook, decision: 'violation', code: out.block.code });
}

/**
 * @internal Runs one hook's handlers phase by phase: sequential and transform in order, each on
 * the previous one's result; audit in parallel on the result; concurrent in parallel, fail-fast;
 * fire-and-forget in the background on a snapshot of the final payload. No closure is created per dispatch
 * (they are not free, least of all under tsx's keepNames).
 */
export async function runPhases<P extends object>(
  host: PhaseHost,
  point: HookPoint<string, P, string>,
  own: HandlerLists | undefined,
  run: HandlerLists | undefined,
  payload: Immutable<P>,
  options: PhaseOptions,
): Promise<Immutable<P>> {
  const { runner } = host;
  const hook = point as unknown as HookPoint;
  const subject: Subject = { point: hook, payload: payload as object, value: undefined };
  let current = payload as object;

  for (const mode of ['sequential', 'transform'] as const) {
    for (const h of listFor(own, run, mode)) {
      if (!runner.admit(h, mode, subject)) continue;
      options.signal?.throwIfAborted();
      const out = await runner.invoke(h, hook, current, mode, options.signal, options.readOnly);
      if (!out) continue;
      if (out.block && mode === 'sequential') {
        options.onDecision?.({ plugin: h.plugin.name, hook: hook.name, decision: 'blocked', code: out.block.code });
        throw new PolicyViolationError(out.block);
      }
      if (out.approval) throw new ApprovalRequired(out.approval);
      logViolation(host, h, hook.name, mode, out, options.onDecision);
      if (out.next !== current) {
        options.onDecision?.({ plugin: h.plugin.name, hook: hook.name, decision: 'modified' });
        current = out.next;
        subject.payload = current;
        subject.value = undefined;
      }
    }
  }
  const audits = listFor(own, run, 'audit').filter((h) => runner.admit(h, 'audit', subject));
  if (audits.length > 0) {
    options.signal?.throwIfAborted();
    const snapshot = current;
    await Promise.all(
      audits.map((h) =>
        runner
          .invoke(h, hook, snapshot, 'audit', options.signal)
          .then((out) => logViolation(host, h, hook.name, 'audit', out, options.onDecision)),
      ),
    );
  }
  const concurrent = listFor(own, run, 'concurrent').filter((h) => runner.admit(h, 'concurrent', subject));
  if (concurrent.length > 0) await runner.concurrently(concurrent, hook, current, options.signal);
  let snapshot: object | undefined;
  for (const h of listFor(own, run, 'fire_and_forget')) {
    if (!runner.admit(h, 'fire_and_forget', subject)) continue;
    // Taken once per dispatch, and only when a background handler runs.
    snapshot ??= snapshotOf(current, new Map()) as object;
    const task = runner.invoke(h, hook, snapshot, 'fire_and_forget', undefined);
    host.track(task.then((out) => logViolation(host, h, hook.name, 'fire_and_forget', out)));
  }
  return current as Immutable<P>;
}

/**
 * A frozen deep copy of the plain arrays and objects of a payload; anything else (errors, class
 * instances) is kept as is. A background handler runs after the call has returned, when the
 * caller may already have pushed to (or edited) the arrays the payload still shares with it.
 */
function snapshotOf(value: unknown, seen: Map<object, unknown>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  let copy: unknown[] | Record<string, unknown>;
  if (Array.isArray(value)) {
    copy = new Array(value.length);
    seen.set(value, copy);
    for (let i = 0; i < value.length; i++) copy[i] = snapshotOf(value[i], seen);
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    copy = proto === null ? Object.create(null) : {};
    seen.set(value, copy);
    for (const key of Object.keys(value)) {
      (copy as Record<string, unknown>)[key] = snapshotOf((value as Record<string, unknown>)[key], seen);
    }
  }
  return Object.freeze(copy);
}
