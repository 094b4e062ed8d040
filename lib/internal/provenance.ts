/**
 * @internal Where a message array the library made came from. In an agent loop each call's messages
 * are the previous call's plus a few appended, with the same few indices rewritten by the same
 * transforms; a layer that keeps per-call results (compaction) can ask which indices differ between
 * this call's array and the last one's instead of comparing every element.
 *
 * A derivation promises: below the shorter of the two lengths, an element not listed in `changed`
 * is the same object in both arrays. Listing an index that did not change is allowed. Only arrays
 * nobody changes in place afterwards are recorded: the transcript versions, and Immer's output.
 *
 * Arrays are linked by number, through a ring of the latest records, never by reference: a link
 * from each version to the one before would keep every version of a long transcript alive (a
 * `WeakRef` does too, until the job ends, and a whole run of an agent can be one job).
 */
interface ArrayRecord {
  readonly id: number;
  readonly parent: number;
  /** Derivations from the first recorded array of this family: the common ancestor is found by depth. */
  readonly depth: number;
  /** Indices that may differ from the parent; `null`: unknown, a search stops here. */
  readonly changed: readonly number[] | null;
  /** The length of the array this record describes. */
  readonly length: number;
  /** Checked as a whole: every message and the tool pairing. */
  valid: boolean;
}

/**
 * One record per array, holding everything the library knows of it: one WeakMap entry, since an
 * entry for a fresh array costs ~400 ns (and a weak table is more work for every GC).
 */
const records = new WeakMap<readonly unknown[], ArrayRecord>();

/** Enough for several concurrent runs; an evicted record only means a comparison by element. */
const RING = 1024;
const ring: (ArrayRecord | undefined)[] = new Array(RING).fill(undefined);
let nextId = 1;

const NONE: readonly number[] = Object.freeze([]);

/** How many derivations a search follows before giving up. */
const MAX_STEPS = 16;
/** More indices than this and a plain comparison is about as cheap. */
const MAX_CHANGED = 256;

/**
 * The last answer of `changedBetween`, forgotten whenever a record is made: a layer and the core
 * (`ctx.replaceMessages` with `previous`) ask the same question one after the other.
 */
let lastA: readonly unknown[] | undefined;
let lastB: readonly unknown[] | undefined;
let lastAnswer: readonly number[] | undefined;

function record(
  array: readonly unknown[],
  parent: ArrayRecord | undefined,
  changed: readonly number[] | null,
  valid: boolean,
): ArrayRecord {
  lastA = undefined;
  const id = nextId++;
  const depth = (parent?.depth ?? -1) + 1;
  const entry: ArrayRecord = { id, parent: parent?.id ?? 0, depth, changed, length: array.length, valid };
  ring[id % RING] = entry;
  records.set(array, entry);
  return entry;
}

function lookup(id: number): ArrayRecord | undefined {
  const entry = ring[id % RING];
  return entry?.id === id ? entry : undefined;
}

let wanted = false;

/**
 * Called by a layer that will ask `changedBetween` (compaction). Until then, `ctx.update` records
 * nothing: an entry costs ~400 ns, a third of an update of a short request.
 */
export function wantProvenance(): void {
  wanted = true;
}

/** Whether any layer asks for provenance, so that updates should record it. */
export function provenanceWanted(): boolean {
  return wanted;
}

export interface DerivationFacts {
  /** The new array is valid as a whole. @default false */
  readonly valid?: boolean;
}

/**
 * Records that `array` was made from `base`, differing at most at the `changed` indices below the
 * shorter length (`null`: anywhere). Only for arrays never changed in place afterwards.
 */
export function recordDerivation(
  array: readonly unknown[],
  base: readonly unknown[],
  changed: readonly number[] | null,
  facts: DerivationFacts = {},
): void {
  if (array === base) return;
  const parent = records.get(base) ?? record(base, undefined, NONE, false);
  record(array, parent, changed, facts.valid ?? false);
}

/** Records a message array as valid as a whole. Only for arrays never changed in place. */
export function markValid(array: readonly unknown[]): void {
  const entry = records.get(array);
  if (entry) entry.valid = true;
  else record(array, undefined, NONE, true);
}

export function isValidArray(array: readonly unknown[]): boolean {
  return records.get(array)?.valid === true;
}

/**
 * The indices below `min(a.length, b.length)` at which `a` and `b` may hold different elements,
 * sorted and without repeats; `undefined` when their recorded derivations do not meet (compare
 * element by element instead).
 */
export function changedBetween(a: readonly unknown[], b: readonly unknown[]): readonly number[] | undefined {
  if (a === b) return NONE;
  if (a === lastA && b === lastB) return lastAnswer;
  lastAnswer = search(a, b);
  lastA = a;
  lastB = b;
  return lastAnswer;
}

function search(a: readonly unknown[], b: readonly unknown[]): readonly number[] | undefined {
  let x = records.get(a);
  let y = records.get(b);
  const limit = Math.min(a.length, b.length);
  let shortest = limit;
  const all: number[] = [];
  // Walk the deeper side up until both meet at their closest common ancestor, collecting what
  // changed on the way and the shortest array passed (elements past it may differ).
  for (let steps = 0; x && y && x !== y; steps++) {
    if (steps === MAX_STEPS || all.length > MAX_CHANGED) return undefined;
    const up: ArrayRecord = x.depth >= y.depth ? x : y;
    if (!up.changed) return undefined;
    for (const i of up.changed) all.push(i);
    const parent = lookup(up.parent);
    if (parent) shortest = Math.min(shortest, parent.length);
    if (up === x) x = parent;
    else y = parent;
  }
  if (!x || x !== y) return undefined;
  if (all.length + (limit - shortest) > MAX_CHANGED) return undefined;
  for (let i = shortest; i < limit; i++) all.push(i);
  return uniqueBelow(all, limit);
}

function uniqueBelow(indices: number[], limit: number): readonly number[] {
  if (indices.length === 0) return NONE;
  indices.sort((x, y) => x - y);
  const out: number[] = [];
  for (const i of indices) if (i < limit && i !== out[out.length - 1]) out.push(i);
  // Frozen: the same answer goes to a layer (messagesChangedSince) and to the core, which trusts it.
  return Object.freeze(out);
}

/**
 * The indices below the shorter length at which `current` and `previous` (two versions of a
 * request's messages, for example this call's and the previous call's) may hold different
 * messages, sorted; `undefined` when that is not known, and the caller compares element by element.
 * The first call turns recording on, so it returns `undefined` until later updates are recorded:
 * nothing is recorded (and nothing costs) until some layer asks.
 */
export function messagesChangedSince(
  current: readonly unknown[],
  previous: readonly unknown[],
): readonly number[] | undefined {
  if (!wanted) {
    wanted = true;
    return current === previous ? NONE : undefined;
  }
  return changedBetween(current, previous);
}
