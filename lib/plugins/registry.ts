import { type Plugin, type PluginLike, type PluginMode, isPluginSet, toPluginOrSet } from './plugins.js';

/** One plugin's handler for one hook, with the plugin's place in the order. */
export interface Handler {
  readonly plugin: Plugin;
  readonly fn: (payload: unknown, ctx: unknown) => unknown;
  /** [priority, seq] per nesting level (set, then member): compared lexicographically. */
  readonly key: readonly number[];
}

export type ActiveMode = Exclude<PluginMode, 'disabled'>;
export const PHASES: readonly ActiveMode[] = ['sequential', 'transform', 'audit', 'concurrent', 'fire_and_forget'];

/** A hook's handlers grouped by mode, each group in run order. */
export type HandlerLists = { readonly [M in ActiveMode]: readonly Handler[] };

interface Entry {
  readonly plugin: Plugin;
  readonly key: readonly number[];
  readonly owner: object;
}

// Shared by every registry, so that ties between a manager's plugins and a run's keep the order
// in which they were registered.
let seq = 0;

export function compareKeys(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The plugins of one scope (a manager, or one run), indexed by hook. */
export class PluginRegistry {
  #entries: Entry[] = [];
  #index: Map<string, HandlerLists> | undefined;

  get plugins(): readonly Plugin[] {
    return this.#entries.map((e) => e.plugin);
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Flattens sets, checks names, and inserts in order. Returns the plugins added. */
  add(items: readonly PluginLike[], owner: object, where: string): Plugin[] {
    const added: Entry[] = [];
    const visit = (item: PluginLike, prefix: readonly number[]) => {
      const value = toPluginOrSet(item, where);
      const key = [...prefix, value.priority, seq++];
      if (isPluginSet(value)) {
        for (const member of value.plugins) visit(member, key);
        return;
      }
      if (value.mode === 'disabled') return;
      const clash = [...this.#entries, ...added].find((e) => e.plugin.name === value.name || e.plugin === value);
      if (clash) {
        throw new TypeError(
          `${where}: a plugin named \`${value.name}\` is already registered here. Give each plugin a unique name (withSettings(plugin, { name })).`,
        );
      }
      added.push({ plugin: value, key, owner });
    };
    for (const item of items) visit(item, []);
    this.#entries = [...this.#entries, ...added].sort((a, b) => compareKeys(a.key, b.key));
    this.#index = undefined;
    return added.map((e) => e.plugin);
  }

  /** Removes the plugins an owner added (or one plugin by name); returns them. */
  remove(match: object | string): Plugin[] {
    const removed = this.#entries.filter((e) =>
      typeof match === 'string' ? e.plugin.name === match : e.owner === match,
    );
    if (removed.length > 0) {
      this.#entries = this.#entries.filter((e) => !removed.includes(e));
      this.#index = undefined;
    }
    return removed.map((e) => e.plugin);
  }

  /** Removes every plugin; returns them. */
  clear(): Plugin[] {
    const all = this.#entries.map((e) => e.plugin);
    this.#entries = [];
    this.#index = undefined;
    return all;
  }

  find(name: string): Plugin | undefined {
    return this.#entries.find((e) => e.plugin.name === name)?.plugin;
  }

  /** The handlers for a hook, or `undefined` when none: the zero-cost check. */
  lists(hook: string): HandlerLists | undefined {
    this.#index ??= this.#build();
    return this.#index.get(hook);
  }

  #build(): Map<string, HandlerLists> {
    const index = new Map<string, { [M in ActiveMode]: Handler[] }>();
    for (const { plugin, key } of this.#entries) {
      for (const [hook, fn] of plugin.handlers) {
        let lists = index.get(hook);
        if (!lists) {
          lists = { sequential: [], transform: [], audit: [], concurrent: [], fire_and_forget: [] };
          index.set(hook, lists);
        }
        lists[plugin.mode as ActiveMode].push({ plugin, fn, key });
      }
    }
    return index;
  }
}

/** Merges two scopes' lists for one mode, keeping the global order. */
export function mergeLists(a: readonly Handler[], b: readonly Handler[]): readonly Handler[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: Handler[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    out.push(
      compareKeys((a[i] as Handler).key, (b[j] as Handler).key) <= 0 ? (a[i++] as Handler) : (b[j++] as Handler),
    );
  }
  while (i < a.length) out.push(a[i++] as Handler);
  while (j < b.length) out.push(b[j++] as Handler);
  return out;
}
