import { type Draft, type Immer, current, isDraft, isDraftable, original } from 'immer';
import type { Message } from '../../lib/core/messages.js';

/**
 * The messages draft a synchronous `transformContext` recipe writes to: a plain copy of the array
 * behind a Proxy. Writing an index, pushing or splicing costs what it costs on an array, where an
 * Immer array draft costs ~0.3–0.8 µs a write (its set trap, a map entry and a finaliser per
 * written value), which made the README's idiom (read `original`, write `draft[i]`) 20–80× slower
 * than hand-written code at 200 turns. Reading an element through the draft hands out an Immer
 * draft of that message, made on first read, so a nested edit (`draft[3].content = ...`) changes a
 * copy and never the caller's object, exactly as before.
 *
 * `finish()` turns it back into plain data: each element draft becomes its final value (the
 * original object when unmodified), and a draft nested in a value the recipe wrote (`{ ...draft[2] }`
 * holds a draft of its content array) becomes its current value first, as Immer does for a produce.
 */
export class MessagesDraft implements ProxyHandler<unknown[]> {
  readonly proxy: Draft<Message[]>;
  /** The array the recipe changes (through the proxy). */
  private readonly copy: unknown[];
  private readonly revoke: () => void;
  /** Element drafts handed out, in order of creation. */
  private drafts: Draft<object>[] | undefined;
  /** Objects the recipe wrote in: the only values, besides element drafts, that can hold a draft. */
  private written: Set<object> | undefined;
  /** Any write, delete or property definition on the array itself. */
  private changed = false;
  /** Indices written, while only indices were (no length change, delete or definition) and few. */
  private indices: number[] | undefined = [];

  constructor(
    private readonly immer: Immer,
    original: readonly Message[],
  ) {
    this.copy = [...original];
    // The instance is the handler (no closures per call). Revocable: a recipe that keeps the
    // draft cannot change the request after it was checked.
    const { proxy, revoke } = Proxy.revocable(this.copy, this);
    this.proxy = proxy as unknown as Draft<Message[]>;
    this.revoke = revoke;
  }

  get(target: unknown[], key: PropertyKey, receiver: unknown): unknown {
    if (typeof key !== 'string' || !isIndexKey(key)) return Reflect.get(target, key, receiver);
    const value = target[key as unknown as number];
    if (typeof value !== 'object' || value === null || isDraft(value) || !isDraftable(value)) return value;
    // A value the recipe wrote may hold drafts (`{ ...draft[i] }`): a draft of it must not.
    if (this.drafts && this.written?.has(value)) resolveNested(value, new Set());
    const draft = this.immer.createDraft(value);
    target[key as unknown as number] = draft;
    (this.drafts ??= []).push(draft);
    return draft;
  }

  set(target: unknown[], key: PropertyKey, value: unknown): boolean {
    this.changed = true;
    const indices = this.indices;
    if (indices !== undefined) {
      // `length` (push, splice) or a non-index key: the writes are no longer a list of slots.
      if (typeof key !== 'string' || !isIndexKey(key) || indices.length >= MAX_INDICES) this.indices = undefined;
      else indices.push(+key);
    }
    (target as unknown as Record<PropertyKey, unknown>)[key] = value;
    if (typeof value === 'object' && value !== null) (this.written ??= new Set()).add(value);
    return true;
  }

  deleteProperty(target: unknown[], key: PropertyKey): boolean {
    this.changed = true;
    this.indices = undefined;
    return Reflect.deleteProperty(target, key);
  }

  defineProperty(target: unknown[], key: PropertyKey, descriptor: PropertyDescriptor): boolean {
    this.changed = true;
    this.indices = undefined;
    return Reflect.defineProperty(target, key, descriptor);
  }

  /**
   * After `finish()` without a replacement: the indices the recipe wrote, if it only assigned a
   * few elements and read none through the draft (so the length is the original's), else
   * `undefined` (compare the arrays). May list an index whose value did not change.
   */
  writtenIndices(): readonly number[] | undefined {
    return this.drafts === undefined ? this.indices : undefined;
  }

  /**
   * The recipe's result as plain data, `undefined` when it changed nothing. With `replacement`
   * (what the recipe returned instead of changing the draft), that array with any drafts in it
   * finalised; `'both'` when the recipe also changed the draft. Revokes the draft.
   */
  finish(replacement?: readonly unknown[]): Message[] | 'both' | undefined {
    try {
      return this.finalise(replacement);
    } finally {
      this.revoke();
    }
  }

  private finalise(replacement: readonly unknown[] | undefined): Message[] | 'both' | undefined {
    const drafts = this.drafts;
    if (!drafts) {
      if (replacement) return this.changed ? 'both' : (replacement as Message[]);
      return this.changed ? (this.copy as Message[]) : undefined;
    }
    const out = replacement ? [...replacement] : this.copy;
    // Nested drafts first: finishing an element draft revokes the drafts inside it.
    const seen = new Set<object>();
    if (this.written) for (const value of this.written) resolveNested(value, seen);
    if (replacement) for (const value of out) resolveNested(value, seen);
    const ours = new Set<unknown>(drafts);
    for (let i = 0; i < out.length; i++) {
      const value = out[i];
      // A draft of part of a message put in a slot of its own (odd, and invalid, but not a crash).
      if (isDraft(value) && !ours.has(value)) out[i] = current(value);
    }
    const finals = new Map<unknown, unknown>();
    let modified = this.changed;
    for (const draft of drafts) {
      const base = original(draft);
      const final = this.immer.finishDraft(draft);
      if (final !== base) modified = true;
      finals.set(draft, final);
    }
    for (let i = 0; i < out.length; i++) {
      const final = finals.get(out[i]);
      if (final !== undefined) out[i] = final;
    }
    if (replacement) return modified ? 'both' : (out as Message[]);
    return modified ? (out as Message[]) : undefined;
  }
}

/** More written indices than this and the writes are compared as arrays. */
const MAX_INDICES = 16;

/** `'0'`..`'4294967294'`: a key the array stores as an element. Other keys (`length`, methods) pass. */
function isIndexKey(key: string): boolean {
  const code = key.charCodeAt(0);
  return code >= 48 && code <= 57;
}

/**
 * Replaces every draft inside `value` (an object the recipe built or moved) with its current
 * value, as Immer's produce does for new data that holds drafts; frozen data cannot hold any.
 */
function resolveNested(value: unknown, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || isDraft(value) || seen.has(value) || Object.isFrozen(value)) {
    return;
  }
  seen.add(value);
  const slots = value as Record<string, unknown>;
  for (const key of Object.keys(slots)) {
    const child = slots[key];
    if (typeof child !== 'object' || child === null) continue;
    if (isDraft(child)) slots[key] = current(child);
    else resolveNested(child, seen);
  }
}
