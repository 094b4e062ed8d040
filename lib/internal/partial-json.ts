/**
 * The value a prefix of a JSON text describes so far, for `streamObject()`'s partial objects: an
 * open string is its characters so far, an open array or object holds its complete members (and a
 * last member that is itself partial), a key without a value is left out, and a number or literal
 * still being written is left out. Returns `undefined` when the prefix holds no value yet or is not
 * the beginning of a JSON text. Linear in the prefix's length; nesting is bounded by `maxDepth`
 * (past it the result is `undefined`), so a hostile answer cannot exhaust the stack.
 */
export function parsePartialJson(text: string, maxDepth = 256): unknown {
  const parser = new PartialParser(text, maxDepth);
  try {
    parser.skipSpace();
    const value = parser.value(0);
    return value === MISSING ? undefined : value;
  } catch (error) {
    if (error === INVALID) return undefined;
    throw error;
  }
}

/** A value not (yet) there: the prefix ends before it, or inside a number or literal. */
const MISSING = Symbol('missing');
const INVALID = Symbol('invalid');

class PartialParser {
  i = 0;

  constructor(
    readonly text: string,
    readonly maxDepth: number,
  ) {}

  get done(): boolean {
    return this.i >= this.text.length;
  }

  skipSpace(): void {
    const { text } = this;
    while (this.i < text.length) {
      const c = text.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else break;
    }
  }

  value(depth: number): unknown {
    if (depth > this.maxDepth) throw INVALID;
    if (this.done) return MISSING;
    const c = this.text[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string().value;
    return this.scalar();
  }

  object(depth: number): Record<string, unknown> {
    this.i++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skipSpace();
      if (this.done) return out;
      if (this.text[this.i] === '}') {
        this.i++;
        return out;
      }
      if (this.text[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.text[this.i] !== '"') throw INVALID;
      const key = this.string();
      if (!key.closed) return out;
      this.skipSpace();
      if (this.done) return out;
      if (this.text[this.i] !== ':') throw INVALID;
      this.i++;
      this.skipSpace();
      const value = this.value(depth + 1);
      if (value === MISSING) return out;
      // Defined, not assigned: a `__proto__` key stays an own key and never becomes the prototype.
      Object.defineProperty(out, key.value, { value, enumerable: true, writable: true, configurable: true });
    }
  }

  array(depth: number): unknown[] {
    this.i++;
    const out: unknown[] = [];
    for (;;) {
      this.skipSpace();
      if (this.done) return out;
      if (this.text[this.i] === ']') {
        this.i++;
        return out;
      }
      if (this.text[this.i] === ',') {
        this.i++;
        continue;
      }
      const value = this.value(depth + 1);
      if (value === MISSING) return out;
      out.push(value);
    }
  }

  string(): { value: string; closed: boolean } {
    const { text } = this;
    this.i++;
    let out = '';
    let start = this.i;
    while (this.i < text.length) {
      const c = text[this.i];
      if (c === '"') {
        out += text.slice(start, this.i);
        this.i++;
        return { value: out, closed: true };
      }
      if (c !== '\\') {
        this.i++;
        continue;
      }
      out += text.slice(start, this.i);
      const escaped = text[this.i + 1];
      if (escaped === undefined) {
        this.i = text.length;
        return { value: out, closed: false };
      }
      if (escaped === 'u') {
        const hex = text.slice(this.i + 2, this.i + 6);
        if (hex.length < 4) {
          this.i = text.length;
          return { value: out, closed: false };
        }
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw INVALID;
        out += String.fromCharCode(Number.parseInt(hex, 16));
        this.i += 6;
      } else {
        const plain = ESCAPES[escaped];
        if (plain === undefined) throw INVALID;
        out += plain;
        this.i += 2;
      }
      start = this.i;
    }
    return { value: out + text.slice(start), closed: false };
  }

  /** A number, `true`, `false` or `null`; MISSING while the prefix may still be writing it. */
  scalar(): unknown {
    const { text } = this;
    const start = this.i;
    while (this.i < text.length && !DELIMITERS.has(text[this.i] as string)) this.i++;
    const token = text.slice(start, this.i);
    // At the end of the prefix a token may be cut (`tr`, `12` of `123`): wait for its delimiter.
    if (this.done) return MISSING;
    if (token === 'true') return true;
    if (token === 'false') return false;
    if (token === 'null') return null;
    if (NUMBER.test(token)) return Number(token);
    throw INVALID;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};
const DELIMITERS = new Set([',', '}', ']', ' ', '\n', '\r', '\t']);
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
