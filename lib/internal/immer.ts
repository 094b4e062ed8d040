import { Immer } from 'immer';

/**
 * The one Immer instance behind every draft modelware hands out. Auto-freeze is off because it
 * makes every produce() walk the whole tree (DESIGN §3); a private instance leaves the user's
 * global Immer settings untouched.
 */
export const immer = new Immer({ autoFreeze: false });
