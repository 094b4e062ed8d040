/**
 * Records which message indices a recipe touched, so validation checks those instead of walking
 * the whole array (a walk over 10,000 messages costs more than the Immer update itself). Every
 * path to the messages draft goes through the root draft's `messages` property, so wrapping that
 * one property sees every write. Reads of an index count too: the recipe may modify the child
 * draft it got. Anything structural (a new array, a length change, deletions, many indices) falls
 * back to the full walk.
 */
export class Touched {
  /** Touched indices, possibly repeated; meaningful only while `all` is false. */
  readonly indices: number[] = [];
  all = false;

  /** Records an index key; other keys (`length`, methods) are ignored: length changes are seen by comparing lengths. */
  add(key: string): void {
    if (this.all) return;
    const code = key.charCodeAt(0);
    if (code < 48 || code > 57) return;
    if (this.indices.length >= MAX_TRACKED) this.all = true;
    else this.indices.push(+key);
  }
}

const MAX_TRACKED = 64;

export function trackMessages<T extends object>(draft: T, touched: Touched): T {
  let wrapped: object | undefined;
  let wrappedArray: unknown;
  return new Proxy(draft, {
    get(target, key) {
      const value = (target as Record<PropertyKey, unknown>)[key];
      if (key !== 'messages' || typeof value !== 'object' || value === null) return value;
      // Keyed by the array: after `draft.messages = [...]` a cached wrapper would still point at the
      // old array, and writes through it would be lost.
      if (value !== wrappedArray) {
        wrappedArray = value;
        wrapped = wrapArray(value, touched);
      }
      return wrapped;
    },
    set(target, key, value) {
      if (key === 'messages') touched.all = true;
      (target as Record<PropertyKey, unknown>)[key] = value;
      return true;
    },
    deleteProperty(target, key) {
      if (key === 'messages') touched.all = true;
      return Reflect.deleteProperty(target, key);
    },
    defineProperty(target, key, descriptor) {
      if (key === 'messages') touched.all = true;
      return Reflect.defineProperty(target, key, descriptor);
    },
  });
}

// Methods that move or rewrite elements. Immer's optional array-methods plugin implements them on
// its internal state, past these traps, so they force the full check. push/pop only change the
// tail, which is always checked.
const REARRANGING = new Set(['shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin']);

function wrapArray(array: object, touched: Touched): object {
  return new Proxy(array, {
    get(target, key) {
      if (typeof key === 'string') {
        touched.add(key);
        if (REARRANGING.has(key)) touched.all = true;
      }
      return (target as Record<PropertyKey, unknown>)[key];
    },
    set(target, key, value) {
      if (typeof key === 'string') touched.add(key);
      (target as Record<PropertyKey, unknown>)[key] = value;
      return true;
    },
    deleteProperty(target, key) {
      touched.all = true;
      return Reflect.deleteProperty(target, key);
    },
    defineProperty(target, key, descriptor) {
      touched.all = true;
      return Reflect.defineProperty(target, key, descriptor);
    },
  });
}
