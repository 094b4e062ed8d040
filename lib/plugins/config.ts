import type { Document, LineCounter } from 'yaml';
import { z } from 'zod';
import { type IssuePath, PluginConfigError } from '../core/errors.js';
import { BreakerSchema, PLUGIN_MODES, type PluginLike, type PluginSet, pluginSet, withSettings } from './plugins.js';
import { formatPath } from '../core/validate.js';

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
  // The kind of value, never the value: config values can hold secrets, and errors reach logs.
  const got =
    issue.code === 'unrecognized_keys' || issue.code === 'invalid_type'
      ? ''
      : ` (got ${kindOf(valueAt(value, issue.path))})`;
  throw fail(source, at, `${issue.message}${got}.`, result.error);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const key of path)
    v =
      typeof v === 'object' && v !== null && Object.hasOwn(v, key)
        ? (v as Record<PropertyKey, unknown>)[key]
        : undefined;
  return v;
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
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
      `no plugin factory has this name. Registered: ${known.length > 0 ? known.join(', ') : '(none)'}.`,
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
      const { line, detail } = jsonProblem(text, error);
      throw new PluginConfigError({
        file,
        path: [],
        line,
        cause: error,
        message: `${file}${line === undefined ? '' : `:${line}`}: invalid JSON: ${detail}.`,
      });
    }
    return build(data, factories, { file, lineOf: () => undefined });
  }
  const yaml = await import('yaml');
  const lines = new yaml.LineCounter();
  let doc: Document;
  let data: unknown;
  try {
    doc = yaml.parseDocument(text, { lineCounter: lines, prettyErrors: false, schema: 'core', uniqueKeys: true });
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
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    if (PluginConfigError.isInstance(error)) throw error;
    // The parser's own limits (alias expansion, nesting) throw plain ReferenceError / RangeError.
    const excessive = error instanceof ReferenceError && /alias/i.test(error.message);
    throw new PluginConfigError({
      file,
      path: [],
      cause: error,
      message: excessive
        ? `${file}: invalid YAML: its aliases (\`*name\`) expand to more than ${MAX_ALIAS_COUNT} times the anchored nodes, the limit that stops alias bombs. Repeat the values instead of aliasing them, or split the file.`
        : `${file}: invalid YAML: the parser failed (${(error as Error)?.name ?? typeof error}). Simplify the file (nesting, size).`,
    });
  }
  const parsed = doc;
  return build(data, factories, { file, lineOf: (path) => lineOf(parsed, lines, path) });
}

/** How many nodes aliases may expand to, per anchored node (the `yaml` package's `maxAliasCount`). */
const MAX_ALIAS_COUNT = 50;

/**
 * Where and what went wrong in JSON, without the text: V8's messages quote the source around the
 * problem (`Unexpected token 'x', "{"key": x…" is not valid JSON`), and config values can be secrets.
 */
function jsonProblem(text: string, error: unknown): { line: number | undefined; detail: string } {
  const message = error instanceof Error ? error.message : String(error);
  const given = /at position (\d+)/.exec(message)?.[1];
  const position = given === undefined ? failingPrefix(text) : Number(given);
  const line = position === undefined ? undefined : lineAt(text, position);
  const detail = message
    .replace(/,\s*".*" is not valid JSON$/s, '')
    .replace(/^Unexpected token .*/s, 'unexpected token')
    .replace(/ in JSON at position \d+.*$/s, '')
    .replace(/ after JSON at position \d+.*$/s, ' after the JSON value');
  return { line, detail };
}

/**
 * Where JSON.parse fails when its message does not say (`Unexpected token`): the shortest prefix
 * that fails other than by ending early. Prefixes fail that way from the bad character on, so a
 * binary search finds it in O(n log n).
 */
function failingPrefix(text: string): number | undefined {
  const failsHere = (length: number) => {
    try {
      JSON.parse(text.slice(0, length));
      return false;
    } catch (error) {
      // Running out of text reads "Unexpected end", or names a position at the very end.
      const message = (error as Error).message;
      const at = /at position (\d+)/.exec(message)?.[1];
      return !message.includes('Unexpected end') && (at === undefined || Number(at) < length);
    }
  };
  if (!failsHere(text.length)) return undefined;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (failsHere(mid)) high = mid;
    else low = mid + 1;
  }
  return high - 1;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
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
