import type { CallCore, LayerView } from './call-core.js';
import { type CallObserver, type PluginDecisionEvent, notify, onPlugin } from './observe.js';
import { MiddlewareError } from './errors.js';
import type { EffectiveModel } from './events.js';
import {
  type Executor,
  type ExecutorCapabilities,
  type ExecutorHooks,
  type InternalCall,
  type ReadonlyModelRequest,
  assertExecutor,
} from './executor.js';
import { validateRequest, validateResponse } from './validate.js';
import { type MessageReplacements, type ReplaceMessagesOptions, replaceMessages } from './replace-messages.js';
import { checkKeys, checkString, describeValue } from '../internal/options.js';
import { linkSignals } from '../internal/signals.js';
import type { ModelResponse, StreamPart } from './messages.js';
import type { CallState, LayerPatches, RequestRecipe, ResponseRecipe, RunContext } from './state.js';
import {
  type PartMapper,
  type StreamObserver,
  type StreamTransform,
  assemble,
  fromParts,
  mapParts,
  responseToParts,
  tapParts,
  transformParts,
} from './stream.js';

// The state and recipe types live in state.ts (call-core.ts needs them, and this file needs CallCore).
export type {
  CallState,
  CallUsage,
  LayerPatches,
  RequestRecipe,
  ResponseRecipe,
  RunContext,
  RunState,
  UsageTotals,
} from './state.js';

const FOR_LAYER = Symbol.for('modelware.run.forLayer');

/** How deep internal calls may nest (a summary made during a summary...): a bound against a layer calling itself. */
const MAX_INTERNAL_DEPTH = 4;
const CALL_MODEL_KEYS = ['executor', 'purpose', 'budgetKey', 'signal'] as const;

/** Options of `ctx.callModel()`. */
export interface CallModelOptions {
  /**
   * What to call. Pass a pipeline (e.g. `pipeline(executor, tracing(), usage())`) to trace, count
   * or retry the internal call; its layers see `ctx.internal`.
   * @default the executor at the centre of this pipeline, without any of its layers
   */
  readonly executor?: Executor | undefined;
  /** What the call is for, e.g. `'summary'` (`ctx.internal.purpose`, trace attributes). @default the layer's name */
  readonly purpose?: string | undefined;
  /** The key usage and budget layers charge the call to. @default `internal:<purpose>` */
  readonly budgetKey?: string | undefined;
  /** Aborts the internal call as well as the caller's signal does. @default only `ctx.signal` */
  readonly signal?: AbortSignal | undefined;
}

/**
 * The context one layer sees for one call. Every layer gets its own view of the same call, so
 * errors and patches name the layer that caused them.
 *
 * The request is read-only: change it with `ctx.update(draft => { ... })`. One Immer rule applies
 * to every recipe: **mutate the draft and return nothing, or return a replacement and touch
 * nothing.** To scan a large request without creating a proxy per element, read from
 * `info.original` and write to the draft.
 */
export class Context {
  // `declare`: assigned in the constructor only, not also defined as class fields first (one view
  // is made per layer per call).
  /** @internal */
  declare readonly core: CallCore;
  /** The name of the layer holding this view. */
  declare readonly layer: string;
  /** @internal The view made before this one in the call: the views form a chain, innermost first. */
  declare readonly outerView: LayerView | undefined;
  /** @internal What the layer's function returned (its promise), read only when the call fails. */
  declare returned: unknown;

  /** @internal Views are made by the stack; users receive them (the class is exported as a type). */
  constructor(core: CallCore, layer: string) {
    this.core = core;
    this.layer = layer;
    this.outerView = core.innermostView;
    this.returned = undefined;
    core.innermostView = this;
  }

  /** Unique id of this call. */
  get id(): string {
    return this.core.id;
  }
  /** Id of the calling context when this pipeline runs as another pipeline's executor. */
  get parentId(): string | undefined {
    return this.core.parentId;
  }
  get mode(): 'generate' | 'stream' {
    return this.core.mode;
  }
  /** Aborts when the caller aborts, a timeout layer fires or a stream consumer stops early. */
  get signal(): AbortSignal {
    return this.core.signal;
  }
  /**
   * The call's signal if the caller or a layer gave it one, else `undefined`: such a call cannot be
   * aborted. For code that only passes the signal along (`ctx.signal` creates one on first read).
   */
  get signalIfAny(): AbortSignal | undefined {
    return this.core.existingSignal;
  }

  /**
   * Runs `inner` (usually `next`) with `signal` as `ctx.signal` of every layer inside this one and
   * of the executor, then restores this layer's signal. Link it to `ctx.signal` yourself (e.g.
   * `AbortSignal.any([ctx.signal, own])`) so the caller's abort still reaches inside. If `signal`
   * aborts before `inner` settles, the promise rejects at once with its reason, even when the
   * layers inside ignore it; what they produce afterwards is discarded (a late response is
   * dropped, a stream that starts late is closed) and names this layer. This is how `timeout()`
   * bounds everything inside it.
   *
   * @example
   * const own = new AbortController();
   * const timer = setTimeout(() => own.abort(new TimeoutError('too slow', 5000)), 5000);
   * try { await ctx.withSignal(AbortSignal.any([ctx.signal, own.signal]), next); }
   * finally { clearTimeout(timer); }
   */
  async withSignal<T>(signal: AbortSignal, inner: () => Promise<T>): Promise<T> {
    const core = this.core;
    const previous = core.existingSignal;
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    core.signal = signal;
    try {
      return await Promise.race([inner(), aborted]);
    } catch (thrown) {
      // Gave up without waiting for the layers inside: whatever they still produce is late.
      if (signal.aborted) core.abandon(this.layer);
      throw thrown;
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      core.signal = previous;
    }
  }
  /** The agent run this call belongs to; `undefined` outside `runAgent()`. */
  get run(): RunContext | undefined {
    // The agent's run object hands out per-layer views, so `updateTranscript` errors name this layer.
    const run = this.core.run as (RunContext & { [FOR_LAYER]?: (layer: string) => RunContext }) | undefined;
    return run?.[FOR_LAYER]?.(this.layer) ?? run;
  }

  /**
   * What the pipeline's executor does natively (`executor.capabilities`; a nested pipeline forwards
   * its executor's), e.g. whether it sends `request.responseFormat`'s schema to the provider.
   */
  get capabilities(): ExecutorCapabilities {
    return this.core.capabilities;
  }

  /**
   * Set when this call was made by a layer of another call for itself (`ctx.callModel()`): not the
   * user's traffic. A layer that makes internal calls should let such calls pass untouched.
   */
  get internal(): InternalCall | undefined {
    return this.core.internal;
  }

  /**
   * Makes a model call of this layer's own (a summary, a classification), kept apart from the
   * caller's: it runs `options.executor` (by default this pipeline's executor, without its layers)
   * in generate mode, tagged with an `InternalCall` (`ctx.internal` in a pipeline that runs it,
   * `internal` on its events), so it never enters the caller's stream, transcript or events, is
   * charged to its own `budgetKey`, and is traced as a child of the span active when it is made.
   * It follows `ctx.signal`. Internal calls nest at most 4 deep.
   *
   * @example
   * const summary = await ctx.callModel(
   *   { model: 'gpt-5-mini', messages: [{ role: 'user', content: `Summarise:\n${text}` }] },
   *   { purpose: 'summary' },
   * );
   */
  async callModel(request: ReadonlyModelRequest, options: CallModelOptions = {}): Promise<ModelResponse> {
    const where = `ctx.callModel() in \`${this.layer}\``;
    checkKeys(where, options, CALL_MODEL_KEYS);
    const core = this.core;
    const executor = options.executor ?? core.settings.executor;
    assertExecutor(executor, where);
    checkString(where, 'purpose', options.purpose, { optional: true });
    checkString(where, 'budgetKey', options.budgetKey, { optional: true });
    const own = options.signal;
    if (own !== undefined && !(own instanceof AbortSignal)) {
      throw new TypeError(`${where}: expected \`signal\` to be an AbortSignal, got ${describeValue(own)}.`);
    }
    const depth = (core.internal?.depth ?? 0) + 1;
    if (depth > MAX_INTERNAL_DEPTH) {
      throw new MiddlewareError(
        this.layer,
        `\`${this.layer}\` made an internal call ${depth} levels deep (at most ${MAX_INTERNAL_DEPTH}): a layer that calls ctx.callModel() should let calls with ctx.internal set pass, or call an executor without itself.`,
      );
    }
    const purpose = options.purpose ?? this.layer;
    const run = core.run;
    const internal: InternalCall = Object.freeze({
      by: this.layer,
      purpose,
      parentCallId: core.id,
      runId: run?.runId,
      turn: run?.turn,
      budgetKey: options.budgetKey ?? `internal:${purpose}`,
      depth,
    });
    if (core.settings.validate) validateRequest(request, this.layer);
    const link = own ? linkSignals(core.signal, own) : undefined;
    try {
      const signal = link ? link.signal : core.signal;
      signal.throwIfAborted();
      // No `run`: the internal call cannot read or edit the caller's transcript, nor count as its traffic.
      const response = await executor.generate(request, { signal, parentId: core.id, internal });
      if (core.settings.validate) validateResponse(response, this.layer);
      return response;
    } finally {
      link?.dispose();
    }
  }

  /** Per-call state shared by all layers; typed through the `CallState` interface. */
  get state(): CallState {
    return (this.core.state ??= {});
  }
  /** The request as the layers so far have shaped it (read-only; see `update`). */
  get request(): ReadonlyModelRequest {
    return this.core.request;
  }
  /**
   * `requested`: the model the caller asked for. `resolved`: the model this call is (or was)
   * dispatched to after routing and fallback. Inner layers see it before the call, outer layers
   * after `await next()`.
   */
  get model(): EffectiveModel {
    return this.core.model;
  }
  /**
   * Watches the layers inside this one for the rest of the call: each layer's entry and exit per
   * attempt, their changes to the request and response, replay attempts and executor dispatches
   * (see `CallObserver`). Layers outside this one are not reported. Returns a function that stops
   * the observation; call it when this layer is done. Nothing is paid for this when nobody observes.
   *
   * @example
   * const stop = ctx.observe({ onLayer: (e) => log.push(`${e.layer}:${e.phase}`) });
   * try { await next(); } finally { stop(); }
   */
  observe(observer: CallObserver): () => void {
    const core = this.core;
    if (typeof observer !== 'object' || observer === null) {
      throw new MiddlewareError(this.layer, `\`${this.layer}\` called ctx.observe() without an observer object.`);
    }
    core.observers = core.observers ? [...core.observers, observer] : [observer];
    return () => {
      const rest = core.observers?.filter((o) => o !== observer);
      core.observers = rest && rest.length > 0 ? rest : undefined;
    };
  }

  /** Whether a layer outside this one observes the call (`ctx.observe`): report to it only then. */
  get observed(): boolean {
    return this.core.observers !== undefined;
  }

  /**
   * Tells the call's observers that a plugin decided something (for plugin dispatchers such as
   * `plugins()`); does nothing when nobody observes.
   */
  reportPluginDecision(event: PluginDecisionEvent): void {
    const observers = this.core.observers;
    if (observers !== undefined) notify(observers, onPlugin, event);
  }

  /**
   * Hooks into each attempt of this call, called with the model actually chosen: by the executor
   * when it routes or falls back itself (`callsHooks`), else by the pipeline with `request.model`,
   * just before the executor is called. `onModelChosen` may return the request to send for that
   * model (validated like an update, named after this layer; it changes what this attempt sends,
   * not `ctx.request`). Hooks of outer layers run first on the way in, last on the way out. Added
   * by a layer inside `retry()` or `fallback()`, they last for the attempt that added them.
   *
   * @example
   * ctx.addExecutorHooks({
   *   onModelChosen: ({ model, request }) =>
   *     model.startsWith('o') ? { ...request, options: { ...request.options, temperature: undefined } } : undefined,
   * });
   */
  addExecutorHooks(hooks: ExecutorHooks): void {
    if (typeof hooks !== 'object' || hooks === null) {
      throw new TypeError(
        `ctx.addExecutorHooks() in \`${this.layer}\`: expected an object of hooks (onModelChosen, onCompleted, ...), got ${hooks === null ? 'null' : typeof hooks}.`,
      );
    }
    (this.core.layerHooks ??= []).push({ index: this.core.entered, layer: this.layer, hooks });
  }
  /** Every layer's changes, when the pipeline runs with `inspect: true`. */
  get patches(): readonly LayerPatches[] | undefined {
    return this.core.patches;
  }

  /**
   * Changes the request for this call and every layer inside this one. Recipes chain: each starts
   * from what the previous update produced. The result is validated; an invalid one throws
   * `InvalidRequestError` naming this layer and leaves the request as it was.
   *
   * @example
   * ctx.update((draft) => { draft.options = { ...draft.options, temperature: 0 }; });
   */
  update(recipe: RequestRecipe): void {
    this.core.update(recipe, this.layer);
  }

  /**
   * Puts other messages in place of the request's, by index, for this call and every layer inside
   * this one, without a recipe: the core builds the new array (your arrays are never changed),
   * checks only the messages you pass (a message sealed with `sealMessage` costs a property read; one
   * that keeps the tool-call ids of the message it replaces needs no pairing pass), and records
   * which indices changed. An invalid one throws `InvalidRequestError` naming this layer, and the
   * request stays as it was; an index that is not a message of the request is a `MiddlewareError`.
   * It replaces, never adds or removes: use `update` for that. Returns the new messages.
   *
   * With `previous` (an array an earlier `replaceMessages` returned), its replacements are kept
   * wherever the message they replaced is still at the same index, so a layer that replaces the same
   * messages on every call of a run passes only what changed since (`messagesChangedSince` in
   * `modelware/kit`), and the core checks only those: O(changed) per call, however many are replaced.
   *
   * @example
   * const sent = ctx.replaceMessages(new Map([[0, { role: 'system', content: 'Be brief.' }]]));
   */
  replaceMessages(changes: MessageReplacements, options?: ReplaceMessagesOptions): ReadonlyModelRequest['messages'] {
    return replaceMessages(this.core, this.layer, changes, options);
  }

  /** The response, once the executor or a short-circuiting layer produced one. */
  get response(): ModelResponse | undefined {
    return this.core.response;
  }
  /** Setting it without calling `next()` short-circuits everything inside this layer. */
  set response(response: ModelResponse | undefined) {
    this.core.setResponse(response, this.layer);
  }

  /** Changes the response on the way out, chained and validated like `update`. */
  updateResponse(recipe: ResponseRecipe): void {
    this.core.updateResponse(recipe, this.layer);
  }

  /** In stream mode, after `await next()`: the parts flowing out to the caller. */
  get stream(): AsyncIterable<StreamPart> | undefined {
    return this.core.stream;
  }

  /**
   * Rewrites parts on their way out: return a part, several parts, or `null` to drop it. In
   * generate mode the response is rewritten through the same function, so one mapper serves both.
   */
  mapStream(fn: PartMapper): void {
    const core = this.core;
    if (core.mode === 'generate') {
      const response = core.response ?? this.missing('mapStream');
      const mapped: StreamPart[] = [];
      for (const part of responseToParts(response)) {
        const out = fn(part);
        if (out == null) continue;
        if (Array.isArray(out)) mapped.push(...(out as StreamPart[]));
        else mapped.push(out as StreamPart);
      }
      core.setResponse({ ...response, ...assemble(mapped) }, this.layer);
      return;
    }
    core.stream = mapParts(core.streamFor(this.layer, 'mapStream'), fn);
  }

  /**
   * Installs an async stream transform: `fn` receives the parts from inside (an async iterable to
   * read once) and returns the parts to send out. Unlike `mapStream` it may await, hold parts back
   * and flush them at the end, or throw to fail the stream. Write it as an `async function*`: when
   * the consumer stops early or the call is abandoned, its `finally` runs and `source` is closed,
   * exactly once, even if it was never read. (Any other iterator must close `source` in its
   * `return()`.) In generate mode the response's parts run through `fn` and the result becomes the
   * response, so `await` the returned promise.
   *
   * @example
   * await next();
   * await ctx.wrapStream(async function* (source) {
   *   const held = [];
   *   for await (const part of source) held.push(part); // hold everything back...
   *   yield* held; // ...and flush it at the end
   * });
   */
  wrapStream(fn: StreamTransform): Promise<void> {
    const core = this.core;
    if (core.mode === 'generate') return this.transformResponse(fn, core.response ?? this.missing('wrapStream'));
    core.stream = transformParts(core.streamFor(this.layer, 'wrapStream'), fn);
    return Promise.resolve();
  }

  private async transformResponse(fn: StreamTransform, response: ModelResponse): Promise<void> {
    const parts: StreamPart[] = [];
    for await (const part of transformParts(fromParts(responseToParts(response)), fn)) parts.push(part);
    this.core.setResponse({ ...response, ...assemble(parts) }, this.layer);
  }

  /**
   * Observes the parts and the assembled final response. Works in both modes: in generate mode
   * the callbacks run at once on the response's parts, so `await` the returned promise.
   */
  tapStream(observer: StreamObserver): Promise<void> {
    const core = this.core;
    if (core.mode === 'generate') return tapResponse(core.response ?? this.missing('tapStream'), observer);
    core.stream = tapParts(core.streamFor(this.layer, 'tapStream'), observer);
    return Promise.resolve();
  }

  private missing(method: string): never {
    throw new MiddlewareError(
      this.layer,
      `\`${this.layer}\` called ctx.${method}() before there was a response. Call it after \`await next()\`.`,
    );
  }
}

async function tapResponse(response: ModelResponse, observer: StreamObserver): Promise<void> {
  try {
    if (observer.onPart) for (const part of responseToParts(response)) await observer.onPart(part);
    if (observer.onFinish) await observer.onFinish(response);
  } finally {
    observer.onClose?.();
  }
}
