import { type MiddlewareDefinition, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { CircuitOpenError, RetryError, isRetryable } from '../lib/core/errors.js';
import { checkFunction, checkInteger, checkKeys, checkMs, checkOneOf, checkString } from '../lib/kit.js';
import { StoreError } from '../lib/stores/errors.js';
import { memoryStore } from '../lib/stores/memory.js';
import type { Store } from '../lib/stores/store.js';
import type { StoreFailurePolicy } from './rate-limit.js';
import { storeCall } from './store-call.js';

/** A model's circuit: `closed` (calls go through), `open` (refused), `half-open` (cool-down over, one probe may go). */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /**
   * Where the circuits live: a `redisStore()` makes every worker skip a failing model once any of
   * them has seen it fail. Any `Store` works (it uses get, set, increment and delete).
   * @default a memoryStore() of this layer's own
   */
  readonly store?: Store | undefined;
  /** Failures of one model within a window of `windowMs` that open its circuit. @default 5 */
  readonly failureThreshold?: number | undefined;
  /** The window failures are counted in (fixed windows, aligned on the epoch by `now`). @default 60_000 */
  readonly windowMs?: number | undefined;
  /** How long an open circuit refuses calls before one probe may go. @default 30_000 */
  readonly cooldownMs?: number | undefined;
  /**
   * How long a half-open probe holds its lease: if the worker that took it never reports (it
   * crashed), another may probe after this. @default 60_000
   */
  readonly probeTimeoutMs?: number | undefined;
  /**
   * Whether an error counts as the model failing. @default provider failures: `isRetryable(error)`
   * (for a `RetryError`, its last error); invalid requests, policy blocks, budgets and aborts do not count
   */
  readonly shouldCount?: ((error: unknown, model: string, ctx: Context) => boolean) | undefined;
  /** Called when this worker sees a circuit change state (other workers' changes are not reported). */
  readonly onStateChange?: ((info: { readonly model: string; readonly state: CircuitState }) => void) | undefined;
  /** The clock, in ms (cool-downs, windows). Workers sharing a store should agree on it within a fraction of `cooldownMs`. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** How long to wait for the store on each operation before treating it as unreachable. @default 1_000 */
  readonly storeTimeoutMs?: number | undefined;
  /**
   * When the store cannot be reached: `'fail-open'` sends the call as if the circuit were closed,
   * `'fail-closed'` refuses it with the `StoreError`. @default 'fail-open' (the breaker protects a
   * model; an unreachable store should not take down every model)
   */
  readonly onStoreError?: StoreFailurePolicy | ((error: StoreError, ctx: Context) => StoreFailurePolicy) | undefined;
  /** Names the layer and its keys in the store. @default 'circuitBreaker' */
  readonly name?: string | undefined;
}

/** The layer, plus the circuits' state for routers and operators. */
export interface CircuitBreakerMiddleware extends MiddlewareDefinition {
  /** A model's circuit as the store holds it now. */
  state(model: string, options?: { readonly signal?: AbortSignal | undefined }): Promise<CircuitState>;
  /** Closes a model's circuit for every worker and forgets its failures. */
  reset(model: string): Promise<void>;
}

const OPTIONS = [
  'store',
  'failureThreshold',
  'windowMs',
  'cooldownMs',
  'probeTimeoutMs',
  'shouldCount',
  'onStateChange',
  'now',
  'storeTimeoutMs',
  'onStoreError',
  'name',
] as const;

type Admission = { readonly probe: boolean } | CircuitOpenError;

/**
 * Skips a model that keeps failing, for every worker sharing `store`: after `failureThreshold`
 * failures within `windowMs` the model's circuit opens and calls to it are refused with
 * `CircuitOpenError` without being sent; after `cooldownMs` one probe (one in the whole fleet)
 * goes through, and its success closes the circuit. Mount it inside `fallback()` (and `retry()`),
 * which then moves on to the next model at once; give it to `router({ breaker })` to route around
 * an open model.
 *
 * @example
 * const breaker = circuitBreaker({ store: redisStore({ client }), failureThreshold: 3, cooldownMs: 30_000 });
 * app.use(fallback(['claude-haiku-4-5'])).use(retry()).use(breaker);
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreakerMiddleware {
  const where = 'circuitBreaker()';
  if (typeof options !== 'object' || options === null) checkFunction(where, 'options', options);
  checkKeys(where, options, OPTIONS);
  const {
    store = memoryStore(),
    failureThreshold = 5,
    windowMs = 60_000,
    cooldownMs = 30_000,
    probeTimeoutMs = 60_000,
    shouldCount = countsAsFailure,
    onStateChange,
    now = Date.now,
    storeTimeoutMs = 1_000,
    onStoreError = 'fail-open',
    name = 'circuitBreaker',
  } = options;
  if (typeof store?.increment !== 'function' || typeof store.get !== 'function') {
    throw new TypeError(`${where}: expected \`store\` to be a Store (memoryStore(), redisStore({ client })).`);
  }
  checkInteger(where, 'failureThreshold', failureThreshold);
  checkMs(where, 'windowMs', windowMs, { integer: true });
  checkMs(where, 'cooldownMs', cooldownMs, { integer: true });
  checkMs(where, 'probeTimeoutMs', probeTimeoutMs, { integer: true });
  checkMs(where, 'storeTimeoutMs', storeTimeoutMs, { integer: true });
  checkFunction(where, 'shouldCount', shouldCount);
  checkFunction(where, 'onStateChange', onStateChange, '', { optional: true });
  checkFunction(where, 'now', now);
  if (typeof onStoreError !== 'function') checkOneOf(where, 'onStoreError', onStoreError, ['fail-open', 'fail-closed']);
  checkString(where, 'name', name);

  const base = (model: string) => `breaker:${name}:${model}`;
  const openKey = (model: string) => `${base(model)}:open`;
  const failKey = (model: string, at: number) => `${base(model)}:fail:${Math.floor(at / windowMs)}`;
  const probeKey = (model: string, openedAt: number) => `${base(model)}:probe:${openedAt}`;

  function call<T>(
    op: 'get' | 'set' | 'delete' | 'increment',
    key: string,
    run: (s: AbortSignal | undefined) => Promise<T>,
    outer?: AbortSignal,
  ) {
    return storeCall(store, name, op, key, storeTimeoutMs, run, outer);
  }

  async function openedAt(model: string, signal?: AbortSignal): Promise<number | undefined> {
    const key = openKey(model);
    const value = await call('get', key, (s) => store.get(key, { signal: s }), signal);
    return value === undefined ? undefined : Number(value);
  }

  /** Whether the call may go (and whether as the probe), or the error refusing it. */
  async function admit(model: string, signal: AbortSignal | undefined): Promise<Admission> {
    const since = await openedAt(model, signal);
    if (since === undefined) return { probe: false };
    const at = now();
    if (at - since < cooldownMs) return refuse(model, cooldownMs - (at - since), 'open');
    const key = probeKey(model, since);
    const taken = await call(
      'increment',
      key,
      (s) => store.increment(key, 1, { ttlMs: probeTimeoutMs, signal: s }),
      signal,
    );
    if (taken !== 1) return refuse(model, 0, 'probing');
    onStateChange?.({ model, state: 'half-open' });
    return { probe: true };
  }

  function refuse(model: string, retryAfterMs: number, why: 'open' | 'probing'): CircuitOpenError {
    return new CircuitOpenError({
      model,
      retryAfterMs,
      layer: name,
      message:
        why === 'open'
          ? `${name}: the circuit of model \`${model}\` is open (${failureThreshold} failures within ${windowMs} ms); the call was not sent. One probe goes through in ${retryAfterMs} ms.`
          : `${name}: the circuit of model \`${model}\` is half-open and another call is probing it; the call was not sent.`,
    });
  }

  async function open(model: string): Promise<void> {
    const key = openKey(model);
    await call('set', key, (s) => store.set(key, String(now()), { signal: s }));
    onStateChange?.({ model, state: 'open' });
  }

  async function close(model: string): Promise<void> {
    const keys = [openKey(model), failKey(model, now())];
    await Promise.all(keys.map((key) => call('delete', key, (s) => store.delete(key, { signal: s }))));
    onStateChange?.({ model, state: 'closed' });
  }

  async function failed(model: string, probe: boolean): Promise<void> {
    if (probe) return open(model);
    const key = failKey(model, now());
    const count = await call('increment', key, (s) => store.increment(key, 1, { ttlMs: windowMs * 2, signal: s }));
    // Exactly at the threshold: later failures of calls sent before it opened do not push the cool-down back.
    if (count === failureThreshold) await open(model);
  }

  /** Bookkeeping after a call never fails the call: an unreachable store only loses a count. */
  const quietly = (work: Promise<void>) => work.catch(() => {});

  const definition = defineMiddleware({
    name,
    async call(ctx, next) {
      const model = ctx.request.model;
      let admission: Admission;
      try {
        admission = await admit(model, ctx.signalIfAny);
      } catch (error) {
        if (ctx.signalIfAny?.aborted || !StoreError.isInstance(error) || !error.retryable) throw error;
        const policy = typeof onStoreError === 'function' ? onStoreError(error, ctx) : onStoreError;
        if (policy === 'fail-closed') throw error;
        admission = { probe: false };
      }
      if (admission instanceof CircuitOpenError) throw admission;
      const { probe } = admission;
      try {
        await next();
      } catch (error) {
        if (!ctx.signalIfAny?.aborted && shouldCount(error, model, ctx)) await quietly(failed(model, probe));
        else if (probe) await quietly(releaseProbe(model));
        throw error;
      }
      if (probe) await quietly(close(model));
    },
  });

  /** A probe cancelled before it could tell: let another call probe at once. */
  async function releaseProbe(model: string): Promise<void> {
    const since = await openedAt(model);
    if (since === undefined) return;
    const key = probeKey(model, since);
    await call('delete', key, (s) => store.delete(key, { signal: s }));
  }

  async function state(model: string, options?: { readonly signal?: AbortSignal | undefined }): Promise<CircuitState> {
    const since = await openedAt(model, options?.signal);
    if (since === undefined) return 'closed';
    return now() - since < cooldownMs ? 'open' : 'half-open';
  }

  async function reset(model: string): Promise<void> {
    await close(model);
  }

  return Object.freeze({ ...definition, state, reset });
}

/** The default `shouldCount`: failures of the provider, not of the request or the caller. */
function countsAsFailure(error: unknown): boolean {
  const last = RetryError.isInstance(error) ? error.lastError : error;
  if (CircuitOpenError.isInstance(last)) return false;
  return isRetryable(last);
}
