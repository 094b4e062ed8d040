/**
 * Option checks run once, at factory time, the same way everywhere. Each throws a
 * `TypeError` that says where (`retry()`), which option, what it expects and what it got:
 * ``retry(): expected `retries` to be a non-negative integer, got number `-1`.``
 * What it got is printed by `describeValue`, which names the kind of value and shows only short
 * one-line strings, so a misplaced prompt or document never lands in a message.
 */

/** The longest string `describeValue` shows; longer ones are described by their length. */
const MAX_SHOWN_CHARS = 40;

/** A short description of a value for error messages: its kind and, where short, the value. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return `\`${value}\``;
  if (typeof value === 'function') return `a function \`${value.name || 'anonymous'}\``;
  if (Array.isArray(value)) {
    // A short list of short strings or numbers (model ids, scopes) is shown: it says which is wrong.
    const shown = value.length > 0 && value.length <= 8 && value.every((v) => isShown(v) || typeof v === 'number');
    return shown ? `an array \`${JSON.stringify(value)}\`` : `an array of length ${value.length}`;
  }
  if (typeof value === 'object') return `an object with keys [${Object.keys(value).slice(0, 5).join(', ')}]`;
  if (typeof value === 'string' && !isShown(value)) return `a string of ${value.length} characters`;
  return `${typeof value} \`${String(value)}\``;
}

function isShown(value: unknown): boolean {
  return typeof value === 'string' && value.length <= MAX_SHOWN_CHARS && !/[\r\n`]/.test(value);
}

/** Throws the option `TypeError`: ``<where>: expected `<option>` to be <expected>, got <value>.`` */
export function failOption(where: string, option: string, expected: string, value: unknown): never {
  throw new TypeError(`${where}: expected \`${option}\` to be ${expected}, got ${describeValue(value)}.`);
}

/** How a numeric option is bounded. */
export interface NumberRule {
  /** `'positive'` (> 0) or `'non-negative'` (>= 0). @default 'positive' */
  readonly sign?: 'positive' | 'non-negative' | undefined;
  /** `undefined` means "not set". @default false */
  readonly optional?: boolean | undefined;
}

/** A finite number, > 0 (or >= 0 with `sign: 'non-negative'`). */
export function checkNumber(where: string, option: string, value: unknown, rule: NumberRule = {}): void {
  const { sign = 'positive', optional = false } = rule;
  if (value === undefined && optional) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || !(sign === 'positive' ? value > 0 : value >= 0)) {
    failOption(where, option, `a ${sign} number`, value);
  }
}

/** A safe integer, > 0 (or >= 0 with `sign: 'non-negative'`). */
export function checkInteger(where: string, option: string, value: unknown, rule: NumberRule = {}): void {
  const { sign = 'positive', optional = false } = rule;
  if (value === undefined && optional) return;
  if (!Number.isSafeInteger(value) || !(sign === 'positive' ? (value as number) > 0 : (value as number) >= 0)) {
    failOption(where, option, `a ${sign} integer`, value);
  }
}

/**
 * Checks a duration option: a finite number of ms (timers wait in chunks, see `setLongTimeout`,
 * so any finite length works).
 */
export interface MsRule extends NumberRule {
  /** Whole ms only. @default false */
  readonly integer?: boolean | undefined;
  /** `Infinity` means "no bound" for this option. @default false */
  readonly infinite?: boolean | undefined;
}

/** A duration in ms; see `MsRule`. */
export function checkMs(where: string, option: string, value: unknown, rule: MsRule = {}): void {
  const { sign = 'positive', integer = false, infinite = false, optional = false } = rule;
  if (value === undefined && optional) return;
  const ok =
    typeof value === 'number' &&
    (value === Number.POSITIVE_INFINITY
      ? infinite
      : Number.isFinite(value) &&
        (sign === 'positive' ? value > 0 : value >= 0) &&
        (!integer || Number.isSafeInteger(value)));
  if (!ok) {
    const expected = `a ${sign} ${integer ? 'integer' : 'number'} of ms${infinite ? ' (or Infinity for no bound)' : ''}`;
    failOption(where, option, expected, value);
  }
}

/** A function; `signature` shows its shape in the message, e.g. `'(text) => number'`. */
export function checkFunction(
  where: string,
  option: string,
  value: unknown,
  signature = '',
  rule: { readonly optional?: boolean | undefined } = {},
): void {
  if (value === undefined && rule.optional) return;
  if (typeof value !== 'function')
    failOption(where, option, signature ? `a function ${signature}` : 'a function', value);
}

/** A boolean. */
export function checkBoolean(
  where: string,
  option: string,
  value: unknown,
  rule: { readonly optional?: boolean | undefined } = {},
): void {
  if (value === undefined && rule.optional) return;
  if (typeof value !== 'boolean') failOption(where, option, 'a boolean', value);
}

/** How a string option is bounded. */
export interface StringRule {
  /** Reject `''`. @default true */
  readonly nonEmpty?: boolean | undefined;
  /** What the string is, for the message, e.g. `'model id string'`. @default 'string' */
  readonly noun?: string | undefined;
  /** `undefined` means "not set". @default false */
  readonly optional?: boolean | undefined;
}

/** A string, non-empty unless `nonEmpty: false`. */
export function checkString(where: string, option: string, value: unknown, rule: StringRule = {}): void {
  const { nonEmpty = true, noun = 'string', optional = false } = rule;
  if (value === undefined && optional) return;
  if (typeof value !== 'string' || (nonEmpty && value.length === 0)) {
    failOption(where, option, `a ${nonEmpty ? 'non-empty ' : ''}${noun}`, value);
  }
}

/** `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`: the choices as a message lists them. */
export function listChoices(choices: readonly string[]): string {
  const quoted = choices.map((c) => `'${c}'`);
  return quoted.length < 2 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** One of a fixed set of strings. */
export function checkOneOf<const T extends string>(
  where: string,
  option: string,
  value: unknown,
  choices: readonly T[],
  rule: { readonly optional?: boolean | undefined } = {},
): void {
  if (value === undefined && rule.optional) return;
  if (!(choices as readonly unknown[]).includes(value)) failOption(where, option, listChoices(choices), value);
}

/**
 * The option names of an options interface, for `checkKeys`. Listed as an object with every name
 * set to `true`, so the compiler checks the list against the interface both ways: a name the
 * interface lacks is an excess property, an option the list forgets is a missing one.
 *
 * @example
 * const KEYS = optionNames<AuditOptions>({ sink: true, name: true });
 * checkKeys('audit()', options, KEYS);
 */
export function optionNames<T extends object>(
  names: { readonly [K in keyof T]-?: true },
): readonly (keyof T & string)[] {
  return Object.freeze(Object.keys(names)) as (keyof T & string)[];
}

/**
 * Rejects an options object that is not an object or has a key the function does not
 * know (a typo such as `treshold` would otherwise be ignored silently). The message names the key
 * (option names are ours, never user content) and the nearest known one.
 */
export function checkKeys(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: expected an options object, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const shown = /^[\w$]{1,40}$/.test(key) ? `\`${key}\`` : `a key of ${key.length} characters`;
    const near = known.find((k) => closeTo(k, key));
    throw new TypeError(
      `${where}: unknown option ${shown}${near ? ` (did you mean \`${near}\`?)` : ''}. Known options: ${known.join(', ')}.`,
    );
  }
}

/** At most one edit (insert, delete, replace) or one swap of neighbours apart. */
function closeTo(a: string, b: string): boolean {
  if (a === b || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.slice(i + 1) === b.slice(i + 1) || a.slice(i) === b.slice(i + 1) || a.slice(i + 1) === b.slice(i)) return true;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}
