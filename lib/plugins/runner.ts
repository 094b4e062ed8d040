import type { Immutable } from 'immer';
import { immer } from '../internal/immer.js';
import { forwardAbort } from '../internal/signals.js';
import { PluginError, type PluginFailure, PolicyViolationError, TimeoutError, type Violation } from '../core/errors.js';
import { describeValue } from '../internal/options.js';
import { findFieldProblem, findReadOnlyChange } from './payload-checks.js';
import type { ApprovalRequest, HookApproval, HookPoint, HookSubject } from './hooks.js';
import { formatPath } from '../core/validate.js';
import type { PluginEvent, PluginState } from './events.js';
import { OuterAbort, HandlerContext, awaitHandler } from './handler-guards.js';
import type { ActiveMode, Handler } from './registry.js';
import { conditionHolds } from './conditions.js';
import type { Plugin } from './plugins.js';

/** @internal What `when` conditions read, computed once per payload version and only if a plugin has one. */
export interface Subject {
  readonly point: HookPoint;
  payload: object;
  value: HookSubject | undefined;
}

function subjectOf(subject: Subject): HookSubject {
  return (subject.value ??= subject.point.subject(subject.payload));
}

/** A handler call that completed: the payload it left, and its block if it blocked. */
export interface Outcome {
  readonly next: object;
  readonly block?: Violation | undefined;
  /** The handler asked for approval (`requireApproval()`, at `tool_pre_invoke` only). */
  readonly approval?: ApprovalRequest | undefined;
}

interface RunnerHost {
  readonly validate: boolean;
  state(plugin: Plugin): PluginState;
  emit(event: PluginEvent): void;
}

const NOTHING_WRITABLE: HookPoint['policy'] = Object.freeze({});

/** Calls one handler under its plugin's timeout, contract and error policy. */
export class PluginRunner {
  constructor(private readonly host: RunnerHost) {}

  /**
   * Whether a handler runs for this payload: its plugin is not disabled, its `when` holds and its
   * breaker lets the call through. An open breaker under `onError: 'fail'` throws instead.
   */
  admit(h: Handler, mode: ActiveMode, subject: Subject): boolean {
    const { plugin } = h;
    const state = this.host.state(plugin);
    if (state.disabled) return false;
    if (plugin.when !== undefined && !conditionHolds(plugin.when, subjectOf(subject))) return false;
    if (!state.breaker || state.breaker.allow()) return true;
    if (plugin.onError !== 'fail' || mode === 'fire_and_forget') return false;
    const { failures, windowMs, cooldownMs } = state.breaker.options;
    const hook = subject.point.name;
    throw new PluginError({
      plugin: plugin.name,
      hook,
      failure: 'circuit-open',
      message: `plugin \`${plugin.name}\` at hook \`${hook}\`: its circuit breaker is open (${failures} failures within ${windowMs} ms); calls fail fast for ${cooldownMs} ms, then one probe is let through. Call manager.reset('${plugin.name}') to close it.`,
    });
  }

  /**
   * `undefined` when the handler failed and its policy says carry on; throws the `PluginError`
   * under `onError: 'fail'`, or the abort reason when the call was aborted.
   */
  async invoke(
    h: Handler,
    point: HookPoint,
    payload: object,
    mode: ActiveMode,
    signal: AbortSignal | undefined,
    readOnly?: string,
  ): Promise<Outcome | undefined> {
    const { plugin } = h;
    const state = this.host.state(plugin);
    const ctx = new HandlerContext(point.name, plugin.name, payload as Immutable<object>);
    let result: unknown;
    let next: object;
    try {
      if (state.ready) await state.ready;
      if (state.initError !== undefined) {
        return this.#fail(h, point, mode, 'threw', `its init() failed: ${message(state.initError)}`, state.initError);
      }
      const draft = immer.createDraft(payload);
      result = h.fn(draft, ctx);
      // Only an async handler needs the timeout race (and a tick).
      if (result instanceof Promise)
        result = await awaitHandler(result, ctx as HandlerContext<unknown>, plugin.timeoutMs, signal);
      next = immer.finishDraft(draft) as object;
    } catch (error) {
      if (error instanceof OuterAbort) {
        state.breaker?.release();
        throw error.reason;
      }
      if (TimeoutError.isInstance(error)) return this.#fail(h, point, mode, 'timeout', undefined, error);
      return this.#fail(h, point, mode, 'threw', `threw: ${message(error)}`, error);
    }
    const blocked = isBlock(result);
    const approval = isApproval(result);
    if (approval && (point.name !== 'tool_pre_invoke' || mode !== 'sequential')) {
      return this.#fail(
        h,
        point,
        mode,
        'contract',
        `returned requireApproval() at \`${point.name}\` in mode \`${mode}\`. Only a \`sequential\` handler of \`tool_pre_invoke\` can hold a tool call for approval.`,
      );
    }
    if (result !== undefined && !blocked && !approval) {
      return this.#fail(
        h,
        point,
        mode,
        'contract',
        `returned ${describeValue(result)}. Return nothing to continue (change the payload through the draft), or block(reason, code).`,
      );
    }
    if (next !== payload && (mode === 'sequential' || mode === 'transform' || mode === 'concurrent')) {
      const policy = readOnly !== undefined || mode === 'concurrent' ? NOTHING_WRITABLE : point.policy;
      const field = findReadOnlyChange(payload, next, policy);
      if (field !== undefined) {
        const why =
          mode === 'concurrent'
            ? 'concurrent handlers run in parallel and may not change the payload; use mode `sequential` or `transform`'
            : readOnly !== undefined
              ? readOnly
              : point.writable.length > 0
                ? `writable here: ${point.writable.join(', ')}`
                : 'nothing is writable at this hook';
        return this.#fail(
          h,
          point,
          mode,
          'read-only',
          `changed read-only field \`${field}\` (${why}). The change was refused.`,
          undefined,
          field,
        );
      }
      const problem = this.host.validate ? findFieldProblem(point, payload, next) : undefined;
      if (problem) {
        const field = formatPath(problem.path);
        return this.#fail(
          h,
          point,
          mode,
          'invalid',
          `produced an invalid \`${field}\`: ${problem.message}. The change was discarded.`,
          undefined,
          field,
        );
      }
    }
    state.breaker?.success();
    if (mode === 'audit' || mode === 'fire_and_forget') next = payload;
    if (approval) {
      const { reason, details } = (result as HookApproval).requireApproval;
      return {
        next,
        approval: details === undefined ? { reason, plugin: plugin.name } : { reason, details, plugin: plugin.name },
      };
    }
    if (!blocked) return { next };
    const { reason, code, details } = (result as { block: Violation }).block;
    const violation: Violation = { reason, code, plugin: plugin.name, hook: point.name };
    return { next, block: details === undefined ? violation : { ...violation, details } };
  }

  /** Runs handlers in parallel; the first block or failure aborts the others and rejects. */
  concurrently(
    handlers: readonly Handler[],
    point: HookPoint,
    payload: object,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const controller = new AbortController();
    const detach = forwardAbort(signal, controller);
    return new Promise<void>((resolve, reject) => {
      let left = handlers.length;
      const stop = (error: unknown) => {
        detach();
        controller.abort(error);
        reject(error);
      };
      for (const h of handlers) {
        this.invoke(h, point, payload, 'concurrent', controller.signal).then((out) => {
          if (out?.block) stop(new PolicyViolationError(out.block));
          else if (--left === 0) {
            detach();
            resolve();
          }
        }, stop);
      }
    });
  }

  #fail(
    h: Handler,
    point: HookPoint,
    mode: ActiveMode,
    failure: PluginFailure,
    what: string | undefined,
    cause?: unknown,
    field?: string,
  ): undefined {
    const { plugin } = h;
    const state = this.host.state(plugin);
    const error = new PluginError({
      plugin: plugin.name,
      hook: point.name,
      failure,
      field,
      cause,
      message:
        failure === 'timeout'
          ? (cause as Error).message
          : `plugin \`${plugin.name}\` at hook \`${point.name}\` ${what}`,
    });
    if (plugin.onError === 'fail' && mode !== 'fire_and_forget') {
      state.breaker?.failure();
      throw error;
    }
    this.host.emit({ type: 'error', plugin: plugin.name, hook: point.name, mode, policy: plugin.onError, error });
    state.breaker?.failure();
    if (plugin.onError === 'disable' && !state.disabled) {
      state.disabled = true;
      this.host.emit({ type: 'disabled', plugin: plugin.name, error });
    }
    return undefined;
  }
}

function isApproval(value: unknown): value is HookApproval {
  if (typeof value !== 'object' || value === null || !('requireApproval' in value)) return false;
  const a = (value as HookApproval).requireApproval as HookApproval['requireApproval'] | undefined;
  return (
    typeof a?.reason === 'string' && (a.details === undefined || (typeof a.details === 'object' && a.details !== null))
  );
}

function isBlock(value: unknown): value is { block: Violation } {
  if (typeof value !== 'object' || value === null || !('block' in value)) return false;
  const b = (value as { block: unknown }).block as Violation | undefined;
  return typeof b?.reason === 'string' && typeof b.code === 'string';
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
