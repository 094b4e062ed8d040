/**
 * @internal Checks a duration option once, at factory time, the same way everywhere: a finite
 * number of ms (timers wait in chunks, see `setLongTimeout`, so any finite length works).
 */
export interface MsRule {
  /** `'positive'` (> 0) or `'non-negative'` (>= 0). @default 'positive' */
  readonly sign?: 'positive' | 'non-negative' | undefined;
  /** Whole ms only. @default false */
  readonly integer?: boolean | undefined;
  /** `Infinity` means "no bound" for this option. @default false */
  readonly infinite?: boolean | undefined;
  /** `undefined` means "not set". @default false */
  readonly optional?: boolean | undefined;
}

/** @internal Throws a `TypeError` naming `where`, the option and the value received. */
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
    throw new TypeError(`${where}: expected \`${option}\` to be ${expected}, got \`${String(value)}\`.`);
  }
}
