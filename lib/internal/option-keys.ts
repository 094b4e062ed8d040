import { describeValue } from './options.js';

/**
 * @internal Rejects an options object that is not an object or has a key the function does not
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
