import { type Immutable, type Patch, freeze } from 'immer';
import type { CallCore } from './call-core.js';
import { MiddlewareError } from './errors.js';
import type { ReadonlyModelRequest } from './executor.js';
import type { Message } from './messages.js';
import { type CallObserver, notify, onUpdate } from './observe.js';
import { checkReplacements, requestError } from './validate.js';
import { checkKeys, describeValue } from '../internal/options.js';
import { frozenShallowCopy } from '../internal/frozen.js';
import {
  changedBetween,
  isValidArray,
  provenanceWanted,
  recordDerivation,
  wantProvenance,
} from '../internal/provenance.js';

/** Messages to put in place of the request's, by index: a `Map`, or any iterable of `[index, message]` pairs. */
export type MessageReplacements =
  | ReadonlyMap<number, Immutable<Message>>
  | Iterable<readonly [index: number, message: Immutable<Message>]>;

/** Options of `ctx.replaceMessages()`. */
export interface ReplaceMessagesOptions {
  /**
   * An array an earlier `ctx.replaceMessages()` returned (usually this layer's, on the previous call
   * of a run). Its replacements are kept wherever the message they replaced is still at the same
   * index (the same object), so a layer that replaces the same messages on every call passes only
   * the indices it decides anew: those `messagesChangedSince(current, previousInput)` lists, and new
   * ones. Where the message differs, the request's own message is sent unless `changes` says otherwise.
   * @default none: every index not in `changes` keeps the request's message
   */
  readonly previous?: ReadonlyModelRequest['messages'] | undefined;
}

const OPTION_KEYS = ['previous'] as const;

/** What the core knows of an array `replaceMessages` built. */
interface Built {
  /** The messages it was built from, index by index. */
  readonly base: readonly unknown[];
  /** Every replacement in it was checked against the message of `base` at its index. */
  readonly checked: boolean;
  /** Every replacement in it has the tool-call ids of the message it replaced (no pairing pass needed). */
  readonly idsKept: boolean;
}

/** Lets a subclass's private field be installed on any object (the constructor returns `target`). */
class Stamp {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point: `#built` below lands on `target`.
    return target as Stamp;
  }
}

/**
 * What the core knows of each array `replaceMessages` built, held by a private field on the array
 * itself. A replacement in it was checked against the message at its index, so carrying it over to
 * a later array where the same message sits at the same index needs no new check. Only this class
 * can install or read the field: an array a layer made (or a Proxy of one) cannot pass for one.
 * Not a WeakMap: an entry's value (the input array it holds) would outlive its key until a full GC,
 * promoting every call's input array, which made a 1,000-turn loop spend twice as long in the GC.
 */
class Stamped extends Stamp {
  readonly #built: Built;

  private constructor(target: unknown[], built: Built) {
    super(target);
    this.#built = built;
  }

  static stamp(target: unknown[], built: Built): void {
    new Stamped(target, built);
  }

  static of(value: unknown): Built | undefined {
    return typeof value === 'object' && value !== null && #built in value ? (value as Stamped).#built : undefined;
  }
}

/** @internal The core of `ctx.replaceMessages()`: see its JSDoc in context.ts. */
export function replaceMessages(
  core: CallCore,
  layer: string,
  changes: MessageReplacements,
  options: ReplaceMessagesOptions | undefined,
): ReadonlyModelRequest['messages'] {
  if (options !== undefined) checkKeys(`ctx.replaceMessages() in \`${layer}\``, options, OPTION_KEYS);
  const previous = options?.previous as readonly unknown[] | undefined;
  const before = core.request;
  const input = before.messages as readonly unknown[];
  const [indices, values] = collect(changes, input.length, layer);
  const from = previous === undefined ? undefined : Stamped.of(previous);
  if (previous !== undefined && from === undefined) {
    throw new MiddlewareError(
      layer,
      `ctx.replaceMessages() in \`${layer}\`: \`previous\` is not an array ctx.replaceMessages() returned. Pass the array it returned, or leave \`previous\` out and pass every replacement.`,
    );
  }
  const validate = core.settings.validate;
  let out: unknown[];
  if (from !== undefined && from.base === input && indices.length === 0 && (from.checked || !validate)) {
    // The same input as when `previous` was built and nothing new (a retry): the same array.
    out = previous as unknown[];
  } else {
    out = build(input, indices, values, previous, from, validate, layer);
  }
  if (core.settings.strict && out !== previous) {
    // What the layer handed in is frozen deeply, as an update's new parts are; the rest is already.
    for (const value of values) freeze(value, true);
    Object.freeze(out);
  }
  const after = frozenShallowCopy(before, 'messages', out as ReadonlyModelRequest['messages']);
  core.request = after;
  if (core.patches) pushPatches(core, layer, input, out);
  const observers: CallObserver[] | undefined = core.observers;
  if (observers !== undefined) notify(observers, onUpdate, { layer, target: 'request', before, after });
  return after.messages;
}

/** The new array: `previous` fitted to `input` (or `input`), the changes applied, checked and recorded. */
function build(
  input: readonly unknown[],
  indices: readonly number[],
  values: readonly unknown[],
  previous: readonly unknown[] | undefined,
  from: Built | undefined,
  validate: boolean,
  layer: string,
): unknown[] {
  let out: unknown[];
  let changed: readonly number[] | undefined;
  if (previous === undefined || from === undefined) out = input.slice();
  else {
    // From now on updates record which indices they touch, so the next call finds its changes fast.
    wantProvenance();
    changed = changedBetween(input, from.base);
    out = carryOver(previous, from.base, input, changed);
  }
  for (let k = 0; k < indices.length; k++) out[indices[k] as number] = values[k];

  let idsKept = false;
  if (validate) {
    // Only the indices given are new: a message carried over was checked against the same message at
    // the same index when it was put there, and every other index holds the input's own message.
    const result = checkReplacements(
      input,
      out,
      from && !from.checked ? out.keys() : indices,
      from !== undefined && !from.idsKept,
    );
    if (result.problem) throw requestError(result.problem, layer);
    idsKept = result.idsKept && (from === undefined || from.idsKept);
  }
  Stamped.stamp(out, { base: input, checked: validate, idsKept });
  if (provenanceWanted()) {
    // Against `previous` when the changes since it are known (a few indices per turn): a layer after
    // this one asking what changed since its last call then gets an answer without comparing.
    if (previous === undefined) recordDerivation(out, input, indices, { valid: validate && isValidArray(input) });
    else if (changed === undefined) recordDerivation(out, input, null, { valid: validate && isValidArray(input) });
    else {
      const listed = changedList(changed, indices, previous, out.length);
      recordDerivation(out, previous, listed, { valid: validate && isValidArray(input) });
    }
  }
  return out;
}

/** The changes as two parallel lists, each index checked (an integer within the request). */
function collect(changes: MessageReplacements, length: number, layer: string): [number[], unknown[]] {
  if (
    typeof changes !== 'object' ||
    changes === null ||
    typeof (changes as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new MiddlewareError(
      layer,
      `ctx.replaceMessages() in \`${layer}\`: expected a Map of index to message, or an iterable of [index, message] pairs, got ${describeValue(changes)}.`,
    );
  }
  const indices: number[] = [];
  const values: unknown[] = [];
  for (const pair of changes as Iterable<readonly [unknown, unknown]>) {
    const index = Array.isArray(pair) ? pair[0] : undefined;
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= length) {
      throw new MiddlewareError(
        layer,
        Array.isArray(pair)
          ? `ctx.replaceMessages() in \`${layer}\`: index ${describeValue(index)} is not a message of the request; expected an integer from 0 to ${length - 1} (it has ${length} messages). To add or remove messages, use ctx.update().`
          : `ctx.replaceMessages() in \`${layer}\`: expected [index, message] pairs, got ${describeValue(pair)}.`,
      );
    }
    indices.push(index as number);
    values.push(pair[1]);
  }
  return [indices, values];
}

/**
 * `previous` fitted to `input`: its entry wherever `input` holds the message `previous` was built
 * from at that index, `input`'s own elsewhere. `changed` lists the indices at which `input` and
 * `base` may differ (`undefined`: unknown, so every index is compared).
 */
function carryOver(
  previous: readonly unknown[],
  base: readonly unknown[],
  input: readonly unknown[],
  changed: readonly number[] | undefined,
): unknown[] {
  const length = input.length;
  const shared = Math.min(previous.length, length);
  // slice and push: \`concat\` takes a slow path on an array carrying a private field (~8x here).
  const out = previous.slice(0, shared);
  for (let i = shared; i < length; i++) out.push(input[i]);
  if (changed === undefined) {
    for (let i = 0; i < shared; i++) if (input[i] !== base[i]) out[i] = input[i];
  } else {
    for (const i of changed) if (i < shared && input[i] !== base[i]) out[i] = input[i];
  }
  return out;
}

/** The indices at which `out` may differ from `previous`: the changed ones, the given ones, and a longer tail. */
function changedList(
  changed: readonly number[],
  indices: readonly number[],
  previous: readonly unknown[],
  length: number,
): readonly number[] {
  const list = [...changed, ...indices];
  for (let i = previous.length; i < length; i++) list.push(i);
  return list;
}

/** With `inspect: true`: one `replace` patch per message that differs from the layer's input. */
function pushPatches(core: CallCore, layer: string, input: readonly unknown[], out: readonly unknown[]): void {
  const patches: Patch[] = [];
  const inversePatches: Patch[] = [];
  for (let i = 0; i < out.length; i++) {
    if (out[i] === input[i]) continue;
    patches.push({ op: 'replace', path: ['messages', i], value: out[i] });
    inversePatches.push({ op: 'replace', path: ['messages', i], value: input[i] });
  }
  if (patches.length > 0) core.patches?.push({ layer, target: 'request', patches, inversePatches });
}
