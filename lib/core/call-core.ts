import { type Draft, type Immutable, type Patch, enablePatches, freeze } from 'immer';
import { immer } from '../internal/immer.js';
import type { CallState, LayerPatches, RequestRecipe, ResponseRecipe, RunContext } from './state.js';
import { MiddlewareError } from './errors.js';
import type { EffectiveModel, EventHub } from './events.js';
import type { Executor, ExecutorCapabilities, ExecutorHooks, InternalCall, ReadonlyModelRequest } from './executor.js';

const NO_CAPABILITIES: ExecutorCapabilities = Object.freeze({});
import type { Message, ModelRequest, ModelResponse, StreamPart } from './messages.js';
import { discardStream, fromParts, responseToParts } from './stream.js';
import { isValidArray, provenanceWanted, recordDerivation } from '../internal/provenance.js';
import { Touched, trackMessages } from '../internal/track.js';
import { frozenShallowCopy } from '../internal/frozen.js';
import { validateResponse, validateUpdate } from './validate.js';
import { type CallObserver, notify, onUpdate } from './observe.js';

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
  /** The pipeline's executor: what `ctx.callModel()` calls by default. */
  readonly executor?: Executor | undefined;
}

/** @internal Executor hooks one layer added for this call. */
export interface LayerHooks {
  readonly index: number;
  readonly layer: string;
  readonly hooks: ExecutorHooks;
}

/** @internal What the failure path reads of a layer's view (a `Context`; see `settledError`). */
export interface LayerView {
  readonly layer: string;
  readonly outerView: LayerView | undefined;
  readonly returned: unknown;
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
  /** The pipeline's executor's capabilities (`ctx.capabilities`). */
  capabilities: ExecutorCapabilities = NO_CAPABILITIES;
  /**
   * Bumped when a layer abandons the work inside it without waiting for it (a `timeout` that fired
   * while the executor ignored its signal): a dispatch that started in an earlier epoch must not
   * write its late result into the call.
   */
  epoch = 0;
  /** The layer that last abandoned the work inside it (see `epoch`), named in the late result's error. */
  abandonedBy = '';
  /** Reports the effective model to a calling pipeline when this call runs as its executor. */
  reportModel: ((model: string) => void) | undefined = undefined;
  /** The caller's executor hooks (`ExecuteOptions.hooks`), when this pipeline runs as its executor. */
  hooks: ExecutorHooks | undefined = undefined;
  /** Hooks layers added with `ctx.addExecutorHooks`, in the order added, with the adding layer's index. */
  layerHooks: LayerHooks[] | undefined = undefined;
  /** Set when a layer of another call made this one for itself (`ctx.callModel()`). */
  internal: InternalCall | undefined = undefined;
  /** Index of the innermost layer entered so far (-1: none): the one to name when no response comes back. */
  entered = -1;
  /** The latest layer view made (`Context`); through `outerView`, every view of the call, read only when it fails (`settledError`). */
  innermostView: LayerView | undefined = undefined;
  /** Observers registered with `ctx.observe`; `undefined` (not empty) when none, so the hot path tests one field. */
  observers: CallObserver[] | undefined = undefined;
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
    this.request = settings.strict ? strictEntry(request) : entry(request);
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

  set signal(signal: AbortSignal | undefined) {
    this._signal = signal;
  }

  /** `layer` gave up on the work inside it: a dispatch of an earlier epoch must not write its late result. */
  abandon(layer: string): void {
    this.epoch++;
    this.abandonedBy = layer;
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
    const base = thawed(before);
    let after: ReadonlyModelRequest;
    let patches: Patch[] | undefined;
    let inverse: Patch[] | undefined;
    const validate = this.settings.validate;
    // Which indices the recipe wrote, for a long array only: the tracker puts a second proxy in front
    // of Immer's (each write through it costs ~0.3 µs on Node 20), while comparing a short array
    // element by element after the recipe costs less (~2 ns a message).
    const touched = validate && before.messages.length >= TRACK_FROM ? new Touched() : undefined;
    // The recipe runs through one module-level function (no closure per update); a recipe that
    // updates another call from inside gets its own frame, restored after.
    const outer = running;
    running = { recipe, info: { original: before }, touched };
    try {
      if (this.patches) {
        const result = immer.produceWithPatches(base as ModelRequest, runRecipe as never) as unknown as [
          ReadonlyModelRequest,
          Patch[],
          Patch[],
        ];
        [after, patches, inverse] = result;
      } else {
        after = immer.produce(base as ModelRequest, runRecipe as never) as ReadonlyModelRequest;
      }
    } catch (error) {
      throw recipeError(error, layer, 'update');
    } finally {
      running = outer;
    }
    if (after === base) return;
    // Messages untouched: keep the caller's array itself rather than the thawed copy.
    if (base !== before && after.messages === base.messages)
      (after as ModelRequest).messages = before.messages as Message[];
    if (validate) validateUpdate(before, after, layer, touched);
    // The tracker knows which indices the recipe could have changed: later layers can use that.
    if (validate && after.messages !== before.messages && provenanceWanted()) {
      // Valid as a whole if it was before: the update was just checked against it.
      const valid = isValidArray(before.messages);
      recordDerivation(after.messages, before.messages, !touched || touched.all ? null : touched.indices, { valid });
    }
    // Strict: what the update created is frozen deeply; the rest is the entry copy, frozen already.
    this.request = this.settings.strict ? freeze(after, true) : frozenShallowCopy(after);
    if (patches && patches.length > 0) {
      this.patches?.push({ layer, target: 'request', patches, inversePatches: inverse ?? [] });
    }
    const observers = this.observers;
    if (observers !== undefined) notify(observers, onUpdate, { layer, target: 'request', before, after: this.request });
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
    try {
      if (this.patches) {
        const result = immer.produceWithPatches(before, run as never) as unknown as [ModelResponse, Patch[], Patch[]];
        [after, patches, inverse] = result;
      } else after = immer.produce(before, run as never) as ModelResponse;
    } catch (error) {
      throw recipeError(error, layer, 'updateResponse');
    }
    if (after === before) return;
    if (this.settings.validate) validateResponse(after, layer);
    this.response = after;
    if (patches && patches.length > 0) {
      this.patches?.push({ layer, target: 'response', patches, inversePatches: inverse ?? [] });
    }
    const observers = this.observers;
    if (observers !== undefined) notify(observers, onUpdate, { layer, target: 'response', before, after });
  }

  setResponse(response: ModelResponse | undefined, layer: string): void {
    if (response !== undefined && this.settings.validate) validateResponse(response, layer);
    const before = this.response;
    this.response = response;
    const observers = this.observers;
    if (observers !== undefined && before !== response) {
      notify(observers, onUpdate, { layer, target: 'response', before, after: response });
    }
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

/**
 * The request the layers start from: the library's own containers, never the caller's. A layer that
 * mutates `ctx.request` directly (plain JS ignores the read-only types) then changes this call only:
 * the request object is the library's copy, so assigning a field changes this call only (strict mode
 * freezes it, so the assignment throws); the caller's `messages`, `tools`,
 * `options` and `metadata` are shallow-copied unless frozen (a frozen one cannot be changed, so
 * it is shared). A copy costs one pointer per message: ~3 µs for 10,000 messages (docs/decisions.md).
 * The message objects are shared, which keeps every identity-keyed cache working.
 */
function entry(request: ReadonlyModelRequest): ReadonlyModelRequest {
  const copy = { ...request } as ModelRequest;
  const { messages, tools, options, metadata } = request;
  if (Array.isArray(messages) && !Object.isFrozen(messages)) {
    copy.messages = copyArray(messages) as Message[];
    // The copy changes no index: say so, or a layer that asks provenance what changed since its
    // previous call (compaction) compares every message on every call.
    if (provenanceWanted()) recordDerivation(copy.messages, messages, []);
  }
  if (Array.isArray(tools) && !Object.isFrozen(tools)) copy.tools = copyArray(tools) as ModelRequest['tools'];
  if (isPlain(options) && !Object.isFrozen(options)) copy.options = { ...options } as ModelRequest['options'];
  if (isPlain(metadata) && !Object.isFrozen(metadata)) copy.metadata = { ...metadata };
  // Not frozen: freezing a fresh object here cost ~0.5 µs a call (a third of a 10-layer call) and
  // the copy is ours, so an assignment to it changes this call only, never the caller's request.
  return copy;
}

/** A plain array's `slice()` is about twice as fast as a spread here; a subclass is spread into a plain array. */
const copyArray = (array: readonly unknown[]): unknown[] =>
  array.constructor === Array ? (array as unknown[]).slice() : [...array];

const isPlain = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Strict mode: a deep copy, deep-frozen, so any direct mutation of the request throws, while the
 * caller's own objects stay as they were (never frozen). Each message is copied once per object
 * and reused while its role, content and tool-call id are the same objects, so an agent loop pays
 * for new messages only and the copies keep a stable identity across calls.
 */
function strictEntry(request: ReadonlyModelRequest): ReadonlyModelRequest {
  const messages = Array.isArray(request.messages) ? request.messages.map(frozenMessage) : request.messages;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(request)) {
    copy[key] = key === 'messages' ? Object.freeze(messages) : frozenCopy((request as Record<string, unknown>)[key]);
  }
  return Object.freeze(copy) as unknown as ReadonlyModelRequest;
}

interface StrictCopy {
  readonly role: unknown;
  readonly content: unknown;
  readonly toolCallId: unknown;
  readonly copy: unknown;
}

const strictCopies = new WeakMap<object, StrictCopy>();

function frozenMessage(message: unknown): unknown {
  if (typeof message !== 'object' || message === null || Object.isFrozen(message)) return frozenCopy(message);
  const m = message as Record<string, unknown>;
  const seen = strictCopies.get(message);
  if (seen && seen.role === m.role && seen.content === m.content && seen.toolCallId === m.toolCallId) return seen.copy;
  const copy = frozenCopy(message);
  strictCopies.set(message, { role: m.role, content: m.content, toolCallId: m.toolCallId, copy });
  return copy;
}

/** A deep copy of plain data, frozen at every level; what is frozen already is kept as it is. */
function frozenCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy));
  const proto = Object.getPrototypeOf(value);
  // Class instances (a Date, a Buffer) are not plain data: keep them, unfrozen, rather than break them.
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = frozenCopy((value as Record<string, unknown>)[key]);
  return Object.freeze(copy);
}

/** From this many messages on, `update` tracks the indices a recipe writes instead of comparing after. */
const TRACK_FROM = 512;

/** The update whose recipe Immer is running (see `runRecipe`). */
interface RunningUpdate {
  readonly recipe: RequestRecipe;
  readonly info: { readonly original: ReadonlyModelRequest };
  readonly touched: Touched | undefined;
}
let running: RunningUpdate | undefined;

/** Immer's recipe for `CallCore.update`: the layer's recipe, on a draft that tracks which messages it wrote. */
function runRecipe(draft: Draft<ModelRequest>): unknown {
  const { recipe, info, touched } = running as RunningUpdate;
  if (!touched) return recipe(draft, info);
  const tracked = trackMessages(draft, touched);
  const result = recipe(tracked, info);
  if (result === tracked) return undefined;
  // A replacement value bypasses the tracker: check the whole array.
  if (result !== undefined) touched.all = true;
  return result;
}

/**
 * The request with a plain copy of its messages array if that array is frozen (a caller's frozen
 * history, or state Immer froze elsewhere). Immer copies a modified array with `slice()`, which V8
 * runs ~50× slower on a frozen array than on a plain one: 37 µs against 0.8 µs for a spread of
 * 1,000 messages here. The copy holds the same message objects, so nothing downstream can tell.
 */
function thawed(request: ReadonlyModelRequest): ReadonlyModelRequest {
  return Object.isFrozen(request.messages) ? { ...request, messages: [...request.messages] } : request;
}

// Immer's own errors, by message (development build) or number (production build's minified errors).
const IMMER_RULES: readonly [RegExp, string][] = [
  [
    /returned a new value \*and\* modified its draft|minified error nr: 4\b/,
    'it changed the draft and also returned a value (an arrow function such as `d => d.x = 1` returns the assignment: use braces, or `void`)',
  ],
  [
    /Object\.defineProperty\(\) cannot be used|minified error nr: 11\b/,
    'it called Object.defineProperty() on the draft; assign the property instead',
  ],
  [
    /Object\.setPrototypeOf\(\) cannot be used|minified error nr: 12\b/,
    'it called Object.setPrototypeOf() on the draft; drafts hold plain data, so build a plain object instead',
  ],
  [/revoked|minified error nr: 3\b/, 'it used a draft after the recipe returned (kept it for later, or in a callback)'],
];

/**
 * An error Immer raised because a recipe broke its rules becomes a MiddlewareError naming the layer;
 * anything the recipe itself threw passes through unchanged.
 */
function recipeError(error: unknown, layer: string, method: string): unknown {
  if (!(error instanceof Error) || !error.message.startsWith('[Immer]')) return error;
  const rule = IMMER_RULES.find(([pattern]) => pattern.test(error.message))?.[1] ?? error.message;
  return new MiddlewareError(
    layer,
    `\`${layer}\` broke the draft rule in ctx.${method}(): ${rule}. A recipe mutates the draft and returns nothing, or returns a replacement and touches nothing.`,
    { cause: error },
  );
}

export function enableInspection(): void {
  if (!patchesEnabled) {
    enablePatches();
    patchesEnabled = true;
  }
}
