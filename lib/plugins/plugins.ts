import { z } from 'zod';
import { type HookRegistry, knownHooks, lookupHook } from './hook-points.js';
import type { HookHandler, HookName } from './hook-points.js';
import type { HookSubject } from './hooks.js';
import { ConditionsSchema, type PluginConditions } from './conditions.js';

export type { PluginConditions };

/**
 * `sequential` may modify and block; `transform` may modify, its blocks are only logged; `audit`
 * sees the final payload, its changes are discarded and its blocks logged; `concurrent` runs in
 * parallel, may block (first block wins, the rest are aborted) and may not modify;
 * `fire_and_forget` runs in the background on a snapshot (`await manager.drain()`); `disabled`
 * never runs. Phases run in that order.
 */
export type PluginMode = 'sequential' | 'transform' | 'audit' | 'concurrent' | 'fire_and_forget' | 'disabled';
export const PLUGIN_MODES = ['sequential', 'transform', 'audit', 'concurrent', 'fire_and_forget', 'disabled'] as const;

/** `fail` rethrows (as `PluginError`), `ignore` logs and continues, `disable` logs and turns the plugin off. */
export type PluginErrorPolicy = 'fail' | 'ignore' | 'disable';

export interface BreakerOptions {
  /** Failures within `windowMs` that open the breaker. @default 5 */
  readonly failures?: number;
  /** @default 60_000 */
  readonly windowMs?: number;
  /** How long it stays open before one half-open probe is let through. @default 30_000 */
  readonly cooldownMs?: number;
}

export type PluginHooks = { readonly [H in HookName]?: HookHandler<H> };

export interface PluginSettings {
  /** Lower runs first; ties keep registration order. @default 100 */
  readonly priority?: number;
  /** @default 'sequential' */
  readonly mode?: PluginMode;
  /** @default 'fail' */
  readonly onError?: PluginErrorPolicy;
  /** Per handler call; a timeout aborts the handler's signal and counts as a failure. 0 = none. @default 5_000 */
  readonly timeoutMs?: number;
  /** Conditions or a predicate; the plugin's handlers run only when it holds. */
  readonly when?: PluginConditions | ((subject: HookSubject) => boolean);
  /** Open a circuit after repeated failures. @default false */
  readonly breaker?: BreakerOptions | boolean;
}

export interface PluginOptions extends PluginSettings {
  /** Unique within a manager; shown in errors, violations and logs. */
  readonly name: string;
  readonly hooks: PluginHooks;
  /** Runs when the plugin is registered; its handlers wait for it. */
  readonly init?: () => void | Promise<void>;
  /** Runs when the plugin is unregistered, its scope closes or the manager shuts down. */
  readonly shutdown?: () => void | Promise<void>;
}

const PLUGIN = Symbol.for('modelware.plugin');
const SET = Symbol.for('modelware.pluginSet');

/** A validated plugin (from `definePlugin`, a class instance, or a config file). */
export interface Plugin {
  readonly [PLUGIN]: true;
  readonly name: string;
  readonly priority: number;
  readonly mode: PluginMode;
  readonly onError: PluginErrorPolicy;
  readonly timeoutMs: number;
  readonly when: PluginSettings['when'];
  readonly breaker: Required<BreakerOptions> | undefined;
  /** Handlers by hook name. */
  readonly handlers: ReadonlyMap<string, (payload: unknown, ctx: unknown) => unknown>;
  readonly init: (() => void | Promise<void>) | undefined;
  readonly shutdown: (() => void | Promise<void>) | undefined;
}

/** Plugins grouped under one priority; sets nest. */
export interface PluginSet {
  readonly [SET]: true;
  readonly name: string;
  readonly priority: number;
  readonly plugins: readonly (Plugin | PluginSet)[];
}

/** A class whose `on_<hook>` methods are its handlers. */
export type ClassPluginHooks = { [H in HookName as `on_${H}`]?: HookHandler<H> };
export interface ClassPlugin extends PluginSettings, ClassPluginHooks {
  readonly name: string;
  init?(): void | Promise<void>;
  shutdown?(): void | Promise<void>;
}

/** Anything a manager, scope, set or run accepts as a plugin. */
export type PluginLike = Plugin | PluginSet | ClassPlugin | PluginOptions;

export const BreakerSchema = z.strictObject({
  failures: z.number().int().positive().optional(),
  windowMs: z.number().positive().optional(),
  cooldownMs: z.number().nonnegative().optional(),
});
export const SettingsShape = {
  priority: z.number().finite().optional(),
  mode: z.enum(PLUGIN_MODES).optional(),
  onError: z.enum(['fail', 'ignore', 'disable']).optional(),
  timeoutMs: z.number().nonnegative().optional(),
  when: z.union([ConditionsSchema, z.function()]).optional(),
  breaker: z.union([z.boolean(), BreakerSchema]).optional(),
};
const OptionsSchema = z.strictObject({
  ...SettingsShape,
  name: z.string().min(1),
  hooks: z.record(z.string(), z.function()),
  init: z.function().optional(),
  shutdown: z.function().optional(),
});

/**
 * Defines a plugin: handlers for hook points plus how they run. Options are validated here.
 *
 * @example
 * const policy = definePlugin({
 *   name: 'content-policy',
 *   hooks: { llm_input: (p) => (mentionsSecrets(p.request) ? block('secrets', 'POLICY_001') : undefined) },
 * });
 */
export function definePlugin(options: PluginOptions): Plugin {
  const where = `definePlugin(${typeof options?.name === 'string' ? `\`${options.name}\`` : ''})`;
  const parsed = OptionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError(where, parsed.error);
  const handlers = new Map<string, (payload: unknown, ctx: unknown) => unknown>();
  for (const [hook, fn] of Object.entries(options.hooks)) {
    assertHook(hook, where, `hooks.${hook}`);
    handlers.set(hook, fn as (payload: unknown, ctx: unknown) => unknown);
  }
  return build(options, handlers, options.init, options.shutdown);
}

function build(
  settings: { readonly [K in keyof PluginSettings]?: PluginSettings[K] | undefined } & { readonly name: string },
  handlers: Map<string, (payload: unknown, ctx: unknown) => unknown>,
  init: Plugin['init'],
  shutdown: Plugin['shutdown'],
): Plugin {
  const { breaker } = settings;
  return Object.freeze({
    [PLUGIN]: true as const,
    name: settings.name,
    priority: settings.priority ?? 100,
    mode: settings.mode ?? 'sequential',
    onError: settings.onError ?? 'fail',
    timeoutMs: settings.timeoutMs ?? 5_000,
    when: settings.when,
    breaker:
      breaker === undefined || breaker === false
        ? undefined
        : { failures: 5, windowMs: 60_000, cooldownMs: 30_000, ...(breaker === true ? {} : breaker) },
    handlers,
    init,
    shutdown,
  });
}

/**
 * Groups plugins under one priority: the set sorts among its siblings by `priority`, its members
 * by theirs within it. Sets nest.
 *
 * @example
 * const safety = pluginSet({ name: 'safety', priority: 10, plugins: [contentPolicy, piiRedactor] });
 */
export function pluginSet(options: {
  readonly name: string;
  readonly priority?: number;
  readonly plugins: readonly PluginLike[];
}): PluginSet {
  const where = `pluginSet(${typeof options?.name === 'string' ? `\`${options.name}\`` : ''})`;
  const parsed = z
    .strictObject({ name: z.string().min(1), priority: z.number().finite().optional(), plugins: z.array(z.unknown()) })
    .safeParse(options);
  if (!parsed.success) throw optionsError(where, parsed.error);
  return Object.freeze({
    [SET]: true as const,
    name: options.name,
    priority: options.priority ?? 100,
    plugins: Object.freeze(options.plugins.map((p) => toPluginOrSet(p, where))),
  });
}

/** Returns a copy of a plugin with some settings replaced (what a config entry does). */
export function withSettings(plugin: PluginLike, settings: PluginSettings & { readonly name?: string }): Plugin {
  const base = toPluginOrSet(plugin, 'withSettings()');
  if (isPluginSet(base)) throw new TypeError('withSettings(): expected a plugin, got a plugin set.');
  const parsed = z.strictObject({ ...SettingsShape, name: z.string().min(1).optional() }).safeParse(settings);
  if (!parsed.success) throw optionsError(`withSettings(\`${base.name}\`)`, parsed.error);
  const merged = { ...base, ...settings, breaker: settings.breaker ?? base.breaker ?? false };
  return build(merged, base.handlers as Map<string, never>, base.init, base.shutdown);
}

export function isPlugin(value: unknown): value is Plugin {
  return typeof value === 'object' && value !== null && (value as Plugin)[PLUGIN] === true;
}
export function isPluginSet(value: unknown): value is PluginSet {
  return typeof value === 'object' && value !== null && (value as PluginSet)[SET] === true;
}

// One normalised plugin per class instance, so breaker and disable state follow the instance.
const fromClasses = new WeakMap<object, Plugin>();

/** Normalises anything plugin-like; class instances are read for `on_<hook>` methods. */
export function toPluginOrSet(value: unknown, where: string): Plugin | PluginSet {
  if (isPlugin(value) || isPluginSet(value)) return value;
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `${where}: expected a plugin (definePlugin(), a plugin class instance or a set), got ${String(value)}.`,
    );
  }
  const cached = fromClasses.get(value);
  if (cached) return cached;
  if ('hooks' in value) return definePlugin(value as PluginOptions);
  const plugin = fromClass(value as ClassPlugin, where);
  fromClasses.set(value, plugin);
  return plugin;
}

function fromClass(instance: ClassPlugin, where: string): Plugin {
  const name = instance.name;
  const label = `${where}: class plugin \`${String(name ?? instance.constructor?.name)}\``;
  const parsed = z.object({ ...SettingsShape, name: z.string().min(1) }).safeParse({ ...pick(instance), name });
  if (!parsed.success) throw optionsError(label, parsed.error);
  const handlers = new Map<string, (payload: unknown, ctx: unknown) => unknown>();
  for (
    let proto = instance as object | null;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      const fn = (instance as unknown as Record<string, unknown>)[key];
      if (!key.startsWith('on_') || typeof fn !== 'function' || handlers.has(key.slice(3))) continue;
      assertHook(key.slice(3), label, key);
      handlers.set(key.slice(3), fn.bind(instance));
    }
  }
  if (handlers.size === 0) {
    throw new TypeError(`${label} has no on_<hook> methods; name them after hooks, e.g. on_llm_input().`);
  }
  const init = typeof instance.init === 'function' ? instance.init.bind(instance) : undefined;
  const shutdown = typeof instance.shutdown === 'function' ? instance.shutdown.bind(instance) : undefined;
  return build({ ...pick(instance), name }, handlers, init, shutdown);
}

function pick(instance: PluginSettings): PluginSettings {
  const out: Record<string, unknown> = {};
  for (const key of ['priority', 'mode', 'onError', 'timeoutMs', 'when', 'breaker'] as const) {
    if (instance[key] !== undefined) out[key] = instance[key];
  }
  return out as PluginSettings;
}

function assertHook(hook: string, where: string, field: string): asserts hook is keyof HookRegistry {
  if (lookupHook(hook)) return;
  throw new TypeError(
    `${where}: \`${field}\` names no hook \`${hook}\`. Known hooks: ${knownHooks().join(', ')}. Define custom hooks with defineHook() before plugins that use them.`,
  );
}

function optionsError(where: string, error: z.ZodError): TypeError {
  const issue = error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : '(options)';
  // A misspelt setting (`priorty`) would otherwise be dropped and its default used.
  if (issue?.code === 'unrecognized_keys') {
    const [key = ''] = issue.keys;
    const shown = /^[\w$]{1,40}$/.test(key) ? `\`${key}\`` : `a key of ${key.length} characters`;
    return new TypeError(`${where}: unknown option ${shown}${path === '(options)' ? '' : ` in \`${path}\``}.`);
  }
  return new TypeError(`${where}: \`${path}\`: ${issue?.message ?? 'invalid'}.`);
}
