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
  return new Proxy(draft, new RootTracker(touched) as ProxyHandler<T>);
}

/**
 * Handlers are class instances, not object literals of arrow functions: an update makes one of
 * each, and closures per trap cost allocations on every `ctx.update` (its fixed cost is measured
 * against a bare Immer `produce`).
 */
class RootTracker implements ProxyHandler<object> {
  private wrapped: object | undefined = undefined;
  private wrappedArray: unknown = undefined;

  constructor(private readonly touched: Touched) {}

  get(target: object, key: PropertyKey): unknown {
    const value = (target as Record<PropertyKey, unknown>)[key];
    if (key !== 'messages' || typeof value !== 'object' || value === null) return value;
    // Keyed by the array: after `draft.messages = [...]` a cached wrapper would still point at the
    // old array, and writes through it would be lost.
    if (value !== this.wrappedArray) {
      this.wrappedArray = value;
      this.wrapped = new Proxy(value, new ArrayTracker(this.touched));
    }
    return this.wrapped;
  }

  set(target: object, key: PropertyKey, value: unknown): boolean {
    if (key === 'messages') this.touched.all = true;
    (target as Record<PropertyKey, unknown>)[key] = value;
    return true;
  }

  deleteProperty(target: object, key: PropertyKey): boolean {
    if (key === 'messages') this.touched.all = true;
    return Reflect.deleteProperty(target, key);
  }

  defineProperty(target: object, key: PropertyKey, descriptor: PropertyDescriptor): boolean {
    if (key === 'messages') this.touched.all = true;
    return Reflect.defineProperty(target, key, descriptor);
  }
}

// Methods that move or rewrite elements. Immer's optional array-methods plugin implements them on
// its internal state, past these traps, so they force the full check. push/pop only change the
// tail, which is always checked.
const REARRANGING = new Set(['shift', 'unshift', 'splice', 'sort', 'reverse', 'fill', 'copyWithin']);

class ArrayTracker implements ProxyHandler<object> {
  constructor(private readonly touched: Touched) {}

  get(target: object, key: PropertyKey): unknown {
    if (typeof key === 'string') {
      // An index is recorded; a method name is looked up only when it is not one.
      const code = key.charCodeAt(0);
      if (code >= 48 && code <= 57) this.touched.add(key);
      else if (REARRANGING.has(key)) this.touched.all = true;
    }
    return (target as Record<PropertyKey, unknown>)[key];
  }

  set(target: object, key: PropertyKey, value: unknown): boolean {
    if (typeof key === 'string') this.touched.add(key);
    (target as Record<PropertyKey, unknown>)[key] = value;
    return true;
  }

  deleteProperty(target: object, key: PropertyKey): boolean {
    this.touched.all = true;
    return Reflect.deleteProperty(target, key);
  }

  defineProperty(target: object, key: PropertyKey, descriptor: PropertyDescriptor): boolean {
    this.touched.all = true;
    return Reflect.defineProperty(target, key, descriptor);
  }
}
