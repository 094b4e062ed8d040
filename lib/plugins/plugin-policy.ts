import type { Immutable } from 'immer';
import { TimeoutError } from '../core/errors.js';
import type { HookContext } from './hooks.js';
import type { BreakerOptions } from './plugins.js';
import { setLongTimeout } from '../internal/signals.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * Counts a plugin's failures in a sliding window. `failures` within `windowMs` open it: the plugin
 * is not called. After `cooldownMs` one call is let through (half-open); its success closes the
 * breaker, its failure opens it again for another cool-down.
 */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures: number[] = [];
  #openedAt = 0;
  #probing = false;

  constructor(
    readonly options: Required<BreakerOptions>,
    private readonly now: () => number,
    private readonly onChange: (state: BreakerState) => void,
  ) {}

  get state(): BreakerState {
    return this.#state;
  }

  /** Whether a call may go through now; moves an open breaker to half-open after the cool-down. */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.now() - this.#openedAt < this.options.cooldownMs) return false;
      this.#set('half-open');
    }
    if (this.#probing) return false;
    this.#probing = true;
    return true;
  }

  success(): void {
    if (this.#state === 'half-open') {
      this.#probing = false;
      this.#failures = [];
      this.#set('closed');
    }
  }

  failure(): void {
    const now = this.now();
    if (this.#state === 'half-open') {
      this.#probing = false;
      this.#open(now);
      return;
    }
    if (this.#state === 'open') return;
    const since = now - this.options.windowMs;
    this.#failures = this.#failures.filter((t) => t > since);
    this.#failures.push(now);
    if (this.#failures.length >= this.options.failures) this.#open(now);
  }

  /** Gives back a half-open probe that was cancelled before it could succeed or fail. */
  release(): void {
    this.#probing = false;
  }

  /** Closes the breaker and forgets past failures. */
  reset(): void {
    this.#failures = [];
    this.#probing = false;
    if (this.#state !== 'closed') this.#set('closed');
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#failures = [];
    this.#set('open');
  }

  #set(state: BreakerState): void {
    this.#state = state;
    this.onChange(state);
  }
}

/** The context handed to one handler call. Its signal (and controller) exist only if read. */
export class HandlerContext<P> implements HookContext<P> {
  #controller: AbortController | undefined;
  #reason: unknown;
  #aborted = false;

  constructor(
    readonly hook: string,
    readonly plugin: string,
    readonly original: Immutable<P>,
  ) {}

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** Why a handler call was cut short by the outer signal: not the plugin's fault, so not a failure. */
export class Aborted {
  constructor(readonly reason: unknown) {}
}

/**
 * Awaits a handler's result, but no longer than `timeoutMs` and no longer than `outer` stays
 * unaborted. On timeout the handler's signal aborts with a `TimeoutError` and the call rejects
 * with it; a handler that ignores its signal is left behind (its late result or error is dropped).
 */
export function settle<T>(
  result: T | Promise<T>,
  ctx: HandlerContext<unknown>,
  timeoutMs: number,
  outer: AbortSignal | undefined,
): T | Promise<T> {
  if (!(result instanceof Promise)) return result;
  if (timeoutMs <= 0 && !outer) return result;
  if (outer?.aborted) {
    ctx.abort(outer.reason);
    result.catch(() => {});
    return Promise.reject(new Aborted(outer.reason));
  }
  return new Promise<T>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const onAbort = () => {
      cleanup();
      ctx.abort(outer?.reason);
      reject(new Aborted(outer?.reason));
    };
    const cleanup = () => {
      cancelTimer?.();
      outer?.removeEventListener('abort', onAbort);
    };
    if (timeoutMs > 0) {
      // Built here, not in the callback, so its stack points at the dispatch.
      const error = new TimeoutError(
        `plugin \`${ctx.plugin}\` at hook \`${ctx.hook}\` did not finish within ${timeoutMs} ms; its signal was aborted. Raise \`timeoutMs\` or make the handler honour ctx.signal.`,
        timeoutMs,
      );
      // In chunks: a plain setTimeout fires any delay above 2^31 - 1 ms after 1 ms.
      cancelTimer = setLongTimeout(() => {
        cleanup();
        ctx.abort(error);
        reject(error);
      }, timeoutMs);
    }
    outer?.addEventListener('abort', onAbort, { once: true });
    result.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error: unknown) => {
        cleanup();
        reject(error);
      },
    );
  });
}
