import { type Draft, Immer, type Immutable, enablePatches, freeze, type Patch } from 'immer';
import { MiddlewareError } from './errors.js';
import type { EffectiveModel, EventHub } from './events.js';
import type { ReadonlyModelRequest } from './executor.js';
import type { Message, ModelRequest, ModelResponse, StreamPart } from './messages.js';
import {
  type PartMapper,
  type StreamObserver,
  assemble,
  discardStream,
  fromParts,
  mapParts,
  responseToParts,
  tapParts,
} from './stream.js';
import { Touched, trackMessages } from './track.js';
import { validateResponse, validateUpdate } from './validate.js';

/**
 * Per-call state shared by every layer of one call. Extend it by declaration merging so your
 * middleware's fields are typed:
 *
 * @example
 * declare module 'modelware' {
 *   interface CallState { cacheHit?: boolean }
 * }
 */
// biome-ignore lint/suspicious/noEmptyInterface: extended by declaration merging
export interface CallState {}

/** Run-level state of an agent run, extended by declaration merging like `CallState`. */
// biome-ignore lint/suspicious/noEmptyInterface: extended by declaration merging
export interface RunState {}

/** What a call knows about the agent run it belongs to (`ctx.run`, absent outside a loop). */
export interface RunContext {
  readonly runId: string;
  /** 1-based turn number (0 in a run layer before the first turn). */
  readonly turn: number;
  /** The persisted message history of the run. */
  readonly transcript: Immutable<Message[]>;
  readonly state: RunState;
  /** Change what persists in the transcript (unlike `ctx.update`, which changes only this call). */
  updateTranscript(
    recipe: (draft: Draft<Message[]>, info: { readonly original: Immutable<Message[]> }) => void | Message[],
  ): void;
  /** Metadata passed to the run (tenant, user, tags). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

const FOR_LAYER = Symbol.for('modelware.run.forLayer');

export type RequestRecipe = (
  draft: Draft<ModelRequest>,
  info: { readonly original: ReadonlyModelRequest },
) => void | ModelRequest | ReadonlyModelRequest;

export type ResponseRecipe = (
  draft: Draft<ModelResponse>,
  info: { readonly original: Immutable<ModelResponse> },
) => void | ModelResponse;

/** What one layer changed: recorded when the pipeline runs with `inspect: true`. */
export interface LayerPatches {
  readonly layer: string;
  readonly target: 'request' | 'response';
  readonly patches: readonly Patch[];
  readonly inversePatches: readonly Patch[];
}

// Auto-freeze makes every produce() walk the whole tree (DESIGN §3): off, and our own instance so
// the user's global Immer settings are untouched.
const immer = new Immer({ autoFreeze: false });
let patchesEnabled = false;

let seq = 0;
const idPrefix = Math.random().toString(36).slice(2, 8);
export function newId(kind: string): string {
  return `${kind}_${idPrefix}${(++seq).toString(36)}`;
}

export interface CoreSettings {
  readonly validate: boolean;
  readonly inspect: boolean;
  readonly strict: boolean;
  readonly events: EventHub;
}

/** @internal The shared state of one call; layers see it through a `Context` view. */
export class CallCore {
  request: ReadonlyModelRequest;
  response: ModelResponse | undefined = undefined;
  stream: AsyncIterable<StreamPart> | undefined = undefined;
  state: CallState | undefined = undefined;
  patches: LayerPatches[] | undefined;
  /** The model of the latest dispatch to the executor in the current attempt. */
  dispatchedModel: string | undefined = undefined;
  dispatches = 0;
  /**
   * Bumped when a layer abandons the work inside it without waiting for it (a `timeout` that fired
   * while the executor ignored its signal): a dispatch that started in an earlier epoch must not
   * write its late result into the call.
   */
  epoch = 0;
  /** Reports the effective model to a calling pipeline when this call runs as its executor. */
  reportModel: ((model: string) => void) | undefined = undefined;
  /** Index of the innermost layer entered so far (-1: none): the one to name when no response comes back. */
  entered = -1;
  readonly requestedModel: string;
  private _id: string | undefined;
  private _signal: AbortSignal | undefined;

  constructor(
    readonly settings: CoreSettings,
    request: ReadonlyModelRequest,
    readonly mode: 'generate' | 'stream',
    signal: AbortSignal | undefined,
    readonly parentId: string | undefined,
    readonly run: RunContext | undefined,
  ) {
    this.request = request;
    this.requestedModel = request.model;
    this._signal = signal;
    this.patches = settings.inspect ? [] : undefined;
  }

  get id(): string {
    return (this._id ??= newId('call'));
  }

  get signal(): AbortSignal {
    // Created lazily: most calls never look at it, and AbortController is not free.
    return (this._signal ??= new AbortController().signal);
  }

  set signal(signal: AbortSignal) {
    this._signal = signal;
  }

  /** The signal if one exists yet, without creating one: a signal nobody created cannot abort. */
  get existingSignal(): AbortSignal | undefined {
    return this._signal;
  }

  get model(): EffectiveModel {
    return { requested: this.requestedModel, resolved: this.dispatchedModel ?? this.request.model };
  }

  update(recipe: RequestRecipe, layer: string): void {
    const before = this.request;
    let after: ReadonlyModelRequest;
    let patches: Patch[] | undefined;
    let inverse: Patch[] | undefined;
    const validate = this.settings.validate;
    const touched = validate ? new Touched() : undefined;
    const run = (draft: Draft<ModelRequest>) => {
      if (!touched) return recipe(draft, { original: before });
      const tracked = trackMessages(draft, touched);
      const result = recipe(tracked, { original: before });
      if (result === tracked) return undefined;
      // A replacement value bypasses the tracker: check the whole array.
      if (result !== undefined) touched.all = true;
      return result;
    };
    if (this.patches) {
      const result = immer.produceWithPatches(before as ModelRequest, run as never) as unknown as [
        ReadonlyModelRequest,
        Patch[],
        Patch[],
      ];
      [after, patches, inverse] = result;
    } else {
      after = immer.produce(before as ModelRequest, run as never) as ReadonlyModelRequest;
    }
    if (after === before) return;
    if (validate) validateUpdate(before, after, layer, touched);
    this.request = this.settings.strict ? freeze(after, true) : Object.freeze(after);
    if (patches && patches.length > 0) {
      this.patches?.push({ layer, target: 'request', patches, inversePatches: inverse ?? [] });
    }
  }

  updateResponse(recipe: ResponseRecipe, layer: string): void {
    const before = this.response;
    if (before === undefined && this.stream) {
      // After next() in stream mode the parts have not flowed yet: "call it after next()" would mislead.
      throw new MiddlewareError(
        layer,
        `\`${layer}\` called ctx.updateResponse() in stream mode, where the response exists only once the stream has ended. Use ctx.mapStream() to change the parts, or ctx.tapStream({ onFinish }) to read the final response.`,
      );
    }
    if (before === undefined) {
      throw new MiddlewareError(
        layer,
        `\`${layer}\` called ctx.updateResponse() before there was a response. Call it after \`await next()\`, or set ctx.response to answer without calling next().`,
      );
    }
    let after: ModelResponse;
    let patches: Patch[] | undefined;
    let inverse: Patch[] | undefined;
    const run = (draft: Draft<ModelResponse>) => recipe(draft, { original: before as Immutable<ModelResponse> });
    if (this.patches) {
      const result = immer.produceWithPatches(before, run as never) as unknown as [ModelResponse, Patch[], Patch[]];
      [after, patches, inverse] = result;
    } else after = immer.produce(before, run as never) as ModelResponse;
    if (after === before) return;
    if (this.settings.validate) validateResponse(after, layer);
    this.response = after;
    if (patches && patches.length > 0) {
      this.patches?.push({ layer, target: 'response', patches, inversePatches: inverse ?? [] });
    }
  }

  setResponse(response: ModelResponse | undefined, layer: string): void {
    if (response !== undefined && this.settings.validate) validateResponse(response, layer);
    this.response = response;
    if (this.stream) {
      // In stream mode an answer set after next() replaces the stream (as it replaces the response in
      // generate mode); otherwise a guard's refusal caught outside would still stream what it refused.
      const replaced = this.stream;
      this.stream = undefined;
      void discardStream(replaced);
    }
  }

  /** The stream for a layer to wrap; synthesised from `response` when a layer inside answered directly. */
  streamFor(layer: string, method: string): AsyncIterable<StreamPart> {
    if (this.stream) return this.stream;
    if (this.response) return (this.stream = fromParts(responseToParts(this.response)));
    throw new MiddlewareError(
      layer,
      `\`${layer}\` called ctx.${method}() before there was a stream. Call it after \`await next()\`.`,
    );
  }
}

export function enableInspection(): void {
  if (!patchesEnabled) {
    enablePatches();
    patchesEnabled = true;
  }
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
  /** @internal */
  readonly core: CallCore;
  /** The name of the layer holding this view. */
  readonly layer: string;

  constructor(core: CallCore, layer: string) {
    this.core = core;
    this.layer = layer;
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
  /** The agent run this call belongs to; `undefined` outside `runAgent()`. */
  get run(): RunContext | undefined {
    // The agent's run object hands out per-layer views, so `updateTranscript` errors name this layer.
    const run = this.core.run as (RunContext & { [FOR_LAYER]?: (layer: string) => RunContext }) | undefined;
    return run?.[FOR_LAYER]?.(this.layer) ?? run;
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
