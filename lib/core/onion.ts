import { type Next, nextCalledTwice, nextWhileRunning } from './compose.js';
import { MiddlewareError } from './errors.js';

/** @internal One layer of a run, turn or tool stack. */
export interface OnionLayer<C> {
  readonly name: string;
  readonly fn: (ctx: C, next: Next) => Promise<void> | void;
  /** May call `next()` again once an attempt settled (tool-level retry). */
  readonly replay: boolean;
}

/** @internal Called around each attempt of a replay layer, so the stack can rewind between attempts. */
export interface Rewind {
  /** Before an attempt; `attempt` is 0 for the first. */
  before(attempt: number): void;
  /** After an attempt settled, whether it succeeded or threw. */
  after(): void;
}

export interface OnionOptions {
  /** `run`, `turn` or `tool`: named in contract errors. */
  readonly kind: string;
  /** A layer must call `next()` (run and turn layers cannot skip the loop they wrap). */
  readonly requireNext: boolean;
  /** Per replay layer: how to rewind the shared state between attempts. */
  readonly rewind?: (() => Rewind) | undefined;
}

/**
 * Runs `layers` around `innermost`, Koa style: a layer's code before `await next()` runs on the
 * way in, in order; after it, on the way out, in reverse. Unlike the call stack this needs no
 * koa-compose: these stacks are short and built once per run, turn or tool call.
 */
export function runOnion<C>(
  layers: readonly OnionLayer<C>[],
  view: (layer: string) => C,
  innermost: () => Promise<void>,
  options: OnionOptions,
): Promise<void> {
  const dispatch = (index: number): Promise<void> => {
    const layer = layers[index];
    if (layer === undefined) return innermost();
    return runLayer(layer, view(layer.name), () => dispatch(index + 1), options);
  };
  return dispatch(0);
}

async function runLayer<C>(layer: OnionLayer<C>, ctx: C, inner: () => Promise<void>, options: OnionOptions) {
  const { name } = layer;
  const rewind = layer.replay ? options.rewind?.() : undefined;
  let calls = 0;
  let running = false;
  const next: Next = async () => {
    if (running || (calls > 0 && !layer.replay)) {
      throw running ? nextWhileRunning(name) : nextCalledTwice(name, options.kind);
    }
    rewind?.before(calls);
    calls++;
    running = true;
    try {
      await inner();
    } finally {
      running = false;
      rewind?.after();
    }
  };
  await layer.fn(ctx, next);
  if (calls === 0 && options.requireNext) {
    throw new MiddlewareError(
      name,
      `${options.kind} layer \`${name}\` returned without calling \`await next()\`. A ${options.kind} layer must call next() once, or throw to end the run.`,
    );
  }
}
