import type { CallCore, LayerView } from './call-core.js';
import { Context, type RequestRecipe } from './context.js';
import { type ReplayHooks, buildStack as buildEngineStack, nextCalledTwice } from './engine.js';
import { MiddlewareError, layerError } from './errors.js';
import { describeValue } from '../internal/options.js';
import type { ReadonlyModelRequest } from './executor.js';
import type { MessageReplacements, ReplaceMessagesOptions } from './replace-messages.js';
import { discardStream } from './stream.js';
import { type CallObserver, notify, onAttempt, onLayer } from './observe.js';

/** Runs the rest of the stack. Await it once (a `replay` layer may await it again, one at a time). */
export type Next = () => Promise<void>;

/** Koa's shape: code before `await next()` runs on the way in, code after it on the way out. */
export type MiddlewareFn = (ctx: Context, next: Next) => Promise<void> | void;

/**
 * The context types of the agent loop's stacks (`run`, `turn`, `tool`). lib/agent declares them by
 * declaration merging (`declare module 'modelware'`), so core names no type of the agent loop
 * (.dependency-cruiser.cjs).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in lib/agent
export interface StackContexts {}

/** A layer of the agent loop's `run`, `turn` or `tool` stack: Koa's shape around a run, a turn or a tool call. */
export type StackMiddlewareFn<K extends string> = (
  ctx: K extends keyof StackContexts ? StackContexts[K] : never,
  next: Next,
) => Promise<void> | void;

const DEFINITION = Symbol.for('modelware.middleware');
const FACTORY = Symbol.for('modelware.factory');

/**
 * Marks a function as a middleware *factory* (a function that returns a middleware, like `retry`),
 * so `use(retry)` fails at once with "call it: retry()" instead of misbehaving at request time.
 * Every built-in is marked; mark your own factories the same way. The mark is the property
 * `Symbol.for('modelware.factory')`, so it works across duplicate copies of modelware.
 *
 * @example
 * export const audit = defineMiddlewareFactory(function audit(options: AuditOptions = {}) {
 *   return async function audit(ctx, next) { await next(); };
 * });
 */
export function defineMiddlewareFactory<F extends (...args: never[]) => unknown>(factory: F): F {
  if (typeof factory !== 'function') {
    throw new TypeError(`defineMiddlewareFactory(): expected a function, got ${describeValue(factory)}.`);
  }
  Object.defineProperty(factory, FACTORY, { value: true });
  return factory;
}

function factoryMisuse(where: string, name: string): TypeError {
  return new TypeError(
    `${where}: \`${name}\` is a middleware factory, not a middleware. Call it: \`app.use(${name}())\` (with its options, if any).`,
  );
}

/** A named middleware; see `defineMiddleware`. */
export interface MiddlewareDefinition {
  /** Shown in errors, patches and traces. */
  readonly name: string;
  /** The call-level layer. */
  readonly call?: MiddlewareFn | undefined;
  /**
   * Declares that this layer may call `next()` again after an attempt settles (retry, fallback,
   * repair). Each attempt re-runs every layer inside it and the executor, starting from the
   * request as it was when this layer was entered plus this layer's own later changes.
   * @default false
   */
  readonly replay?: boolean | undefined;
  /** Tool-level layer, mounted on the agent loop's tool stack: wraps each tool call. */
  readonly tool?: StackMiddlewareFn<'tool'> | undefined;
  /** Run-level layer: wraps a whole `runAgent()` run (run start before `next()`, run end after). */
  readonly run?: StackMiddlewareFn<'run'> | undefined;
  /** Turn-level layer: wraps each turn of a run (the model call and the tool calls it asked for). */
  readonly turn?: StackMiddlewareFn<'turn'> | undefined;
  /** @internal Layers bundled by `compose()`. */
  readonly layers?: readonly Layer[] | undefined;
}

/**
 * Anything `use()` accepts: a middleware function or a definition. Every function has a `name` and
 * a `call` (from `Function.prototype`), so without the `never` member any function, such as the
 * factory `retry` in place of `retry()`, would pass for a definition.
 */
export type Middleware = MiddlewareFn | (MiddlewareDefinition & { readonly apply?: never });

/** @internal A normalised layer. */
export interface Layer {
  readonly name: string;
  readonly call: MiddlewareFn | undefined;
  readonly replay: boolean;
  readonly tool: MiddlewareDefinition['tool'];
  readonly run?: MiddlewareDefinition['run'];
  readonly turn?: MiddlewareDefinition['turn'];
}

/**
 * Names a middleware and declares what it does. A definition can carry a call-level layer
 * (`call`) and a tool-level layer (`tool`) together; `use()` mounts each on its stack.
 *
 * @example
 * const logger = defineMiddleware({
 *   name: 'logger',
 *   async call(ctx, next) { console.log('->', ctx.request.model); await next(); },
 * });
 */
export function defineMiddleware(definition: MiddlewareDefinition): MiddlewareDefinition {
  const layer = toLayers(definition, 'defineMiddleware()')[0] as Layer;
  return Object.freeze({ ...definition, name: layer.name, [DEFINITION]: true });
}

/**
 * Bundles several middleware into one, so a package can ship a stack. The layers keep their own
 * names (errors and patches name the inner layer) and their replay declarations.
 *
 * @example
 * app.use(compose(redact(), tokenBudget({ maxInputTokens: 8000 })));
 */
export function compose(...middleware: Middleware[]): MiddlewareDefinition {
  const layers = middleware.flatMap((mw, i) => toLayers(mw, `compose() argument ${i}`));
  return Object.freeze({ name: `compose(${layers.map((l) => l.name).join(', ')})`, layers, [DEFINITION]: true });
}

/** @internal Validates and normalises what `use()`/`compose()` received. */
export function toLayers(value: unknown, where: string, index = 0): Layer[] {
  if (typeof value === 'function') {
    if ((value as { [FACTORY]?: unknown })[FACTORY] === true) throw factoryMisuse(where, value.name || 'factory');
    return [{ name: value.name || `anonymous#${index}`, call: value as MiddlewareFn, replay: false, tool: undefined }];
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const def = value as MiddlewareDefinition;
    if (def.layers) return [...def.layers];
    if (typeof def.name !== 'string' || def.name.length === 0) {
      throw new TypeError(
        `${where}: a middleware definition needs a non-empty string \`name\`, got ${describeValue(def.name)}.`,
      );
    }
    if (def.call !== undefined && typeof def.call !== 'function') {
      throw new TypeError(
        `${where}: \`call\` of middleware \`${def.name}\` must be a function, got ${describeValue(def.call)}.`,
      );
    }
    if (def.tool !== undefined && typeof def.tool !== 'function') {
      throw new TypeError(
        `${where}: \`tool\` of middleware \`${def.name}\` must be a function, got ${describeValue(def.tool)}.`,
      );
    }
    for (const part of ['run', 'turn'] as const) {
      if (def[part] !== undefined && typeof def[part] !== 'function') {
        throw new TypeError(
          `${where}: \`${part}\` of middleware \`${def.name}\` must be a function, got ${describeValue(def[part])}.`,
        );
      }
    }
    if (def.call === undefined && def.tool === undefined && def.run === undefined && def.turn === undefined) {
      throw new TypeError(
        `${where}: middleware \`${def.name}\` has neither \`call\` nor \`tool\` (nor \`run\`, \`turn\`); give it at least one.`,
      );
    }
    return [
      { name: def.name, call: def.call, replay: def.replay === true, tool: def.tool, run: def.run, turn: def.turn },
    ];
  }
  throw new TypeError(
    `${where}: expected a middleware function (ctx, next) => ... or a defineMiddleware() object, got ${describeValue(value)}.`,
  );
}

type Step = (core: CallCore) => Promise<void>;

/**
 * @internal Builds the call stack on the engine (lib/core/engine.ts): ordinary layers run through
 * `layerHandler`, replay layers through `callReplay`, whose view snapshots and restores the request.
 */
export function buildCallStack(layers: readonly Layer[], innermost: Step): Step {
  return buildEngineStack(layers, innermost, { handler: layerHandler, replay: callReplay(layers) });
}

/**
 * An ordinary layer as koa-compose runs it: its own `Context` view and koa-compose's `next` as is.
 * koa-compose itself rejects a second `next()`; `settledError` names the layer where the stack
 * settles, from what the layer returned (kept on its view), so the success path pays two stores on
 * the view it makes anyway instead of a next-once closure per layer (docs/decisions.md §51).
 */
function layerHandler(layer: Layer, index: number): (core: CallCore, next: Next) => Promise<void> | void {
  const { name } = layer;
  const fn = layer.call as MiddlewareFn;
  return (core, next) => {
    // An index, not the name: storing a small integer needs no GC write barrier.
    core.entered = index;
    // One field test when nobody observes (bench/recorder.bench.ts measures it).
    if (core.observers !== undefined) return observedLayer(core, core.observers, fn, name, index, next);
    const ctx = new Context(core, name);
    let result: unknown;
    try {
      result = fn(ctx, next);
    } catch (thrown) {
      // A synchronous throw is this layer's own; an asynchronous one is named where the stack
      // settles (see settledError): a handler on every layer's promise would cost more than the
      // layer itself on every successful call.
      throw layerError(thrown, name);
    }
    ctx.returned = result;
    if (result instanceof Promise) return result;
    if (result !== undefined && result !== null) checkReturned(result, name);
    return result as void;
  };
}

/** `layerHandler` for a call someone observes (`ctx.observe`): the same contract, with each phase reported. */
async function observedLayer(
  core: CallCore,
  observers: readonly CallObserver[],
  fn: MiddlewareFn,
  name: string,
  index: number,
  next: Next,
): Promise<void> {
  const emit = (phase: 'enter' | 'next' | 'back' | 'exit', error?: unknown) =>
    notify(
      observers,
      onLayer,
      error === undefined ? { layer: name, index, phase } : { layer: name, index, phase, error },
    );
  emit('enter');
  let called = false;
  const observedNext = (): Promise<void> => {
    // Checked here (not left to koa-compose) so the observers see the error that names the layer.
    if (called) return Promise.reject(nextCalledTwice(name));
    called = true;
    emit('next');
    return next().then(
      () => emit('back'),
      (error: unknown) => {
        emit('back', error ?? null);
        throw error;
      },
    );
  };
  try {
    let result: unknown;
    try {
      result = fn(new Context(core, name), observedNext);
    } catch (thrown) {
      throw layerError(thrown, name);
    }
    if (result instanceof Promise) await result;
    else if (result !== undefined && result !== null) checkReturned(result, name);
  } catch (error) {
    emit('exit', error ?? null);
    throw error;
  }
  emit('exit');
}

/** koa-compose's own rejection of a second `next()`: a plain `Error` with exactly this message. */
const KOA_NEXT_TWICE = 'next() called multiple times';

/**
 * @internal What a failed stack (or an attempt of the replay layer whose view is `outermost`)
 * rejects with, where it settles. Two rejections are named here rather than on every layer's promise:
 * - koa-compose's plain "next() called multiple times" becomes the `MiddlewareError` that names the
 *   layer which called `next()` twice: the innermost layer whose returned promise rejected with that
 *   very error (the layers inside it had settled, or still run, when it called `next()` again). The
 *   views of a call form a chain (`Context.outerView`), each holding what its layer returned;
 *   walking it takes a microtask per layer, on this path only, so the result is then a promise;
 * - a non-Error thrown asynchronously is named after the innermost layer the call had reached (the
 *   thrower, unless a layer outside it threw on the way out; docs/decisions.md §22).
 */
export function settledError(
  thrown: unknown,
  core: CallCore,
  layers: readonly Layer[],
  fallback: string,
  outermost?: LayerView,
): unknown {
  if (thrown instanceof Error) {
    if (thrown.message === KOA_NEXT_TWICE && thrown.constructor === Error && core.innermostView !== undefined) {
      return nameNextTwice(thrown, core.innermostView, outermost);
    }
    return thrown;
  }
  const layer = layers[core.entered]?.name ?? fallback;
  // Once the executor answered, the throw came on the way out: from this layer or one outside it.
  const answered = core.response !== undefined || core.stream !== undefined;
  return layerError(thrown, layer, answered ? `\`${layer}\` or a layer outside it, on the way out,` : `\`${layer}\``);
}

/** Walks the call's views from the innermost out (to `outermost`, a replay layer's own view, if given). */
async function nameNextTwice(error: Error, innermost: LayerView, outermost: LayerView | undefined): Promise<unknown> {
  for (let view: LayerView | undefined = innermost; view !== undefined && view !== outermost; view = view.outerView) {
    if (view.returned instanceof Promise && (await rejectedWith(view.returned, error))) {
      return nextCalledTwice(view.layer);
    }
  }
  return error;
}

const NOT_SETTLED = Promise.resolve(undefined);

/**
 * Whether `promise` has already rejected with `error`. Racing a settled promise against an
 * already-resolved one settles with the first: its reaction was queued first.
 */
function rejectedWith(promise: Promise<unknown>, error: unknown): Promise<boolean> {
  return Promise.race([promise, NOT_SETTLED]).then(
    () => false,
    (reason: unknown) => reason === error,
  );
}

/**
 * A middleware returns nothing (or a promise). A function or a middleware definition coming back
 * means `use()` got a factory that nobody marked with `defineMiddlewareFactory`: it was called as
 * the layer and built a middleware instead of running one.
 */
function checkReturned(result: unknown, layer: string): void {
  if (
    typeof result === 'function' ||
    (typeof result === 'object' && (result as { [DEFINITION]?: unknown })[DEFINITION])
  ) {
    throw new MiddlewareError(
      layer,
      `\`${layer}\` returned a middleware instead of running: it is a middleware factory. Call it when you mount it: \`app.use(${layer}())\`.`,
    );
  }
}

/**
 * A replay layer's view. `base` is the request as this layer shaped it (the snapshot taken on entry
 * plus this layer's own updates), without the inner layers' changes; each attempt starts from it.
 * After an attempt succeeded the request holds the inner changes, so this layer's updates are
 * queued in `pending` and re-applied to `base` before the next attempt.
 */
class ReplayContext extends Context {
  base: ReadonlyModelRequest;
  /** This layer's own changes since the last successful attempt, to re-apply after `base`. */
  pending: (() => void)[] | undefined;
  /** The observers when this layer was entered (`undefined`: nobody watches), the attempts so far and how the last one ended. */
  readonly observers: readonly CallObserver[] | undefined;
  attempts = 0;
  lastError: unknown = undefined;

  constructor(
    core: CallCore,
    layer: string,
    readonly index: number,
  ) {
    super(core, layer);
    this.base = core.request;
    this.observers = core.observers;
  }

  override update(recipe: RequestRecipe): void {
    super.update(recipe);
    if (this.pending) this.pending.push(() => this.update(recipe));
    else this.base = this.core.request;
  }

  override replaceMessages(
    changes: MessageReplacements,
    options?: ReplaceMessagesOptions,
  ): ReadonlyModelRequest['messages'] {
    // Kept as pairs: an iterable may be readable once, and the change is re-applied before each attempt.
    // Anything else goes as is, for the core to refuse with the error that names this layer.
    const pairs =
      typeof (changes as Partial<Iterable<unknown>> | null | undefined)?.[Symbol.iterator] === 'function'
        ? [...changes]
        : changes;
    const out = super.replaceMessages(pairs, options);
    if (this.pending) this.pending.push(() => this.replaceMessages(pairs, options));
    else this.base = this.core.request;
    return out;
  }

  /** Back to `base`, with the updates this layer made since the last attempt re-applied. */
  rewind(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) {
      this.core.request = this.base;
      for (const apply of pending) apply();
    }
  }
}

function callReplay(layers: readonly Layer[]): ReplayHooks<Layer, CallCore, ReplayContext> {
  return {
    enter(core, layer, index) {
      core.entered = index;
      const ctx = new ReplayContext(core, layer.name, index);
      if (ctx.observers) notify(ctx.observers, onLayer, { layer: layer.name, index, phase: 'enter' });
      return ctx;
    },
    async run(ctx, layer, next) {
      const observers = ctx.observers;
      if (observers === undefined) {
        try {
          await (layer.call as MiddlewareFn)(ctx, next);
        } catch (thrown) {
          throw layerError(thrown, layer.name);
        }
        return;
      }
      const index = layers.indexOf(layer);
      const emit = (phase: 'next' | 'back' | 'exit', error?: unknown) =>
        notify(
          observers,
          onLayer,
          error === undefined ? { layer: layer.name, index, phase } : { layer: layer.name, index, phase, error },
        );
      const observedNext = async () => {
        if (ctx.attempts > 0) {
          const { lastError } = ctx;
          const attempt = ctx.attempts + 1;
          notify(
            observers,
            onAttempt,
            lastError === undefined ? { layer: layer.name, attempt } : { layer: layer.name, attempt, error: lastError },
          );
        }
        ctx.attempts++;
        ctx.lastError = undefined;
        emit('next');
        try {
          await next();
        } catch (error) {
          ctx.lastError = error ?? null;
          emit('back', error ?? null);
          throw error;
        }
        emit('back');
      };
      try {
        await (layer.call as MiddlewareFn)(ctx, observedNext);
      } catch (thrown) {
        const error = layerError(thrown, layer.name);
        emit('exit', error ?? null);
        throw error;
      }
      emit('exit');
    },
    async rewind(ctx, core) {
      // After a success the request holds the inner layers' changes: rewind to this layer's base
      // and re-apply what this layer changed since. After a failure it was rewound already.
      ctx.rewind();
      // The next attempt's views chain on from this layer's, not from the previous attempt's.
      core.innermostView = ctx;
      core.response = undefined;
      // The previous attempt's stream will not be read: close it (its taps and the provider request).
      await discardStream(core.stream);
      core.stream = undefined;
      core.dispatchedModel = undefined;
      // Executor hooks the inner layers added belong to the attempt that added them.
      if (core.layerHooks) core.layerHooks = core.layerHooks.filter((entry) => entry.index <= ctx.index);
    },
    succeeded(ctx) {
      ctx.pending = [];
    },
    async failed(ctx, core, error) {
      // The failed attempt's dispatched model stays visible (ctx.model, `failed` events) until the next attempt.
      const blamed = settledError(error, core, layers, ctx.layer, ctx);
      core.request = ctx.base;
      await discardStream(core.stream);
      core.stream = undefined;
      return blamed;
    },
  };
}
