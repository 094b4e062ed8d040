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
interface Derivation {
  readonly id: number;
  readonly parent: number;
  /** Derivations from the first recorded array of this family: the common ancestor is found by depth. */
  readonly depth: number;
  readonly changed: readonly number[];
  /** The length of the array this record describes. */
  readonly length: number;
}

const ids = new WeakMap<readonly unknown[], number>();

/** Enough for several concurrent runs; an evicted record only means a comparison by element. */
const RING = 1024;
const ring: (Derivation | undefined)[] = new Array(RING).fill(undefined);
let nextId = 1;

const NONE: readonly number[] = Object.freeze([]);

/** How many derivations a search follows before giving up. */
const MAX_STEPS = 16;
/** More indices than this and a plain comparison is about as cheap. */
const MAX_CHANGED = 256;

function idOf(array: readonly unknown[], parent: Derivation | undefined, changed: readonly number[]): Derivation {
  const id = nextId++;
  const record = { id, parent: parent?.id ?? 0, depth: (parent?.depth ?? -1) + 1, changed, length: array.length };
  ring[id % RING] = record;
  ids.set(array, id);
  return record;
}

function recordOf(array: readonly unknown[]): Derivation | undefined {
  const id = ids.get(array);
  return id === undefined ? undefined : lookup(id);
}

function lookup(id: number): Derivation | undefined {
  const record = ring[id % RING];
  return record?.id === id ? record : undefined;
}

export function recordDerivation(array: readonly unknown[], base: readonly unknown[], changed = NONE): void {
  if (array === base) return;
  idOf(array, recordOf(base) ?? idOf(base, undefined, NONE), changed);
}

/**
 * The indices below `min(a.length, b.length)` at which `a` and `b` may hold different elements,
 * sorted and without repeats; `undefined` when their recorded derivations do not meet (compare
 * element by element instead).
 */
export function changedBetween(a: readonly unknown[], b: readonly unknown[]): readonly number[] | undefined {
  if (a === b) return NONE;
  let x = recordOf(a);
  let y = recordOf(b);
  const limit = Math.min(a.length, b.length);
  let shortest = limit;
  const all: number[] = [];
  // Walk the deeper side up until both meet at their closest common ancestor, collecting what
  // changed on the way and the shortest array passed (elements past it may differ).
  for (let steps = 0; x && y && x !== y; steps++) {
    if (steps === MAX_STEPS || all.length > MAX_CHANGED) return undefined;
    const up: Derivation = x.depth >= y.depth ? x : y;
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
  return out;
}
