import type { Document, LineCounter } from 'yaml';
import { z } from 'zod';
import { type IssuePath, PluginConfigError } from './errors.js';
import { BreakerSchema, PLUGIN_MODES, type PluginLike, type PluginSet, pluginSet, withSettings } from './plugins.js';
import { formatPath } from './validate.js';

/** Builds a plugin from a config entry's `options`, which `options` (a zod schema) validates first. */
export interface PluginFactory<O = any> {
  readonly options?: z.ZodType<O> | undefined;
  readonly create: (options: O) => PluginLike;
}

/** The named factories a config file may refer to. Config files name them; they never carry code. */
export type PluginFactories = Readonly<Record<string, PluginFactory>>;

/**
 * Declares a factory with typed options.
 *
 * @example
 * const factories = { 'token-budget': pluginFactory(z.object({ maxTokens: z.number() }), (o) => tokenBudget(o)) };
 */
export function pluginFactory<S extends z.ZodType>(
  options: S,
  create: (options: z.output<S>) => PluginLike,
): PluginFactory<z.output<S>> {
  return { options: options as z.ZodType<z.output<S>>, create };
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const EntrySchema = z.strictObject({
  /** The factory's registered name. */
  plugin: z.string().min(1),
  /** The instance's name. @default the plugin's own */
  name: z.string().min(1).optional(),
  mode: z.enum(PLUGIN_MODES).optional(),
  priority: z.number().finite().optional(),
  timeoutMs: z.number().nonnegative().optional(),
  onError: z.enum(['fail', 'ignore', 'disable']).optional(),
  breaker: z.union([z.boolean(), BreakerSchema]).optional(),
  when: z
    .strictObject({
      models: z.array(z.string().min(1)).optional(),
      tools: z.array(z.string().min(1)).optional(),
      metadata: z.record(z.string(), z.union([scalar, z.array(scalar)])).optional(),
    })
    .optional(),
  options: z.unknown().optional(),
});
const SetSchema = z.strictObject({
  set: z.string().min(1),
  priority: z.number().finite().optional(),
  plugins: z.array(z.unknown()),
});
const RootSchema = z.strictObject({
  version: z.literal(1).optional(),
  name: z.string().min(1).optional(),
  priority: z.number().finite().optional(),
  plugins: z.array(z.unknown()),
});

interface Source {
  readonly file: string;
  readonly lineOf: (path: IssuePath) => number | undefined;
}

function fail(source: Source, path: IssuePath, message: string, cause?: unknown): PluginConfigError {
  const line = source.lineOf(path);
  const where = `${source.file}${line === undefined ? '' : `:${line}`}`;
  return new PluginConfigError({
    file: source.file,
    path,
    line,
    cause,
    message: `${where}: ${formatPath(path)}: ${message}`,
  });
}

function check<T>(schema: z.ZodType<T>, value: unknown, path: IssuePath, source: Source): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const at = [...path, ...issue.path];
  const got =
    issue.code === 'unrecognized_keys' ? '' : ` (got ${JSON.stringify(valueAt(value, issue.path)) ?? 'nothing'})`;
  throw fail(source, at, `${issue.message}${got}.`);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path)
    v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

function buildItem(item: unknown, path: IssuePath, factories: PluginFactories, source: Source): PluginLike {
  if (typeof item === 'object' && item !== null && 'set' in item) {
    const set = check(SetSchema, item, path, source);
    const plugins = set.plugins.map((p, i) => buildItem(p, [...path, 'plugins', i], factories, source));
    return pluginSet({ name: set.set, plugins, ...(set.priority === undefined ? {} : { priority: set.priority }) });
  }
  const entry = check(EntrySchema, item, path, source);
  const factory = Object.hasOwn(factories, entry.plugin) ? factories[entry.plugin] : undefined;
  if (!factory) {
    const known = Object.keys(factories);
    throw fail(
      source,
      [...path, 'plugin'],
      `no plugin factory named \`${entry.plugin}\`. Registered: ${known.length > 0 ? known.join(', ') : '(none)'}.`,
    );
  }
  const options = factory.options
    ? check(factory.options, entry.options ?? {}, [...path, 'options'], source)
    : entry.options;
  const { plugin: _factory, options: _options, ...settings } = entry;
  try {
    return withSettings(factory.create(options), settings as Parameters<typeof withSettings>[1]);
  } catch (error) {
    throw fail(source, path, `plugin \`${entry.plugin}\` could not be built: ${(error as Error).message}`, error);
  }
}

function build(data: unknown, factories: PluginFactories, source: Source): PluginSet {
  const root = check(RootSchema, data, [], source);
  const plugins = root.plugins.map((item, i) => buildItem(item, ['plugins', i], factories, source));
  return pluginSet({
    name: root.name ?? source.file,
    plugins,
    ...(root.priority === undefined ? {} : { priority: root.priority }),
  });
}

/**
 * Builds a plugin set from config text: JSON, or YAML (which loads the `yaml` package on demand).
 * Entries name registered factories; nothing in the file is evaluated as code.
 */
export async function parsePluginConfig(
  text: string,
  options: { readonly file: string; readonly factories: PluginFactories; readonly format?: 'json' | 'yaml' },
): Promise<PluginSet> {
  const { file, factories } = options;
  const format = options.format ?? formatOf(file);
  if (format === 'json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new PluginConfigError({
        file,
        path: [],
        cause: error,
        message: `${file}: invalid JSON: ${(error as Error).message}`,
      });
    }
    return build(data, factories, { file, lineOf: () => undefined });
  }
  const yaml = await import('yaml');
  const lines = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter: lines, prettyErrors: false, schema: 'core', uniqueKeys: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const line = lines.linePos(problem.pos[0]).line;
    throw new PluginConfigError({
      file,
      path: [],
      line,
      cause: problem,
      message: `${file}:${line}: invalid YAML: ${problem.message}`,
    });
  }
  return build(doc.toJS({ maxAliasCount: 50 }), factories, { file, lineOf: (path) => lineOf(doc, lines, path) });
}

/**
 * Reads a `.json`, `.yaml` or `.yml` file and builds its plugin set.
 *
 * @example
 * manager.register(await loadPluginConfig('plugins.yaml', factories));
 */
export async function loadPluginConfig(file: string, factories: PluginFactories): Promise<PluginSet> {
  const format = formatOf(file);
  const { readFile } = await import('node:fs/promises');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PluginConfigError({
      file,
      path: [],
      cause: error,
      message: `${file}: cannot read the file: ${(error as Error).message}`,
    });
  }
  return parsePluginConfig(text, { file, factories, format });
}

function formatOf(file: string): 'json' | 'yaml' {
  if (/\.json$/i.test(file)) return 'json';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  throw new PluginConfigError({
    file,
    path: [],
    message: `${file}: unknown config format; use a .json, .yaml or .yml file (or pass \`format\`).`,
  });
}

function lineOf(doc: Document, lines: LineCounter, path: IssuePath): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
