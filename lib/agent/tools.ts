import { z } from 'zod';
import type { RunContext } from '../core/context.js';
import { checkKeys, describeValue, optionNames } from '../internal/options.js';
import { type ToolSpec, ToolSpecSchema } from '../core/messages.js';

/** The second argument of a tool's `execute`. */
export interface ToolExecuteOptions {
  /** Aborts when the run is cancelled: stop work and reject with `signal.reason`. */
  readonly signal: AbortSignal;
  /** The id of the tool call being answered. */
  readonly toolCallId: string;
  /** The run this call belongs to. */
  readonly run: RunContext;
  /**
   * `<runId>:<toolCallId>`: the same for every execution of this call, also after a resume or
   * a re-delivery in another process. Pass it to the services the tool changes (as an
   * `Idempotency-Key` header, a unique column) so a repeated execution has no effect twice.
   */
  readonly idempotencyKey: string;
}

/** What a `needsApproval` predicate receives beside the parsed input. */
export interface NeedsApprovalContext {
  readonly toolCallId: string;
  readonly run: RunContext;
  readonly signal: AbortSignal;
}

/** What `tool()` takes. */
export interface ToolDefinition<Schema extends z.ZodType, Output> {
  /** 1–64 characters of a-z, A-Z, 0-9, `_` or `-`; unique within a run. */
  readonly name: string;
  /** Tells the model when and how to use the tool. */
  readonly description?: string | undefined;
  /** The arguments: a zod object schema. The model's arguments are parsed with it before `execute`. */
  readonly input: Schema;
  /**
   * Does the work. A string result is sent to the model as is; anything else as JSON. A throw
   * becomes an error result the model reads (unless the run sets `throwOnToolError`).
   */
  readonly execute: (input: z.output<Schema>, options: ToolExecuteOptions) => Output | Promise<Output>;
  /**
   * How long one `execute` may take, in ms. Past it the tool's `signal` aborts (with a
   * `TimeoutError` as reason), any late result is discarded, and the model reads an error result
   * saying the tool timed out (under `throwOnToolError` the run rejects instead). Overrides the
   * run's `toolTimeoutMs`.
   * @default the run's `toolTimeoutMs` (no limit unless the run sets one)
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Whether running the tool twice with the same input is safe (its side effects keyed by
   * `idempotencyKey`, say). A checkpointed run resumed after a crash runs an idempotent call that
   * started and has no result again; any other such call becomes an interruption for a person.
   * @default false
   */
  readonly idempotent?: boolean | undefined;
  /**
   * Whether a person must approve a call before it runs: `true`, or a predicate of the parsed
   * input. A call that needs approval does not run: the run ends with stop reason `interrupted`
   * once the turn's other calls are done, and continues with `runAgent({ resume })`. Input that
   * fails the schema needs no approval (the model reads the error, as usual).
   * @default false
   */
  readonly needsApproval?:
    | boolean
    | ((input: z.output<Schema>, context: NeedsApprovalContext) => boolean | Promise<boolean>)
    | undefined;
}

/** A tool, ready for `runAgent({ tools })`. */
export interface Tool<Schema extends z.ZodType = z.ZodType, Output = unknown> extends ToolDefinition<Schema, Output> {
  readonly description: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly needsApproval: NonNullable<ToolDefinition<Schema, Output>['needsApproval']>;
  readonly idempotent: boolean;
  /** What providers receive: the name, the description and the input's JSON Schema (from zod). */
  readonly spec: ToolSpec;
}

/** Any tool, whatever its input and output types. */
export type AnyTool = Tool<any, any>;

// `spec` too: `tool({ ...weather, timeoutMs: 5_000 })` derives a tool from another (its spec is rebuilt).
const TOOL_KEYS = optionNames<ToolDefinition<z.ZodType, unknown> & { spec: unknown }>({
  spec: true,
  name: true,
  description: true,
  input: true,
  execute: true,
  timeoutMs: true,
  idempotent: true,
  needsApproval: true,
});

/**
 * Defines a tool with a zod input schema. The JSON Schema providers see is derived from the
 * schema once, here; the arguments the model sends are parsed with it, and a parse failure becomes
 * an error result the model can read and correct.
 *
 * @example
 * const weather = tool({
 *   name: 'weather',
 *   description: 'Current weather for a city',
 *   input: z.object({ city: z.string() }),
 *   execute: async ({ city }, { signal }) => fetchWeather(city, { signal }),
 * });
 */
export function tool<Schema extends z.ZodType, Output>(
  definition: ToolDefinition<Schema, Output>,
): Tool<Schema, Output> {
  // A misspelt key (`needApproval`) would otherwise be dropped silently: a tool meant to wait for
  // a person would run at once.
  const named = typeof definition?.name === 'string' && /^[\w-]{1,64}$/.test(definition.name);
  checkKeys(named ? `tool() \`${definition.name}\`` : 'tool()', definition, TOOL_KEYS);
  const {
    name,
    description,
    input,
    execute,
    timeoutMs,
    needsApproval = false,
    idempotent = false,
  } = definition ?? ({} as ToolDefinition<Schema, Output>);
  if (!ToolSpecSchema.shape.name.safeParse(name).success) {
    throw new TypeError(
      `tool(): expected \`name\` to be 1-64 characters of a-z, A-Z, 0-9, _ or -, got ${describeValue(name)}.`,
    );
  }
  if (description !== undefined && typeof description !== 'string') {
    throw new TypeError(
      `tool() \`${name}\`: expected \`description\` to be a string, got ${describeValue(description)}.`,
    );
  }
  if (isZod3Schema(input)) {
    throw new TypeError(
      `tool() \`${name}\`: \`input\` is a zod 3 schema; modelware needs zod 4. Install it (npm install zod@^4) and import { z } from 'zod', or, staying on zod 3.25 in JavaScript, import { z } from 'zod/v4' (its types predate zod 4's: TypeScript needs zod 4 itself).`,
    );
  }
  if (!(input instanceof z.ZodType)) {
    throw new TypeError(
      `tool() \`${name}\`: expected \`input\` to be a zod schema (z.object({...})), got ${describeValue(input)}.`,
    );
  }
  if (typeof execute !== 'function') {
    throw new TypeError(`tool() \`${name}\`: expected \`execute\` to be a function, got ${describeValue(execute)}.`);
  }
  if (timeoutMs !== undefined && !isTimerMs(timeoutMs)) {
    throw new TypeError(
      `tool() \`${name}\`: expected \`timeoutMs\` to be a positive integer of at most ${MAX_TIMER_MS} (about 24.8 days), got ${describeValue(timeoutMs)}.`,
    );
  }
  if (typeof needsApproval !== 'boolean' && typeof needsApproval !== 'function') {
    throw new TypeError(
      `tool() \`${name}\`: expected \`needsApproval\` to be a boolean or a function (input, context) => boolean, got ${describeValue(needsApproval)}.`,
    );
  }
  let schema: Record<string, unknown>;
  try {
    // `io: 'input'`: the model sends the input side; fields with defaults are optional there.
    schema = z.toJSONSchema(input, { io: 'input' }) as Record<string, unknown>;
  } catch (error) {
    throw new TypeError(
      `tool() \`${name}\`: the \`input\` schema has no JSON Schema form (${(error as Error).message}). Use JSON-representable zod types.`,
      { cause: error },
    );
  }
  // The dialect marker is noise to providers (some reject it).
  delete schema.$schema;
  if (schema.type !== 'object') {
    throw new TypeError(
      `tool() \`${name}\`: expected \`input\` to describe an object (providers require one), got a schema of type \`${String(schema.type)}\`. Wrap it: z.object({ value: ... }).`,
    );
  }
  const spec: ToolSpec = Object.freeze(
    description === undefined ? { name, inputSchema: schema } : { name, description, inputSchema: schema },
  );
  if (typeof idempotent !== 'boolean') {
    throw new TypeError(
      `tool() \`${name}\`: expected \`idempotent\` to be a boolean, got ${describeValue(idempotent)}.`,
    );
  }
  return Object.freeze({ name, description, input, execute, spec, timeoutMs, needsApproval, idempotent });
}

/** @internal The longest delay `setTimeout` honours; a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** @internal A delay `setTimeout` honours as given: a positive integer up to `MAX_TIMER_MS`. */
export function isTimerMs(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0 && (value as number) <= MAX_TIMER_MS;
}

/** A zod 3 schema: it has `_def` and `safeParse` but not zod 4's `_zod` internals. */
function isZod3Schema(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    '_def' in value &&
    !('_zod' in value) &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}
