import { describeValue } from '../../lib/kit.js';

/** Rejects an options object that is not a plain object or has a key the factory does not know (a typo). */
export function checkKeys(where: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${where}: expected an options object, got ${describeValue(options)}.`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const shown = /^[A-Za-z_$][\w$]{0,40}$/.test(key) ? `\`${key}\`` : 'a key';
      throw new TypeError(
        `${where}: unknown option ${shown}. Known options: ${known.map((k) => `\`${k}\``).join(', ')}.`,
      );
    }
  }
}
