import koaCompose from 'koa-compose';
import { MiddlewareError } from './errors.js';

/**
 * @internal The one onion engine behind the four stacks (call, run, turn, tool). Ordinary layers
 * are composed with koa-compose; the stack is cut into segments at each replay layer, whose `next`
 * runs the composed segment inside it afresh on every call, so koa-compose's single-`next()` rule
 * holds everywhere else. The stacks differ only in how a layer sees the shared state (`handler`)
 * and in how a replay layer snapshots and restores it (`replay`).
 *
 * The replay rule, the same for every stack: each attempt starts from the snapshot taken when the
 * replay layer was entered, plus the replay layer's own changes (never the inner layers' ones).
 */

type Next = () => Promise<void>;

/** @internal One step of a stack: runs it over the shared state `S`. */
export type Step<S> = (state: S) => Promise<void>;

/** @internal A layer as koa-compose runs it. */
export type Handler<S> = (state: S, next: Next) => Promise<void> | void;

/** @internal What the engine needs to know of a layer. */
export interface EngineLayer {
  readonly name: string;
  /** May call `next()` again once an attempt settled. */
  readonly replay: boolean;
}

/**
 * @internal How a stack snapshots and restores its state around the attempts of a replay layer.
 * `enter` builds the replay layer's view and takes the snapshot; the view records the layer's own
 * changes, so `rewind` can rebuild "snapshot + own changes" before each attempt after the first.
 */
export interface ReplayHooks<L extends EngineLayer, S, V> {
  enter(state: S, layer: L, index: number): V;
  /** Runs the layer with its view and `next`; may translate what it throws. */
  run(view: V, layer: L, next: Next): Promise<void> | void;
  /** Before every attempt but the first: back to the snapshot plus the layer's own changes. */
  rewind(view: V, state: S): void | Promise<void>;
  /** After an attempt succeeded: the layer's later changes are its own again. */
  succeeded(view: V, state: S): void;
  /** After an attempt failed: restore the snapshot; returns what the attempt rejects with. */
  failed(view: V, state: S, error: unknown): unknown;
}

/** @internal How one stack uses the engine. */
export interface StackOptions<L extends EngineLayer, S, V> {
  /** Wraps an ordinary layer for koa-compose; `index` is its position in the whole stack. */
  readonly handler: (layer: L, index: number) => Handler<S>;
  /** Replay layers; a stack without it treats every layer as ordinary. */
  readonly replay?: ReplayHooks<L, S, V> | undefined;
}

/** @internal The single-`next()` contract, shared by the four stacks. */
export function nextCalledTwice(layer: string, kind?: string): MiddlewareError {
  return new MiddlewareError(
    layer,
    `next() called multiple times in ${kind ? `${kind} layer ` : ''}\`${layer}\`. Call \`await next()\` at most once, or declare the layer with defineMiddleware({ replay: true }) to re-run the layers inside it.`,
  );
}

/** @internal A replay layer may call `next()` again, but never while an attempt is running. */
export function nextWhileRunning(layer: string): MiddlewareError {
  return new MiddlewareError(
    layer,
    `next() called again in \`${layer}\` while the previous attempt is still running. A replay layer must await each attempt before starting the next one.`,
  );
}

/** @internal Builds a stack of `layers` around `innermost`. */
export function buildStack<L extends EngineLayer, S, V>(
  layers: readonly L[],
  innermost: Step<S>,
  options: StackOptions<L, S, V>,
): Step<S> {
  const { handler, replay } = options;
  let downstream = innermost;
  let end = layers.length;
  for (let i = layers.length - 1; i >= 0; i--) {
    if (i > 0 && !(replay && layers[i]?.replay)) continue;
    const segment = layers.slice(i, end);
    end = i;
    const head = segment[0] as L;
    if (replay && head.replay) {
      const inner = segment.length > 1 ? chain(segment.slice(1), i + 1, downstream, handler) : downstream;
      downstream = replayStep(head, i, inner, replay);
    } else {
      downstream = chain(segment, i, downstream, handler);
    }
  }
  return downstream;
}

function chain<L extends EngineLayer, S>(
  segment: readonly L[],
  start: number,
  downstream: Step<S>,
  handler: (layer: L, index: number) => Handler<S>,
): Step<S> {
  const composed = koaCompose(segment.map((layer, k) => handler(layer, start + k)));
  return (state) => composed(state, downstream);
}

function replayStep<L extends EngineLayer, S, V>(
  layer: L,
  index: number,
  inner: Step<S>,
  hooks: ReplayHooks<L, S, V>,
): Step<S> {
  const { name } = layer;
  return async (state) => {
    const view = hooks.enter(state, layer, index);
    let running = false;
    let attempts = 0;
    const next: Next = async () => {
      if (running) throw nextWhileRunning(name);
      if (attempts > 0) await hooks.rewind(view, state);
      attempts++;
      running = true;
      try {
        await inner(state);
        hooks.succeeded(view, state);
      } catch (error) {
        throw await hooks.failed(view, state, error);
      } finally {
        running = false;
      }
    };
    await hooks.run(view, layer, next);
  };
}

/**
 * @internal The handler of a run, turn or tool layer: its own view, the single-`next()` contract
 * with the layer and stack named, and (run and turn) the rule that the layer calls `next()`.
 */
export function viewHandler<S, C>(
  fn: (ctx: C, next: Next) => Promise<void> | void,
  name: string,
  view: (state: S, layer: string) => C,
  kind: string,
  /** Whether returning without calling `next()` is an error; a function is asked at that moment. */
  requireNext: boolean | (() => boolean),
): Handler<S> {
  return async (state, next) => {
    let called = false;
    await fn(view(state, name), () => {
      if (called) return Promise.reject(nextCalledTwice(name, kind));
      called = true;
      return next();
    });
    if (!called && (typeof requireNext === 'function' ? requireNext() : requireNext)) throw mustCallNext(name, kind);
  };
}

/** @internal Run and turn layers wrap the loop itself: they cannot skip it. */
export function mustCallNext(name: string, kind: string): MiddlewareError {
  return new MiddlewareError(
    name,
    `${kind} layer \`${name}\` returned without calling \`await next()\`. A ${kind} layer must call next() once, or throw to end the run.`,
  );
}

/** @internal A run, turn or tool layer: its function and whether it may replay. */
export interface ViewLayer<C> extends EngineLayer {
  readonly fn: (ctx: C, next: Next) => Promise<void> | void;
}
