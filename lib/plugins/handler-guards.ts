import type { Immutable } from 'immer';
import { TimeoutError } from '../core/errors.js';
import type { HookContext } from './hooks.js';
import type { BreakerOptions } from './plugins.js';
import { setLongTimeout } from '../internal/signals.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * The part of a `Store` that plugin breakers share their state through (`memoryStore()` and
 * `redisStore()` fit; lib/plugins names no store, so the type is structural).
 */
export interface BreakerStateStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean>;
  increment(key: string, by: number, options?: { readonly ttlMs?: number | undefined }): Promise<number>;
}

/** @internal How one breaker shares its state: the store, its key, and where its async writes go. */
export interface SharedBreaker {
  readonly store: BreakerStateStore;
  readonly key: string;
  readonly track: (work: Promise<unknown>) => void;
}

/**
 * Counts a plugin's failures in a sliding window. `failures` within `windowMs` open it: the plugin
 * is not called. After `cooldownMs` one call is let through (half-open); its success closes the
 * breaker, its failure opens it again for another cool-down.
 */
export class PluginBreaker {
  #state: BreakerState = 'closed';
  #failures: number[] = [];
  #openedAt = 0;
  #probing = false;

  #syncing = false;
  // Bumped on every local change: a read that started before one is stale and is dropped.
  #epoch = 0;

  constructor(
    readonly options: Required<BreakerOptions>,
    private readonly now: () => number,
    private readonly onChange: (state: BreakerState) => void,
    private readonly shared?: SharedBreaker | undefined,
  ) {}

  /**
   * Shared: reads the fleet's open mark in the background (one read in flight at a time), so a
   * breaker another worker opened opens here from the next dispatch on, and one whose probe
   * closed it elsewhere closes here. `allow()` stays synchronous: it decides on the last read.
   */
  #sync(): void {
    const shared = this.shared;
    if (!shared || this.#syncing) return;
    this.#syncing = true;
    const epoch = this.#epoch;
    shared.track(
      shared.store
        .get(`${shared.key}:open`)
        .then((value) => {
          if (epoch !== this.#epoch) return;
          if (value !== undefined && this.#state === 'closed') {
            this.#openedAt = Number(value);
            this.#failures = [];
            this.#set('open');
          } else if (value === undefined && this.#state === 'open') {
            this.#failures = [];
            this.#set('closed');
          }
        })
        .finally(() => {
          this.#syncing = false;
        }),
    );
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Whether a call may go through now; moves an open breaker to half-open after the cool-down. */
  allow(): boolean {
    this.#sync();
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
      this.#unpublish();
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
    const shared = this.shared;
    if (shared) {
      // Counted in the store, in fixed windows: the fleet's failures open it, here and (through
      // the open mark) everywhere.
      const { windowMs, failures } = this.options;
      const key = `${shared.key}:fail:${Math.floor(now / windowMs)}`;
      shared.track(
        shared.store.increment(key, 1, { ttlMs: windowMs * 2 }).then((count) => {
          if (count >= failures && this.#state === 'closed') this.#open(now);
        }),
      );
      return;
    }
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
    this.#unpublish();
    if (this.#state !== 'closed') this.#set('closed');
  }

  #open(now: number): void {
    this.#openedAt = now;
    this.#failures = [];
    if (this.shared) this.shared.track(this.shared.store.set(`${this.shared.key}:open`, String(now)));
    this.#set('open');
  }

  #unpublish(): void {
    if (this.shared) this.shared.track(this.shared.store.delete(`${this.shared.key}:open`));
  }

  #set(state: BreakerState): void {
    this.#epoch++;
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
export class OuterAbort {
  constructor(readonly reason: unknown) {}
}

/**
 * Awaits a handler's result, but no longer than `timeoutMs` and no longer than `outer` stays
 * unaborted. On timeout the handler's signal aborts with a `TimeoutError` and the call rejects
 * with it; a handler that ignores its signal is left behind (its late result or error is dropped).
 */
export function awaitHandler<T>(
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
    return Promise.reject(new OuterAbort(outer.reason));
  }
  return new Promise<T>((resolve, reject) => {
    let cancelTimer: (() => void) | undefined;
    const onAbort = () => {
      cleanup();
      ctx.abort(outer?.reason);
      reject(new OuterAbort(outer?.reason));
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
