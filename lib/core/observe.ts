import type { ReadonlyModelRequest } from './executor.js';
import type { ModelResponse } from './messages.js';

/**
 * What an observer of a call sees (`ctx.observe`). Every callback runs synchronously on the call's
 * path, so keep it short; what it throws is ignored (an observer cannot break the call).
 */
export interface CallObserver {
  /**
   * A layer inside the observing one: `enter` (it starts), `next` (it calls `next()`), `back`
   * (`next()` settled, `error` if it rejected), `exit` (the layer settled, `error` if it threw).
   */
  onLayer?(event: LayerEvent): void;
  /** A layer changed the request (`ctx.update`) or the response (`updateResponse`, setting `ctx.response`, `mapStream`...). */
  onUpdate?(event: UpdateEvent): void;
  /** A replay layer (`retry`, `fallback`) starts another attempt of the layers inside it. */
  onAttempt?(event: AttemptEvent): void;
  /** The executor is called (`start`), returned or threw (`end`), and in stream mode its parts ended (`stream_end`). */
  onDispatch?(event: DispatchEvent): void;
  /** A plugin handler modified a hook's payload, blocked, or logged a violation (reported by `plugins()`). */
  onPlugin?(event: PluginDecisionEvent): void;
}

/** See `CallObserver.onPlugin`. */
export interface PluginDecisionEvent {
  readonly plugin: string;
  readonly hook: string;
  /** `modified`: changed the payload; `blocked`: stopped the call; `violation`: would block, logged only (audit modes). */
  readonly decision: 'modified' | 'blocked' | 'violation';
  /** The violation's code. */
  readonly code?: string | undefined;
}

/** See `CallObserver.onLayer`. */
export interface LayerEvent {
  readonly layer: string;
  /** Position in the call stack, 0 = outermost. */
  readonly index: number;
  readonly phase: 'enter' | 'next' | 'back' | 'exit';
  /** On `back` and `exit` when what it awaited, or the layer itself, threw. */
  readonly error?: unknown;
}

/** See `CallObserver.onUpdate`. `before` and `after` share every part the layer left alone. */
export type UpdateEvent =
  | {
      readonly layer: string;
      readonly target: 'request';
      readonly before: ReadonlyModelRequest;
      readonly after: ReadonlyModelRequest;
    }
  | {
      readonly layer: string;
      readonly target: 'response';
      readonly before: ModelResponse | undefined;
      readonly after: ModelResponse | undefined;
    };

/** See `CallObserver.onAttempt`. */
export interface AttemptEvent {
  /** The replay layer. */
  readonly layer: string;
  /** The attempt starting, 2 for the first retry. */
  readonly attempt: number;
  /** What ended the previous attempt, if it failed. */
  readonly error?: unknown;
}

/** See `CallObserver.onDispatch`. */
export interface DispatchEvent {
  readonly phase: 'start' | 'end' | 'stream_end';
  /** The request the executor received. */
  readonly request: ReadonlyModelRequest;
  /** The model dispatched to (as reported by a routing executor, on `end`). */
  readonly model: string;
  /** 1 for the call's first dispatch, counting every retry and fallback. */
  readonly dispatch: number;
  /** On `end` in generate mode, and on `stream_end` (assembled from the parts). */
  readonly response?: ModelResponse | undefined;
  readonly error?: unknown;
}

/** @internal Calls `fn` on every observer, ignoring what they throw. */
export function notify<E>(
  observers: readonly CallObserver[],
  pick: (o: CallObserver) => ((e: E) => void) | undefined,
  event: E,
): void {
  for (const observer of observers) {
    const fn = pick(observer);
    if (fn === undefined) continue;
    try {
      fn.call(observer, event);
    } catch {
      // An observer is a spectator: its failure must not change the call it watches.
    }
  }
}

/** @internal */
export const onLayer = (o: CallObserver) => o.onLayer;
/** @internal */
export const onUpdate = (o: CallObserver) => o.onUpdate;
/** @internal */
export const onAttempt = (o: CallObserver) => o.onAttempt;
/** @internal */
export const onPlugin = (o: CallObserver) => o.onPlugin;
/** @internal */
export const onDispatch = (o: CallObserver) => o.onDispatch;
