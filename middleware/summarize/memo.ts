import { createHash } from 'node:crypto';
import type { Immutable } from 'immer';
import type { Message } from '../../lib/core/messages.js';

const sha = (text: string) => createHash('sha256').update(text).digest('base64url');

/** A message's content hash, computed once per message object (messages keep their identity across turns). */
const contentHashes = new WeakMap<object, string>();

function contentHash(message: Immutable<Message>): string {
  let hash = contentHashes.get(message);
  if (hash === undefined) contentHashes.set(message, (hash = sha(JSON.stringify(message))));
  return hash;
}

/**
 * Prefix hashes: the hash of messages `[start, i)` for every `i`, chained from `seed`. Each
 * message remembers the chain value it extended and the result, so a run hashes each message once,
 * however many calls see it, while an edited earlier message changes every later prefix hash.
 */
export class PrefixHasher {
  readonly #links = new WeakMap<object, { readonly before: string; readonly after: string }>();

  constructor(readonly seed: string) {}

  hashes(messages: Immutable<Message[]>, start: number): string[] {
    const out: string[] = [this.seed];
    let current = this.seed;
    for (let i = start; i < messages.length; i++) {
      const message = messages[i] as Immutable<Message>;
      const link = this.#links.get(message);
      if (link !== undefined && link.before === current) current = link.after;
      else {
        const after = sha(`${current}:${contentHash(message)}`);
        this.#links.set(message, { before: current, after });
        current = after;
      }
      out.push(current);
    }
    return out;
  }
}

/**
 * Summaries by the prefix hash of what they cover, bounded (least recently used goes first), with
 * the computations in flight shared: two calls that need the same summary wait for one model call.
 */
export class SummaryMemo {
  readonly #done = new Map<string, string>();
  readonly #pending = new Map<string, Promise<string>>();

  constructor(readonly maxEntries: number) {}

  get(key: string): string | undefined {
    const value = this.#done.get(key);
    if (value !== undefined) {
      this.#done.delete(key);
      this.#done.set(key, value);
    }
    return value;
  }

  has(key: string): boolean {
    return this.#done.has(key);
  }

  compute(key: string, make: () => Promise<string>): Promise<string> {
    const known = this.get(key);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = make().then(
        (value) => {
          this.#pending.delete(key);
          this.#done.set(key, value);
          if (this.#done.size > this.maxEntries) this.#done.delete(this.#done.keys().next().value as string);
          return value;
        },
        (error: unknown) => {
          this.#pending.delete(key);
          throw error;
        },
      );
      this.#pending.set(key, pending);
    }
    return pending;
  }
}
