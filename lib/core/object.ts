import { z } from 'zod';
import { checkKeys, describeValue, optionNames } from '../internal/options.js';
import { parsePartialJson } from '../internal/partial-json.js';
import { BufferLimitError, OutputValidationError } from './errors.js';
import { assertExecutor, type Executor } from './executor.js';
import { type ModelRequest, type ModelResponse, textOf } from './messages.js';
import { jsonResponseFormat } from './response-format.js';
import { ResponseAssembler, executorStream, partChars } from './stream.js';

/** A value as it streams in: every property, at any depth, may still be missing. */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * What `generateObject()` and `streamObject()` take: the request's fields (`model` may be left
 * out when the executor has a `defaultModel`), the zod schema of the answer, and the call's signal.
 */
export interface GenerateObjectOptions<S extends z.ZodType> extends Omit<ModelRequest, 'model' | 'responseFormat'> {
  /** The model id. @default the executor's `defaultModel` */
  readonly model?: string | undefined;
  /** The zod schema the answer must match; sent as `request.responseFormat` (see `jsonResponseFormat`). */
  readonly schema: S;
  /** The schema's name for the provider. @default 'response' */
  readonly name?: string | undefined;
  /** What the answer is, for the model. @default the schema's `.describe()` text, if any */
  readonly description?: string | undefined;
  /** Ask the provider to enforce the schema exactly (OpenAI strict mode). @default true */
  readonly strict?: boolean | undefined;
  /** Aborts the call. @default undefined */
  readonly signal?: AbortSignal | undefined;
  /**
   * `streamObject()` only: the longest answer, in characters, it reads; past it the stream stops
   * with `BufferLimitError`. @default 4_000_000
   */
  readonly maxChars?: number | undefined;
}

/** The parsed answer of `generateObject()`, typed from the schema, with the response it came from. */
export interface GenerateObjectResult<T> {
  /** The answer parsed and validated by the schema (its output type: transforms applied). */
  readonly object: T;
  readonly response: ModelResponse;
}

/** What `streamObject()` yields: partial objects as the JSON streams in, then the validated object. */
export type ObjectStreamEvent<T, P = unknown> =
  | { readonly type: 'partial'; readonly partial: DeepPartial<P> }
  | { readonly type: 'object'; readonly object: T; readonly response: ModelResponse };

const KEYS = optionNames<GenerateObjectOptions<z.ZodType>>({
  model: true,
  messages: true,
  tools: true,
  options: true,
  metadata: true,
  schema: true,
  name: true,
  description: true,
  strict: true,
  signal: true,
  maxChars: true,
});

/**
 * Asks for JSON matching a zod schema and returns it parsed, typed from the schema. The schema goes
 * to the provider as `request.responseFormat` (natively where the adapter supports it), the answer
 * is parsed (a Markdown code fence around it is accepted) and validated by the schema. An answer
 * that does not parse or match rejects with `OutputValidationError` (`text` and `issues` on the
 * error, never in its message); for repairs, add `validateOutput()` to the pipeline.
 *
 * @example
 * const { object } = await generateObject(app, { model, messages, schema: z.object({ city: z.string() }) });
 * object.city; // string
 */
export async function generateObject<S extends z.ZodType>(
  executor: Executor,
  options: GenerateObjectOptions<S>,
): Promise<GenerateObjectResult<z.output<S>>> {
  const request = toRequest(executor, options, 'generateObject()');
  const response = await executor.generate(request, options.signal ? { signal: options.signal } : undefined);
  const object = await parseObject(options.schema, textOf(response.message), 'generateObject');
  return { object, response };
}

/**
 * Like `generateObject()`, streaming: yields `{ type: 'partial', partial }` each time the JSON
 * parsed so far grows (partial strings included; properties still being written left out; at
 * least once per 1/64 growth of the text, so the work stays linear), then one
 * `{ type: 'object', object, response }` with the validated answer. Partials are not validated.
 * Breaking out of the loop or aborting `signal` cancels the provider request.
 *
 * @example
 * for await (const event of streamObject(app, { model, messages, schema })) {
 *   if (event.type === 'partial') render(event.partial);
 *   else save(event.object);
 * }
 */
export async function* streamObject<S extends z.ZodType>(
  executor: Executor,
  options: GenerateObjectOptions<S>,
): AsyncGenerator<ObjectStreamEvent<z.output<S>, z.input<S>>, void, undefined> {
  const request = toRequest(executor, options, 'streamObject()');
  const maxChars = options.maxChars ?? 4_000_000;
  if (!Number.isInteger(maxChars) || maxChars < 1) {
    throw new TypeError(
      `streamObject(): expected \`maxChars\` to be a positive integer, got ${describeValue(maxChars)}.`,
    );
  }
  const assembler = new ResponseAssembler();
  const parts = executorStream(executor, request, options.signal ? { signal: options.signal } : undefined);
  let text = '';
  let total = 0;
  let parsedAt = -1;
  let last = '';
  for await (const part of parts) {
    total += partChars(part);
    if (total > maxChars) {
      throw new BufferLimitError({
        layer: 'streamObject',
        limit: maxChars,
        message: `streamObject(): the answer passed \`maxChars\` (${maxChars}) characters; the stream was stopped. Raise \`maxChars\` or ask for a smaller object.`,
      });
    }
    assembler.add(part);
    if (part.type !== 'text-delta' || part.text === '') continue;
    text += part.text;
    // Reparse after a growth of 1/64: partials stay frequent for small answers, linear for big ones.
    if (text.length - parsedAt < parsedAt >> 6) continue;
    parsedAt = text.length;
    const partial = parsePartialJson(unfence(text, true));
    if (partial === undefined || typeof partial !== 'object') continue;
    const key = JSON.stringify(partial);
    if (key === last) continue;
    last = key;
    yield { type: 'partial', partial: partial as DeepPartial<z.input<S>> };
  }
  const response = assembler.response();
  const object = await parseObject(options.schema, textOf(response.message), 'streamObject');
  yield { type: 'object', object, response };
}

function toRequest<S extends z.ZodType>(executor: Executor, options: GenerateObjectOptions<S>, where: string) {
  assertExecutor(executor, where);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`${where}: expected options { model, messages, schema, ... }, got ${describeValue(options)}.`);
  }
  checkKeys(where, options, KEYS);
  const { schema, name, description, strict, model = executor.defaultModel, messages, tools, metadata } = options;
  if (!(schema instanceof z.ZodType)) {
    throw new TypeError(`${where}: expected \`schema\` to be a zod schema, got ${describeValue(schema)}.`);
  }
  if (typeof model !== 'string' || model === '') {
    throw new TypeError(
      `${where}: expected \`model\` (a non-empty model id), got ${describeValue(model)}; pass one, or use an executor with a default model.`,
    );
  }
  const request: ModelRequest = {
    model,
    messages,
    responseFormat: jsonResponseFormat(schema, { name, description, strict }),
  };
  if (tools !== undefined) request.tools = tools;
  if (options.options !== undefined) request.options = options.options;
  if (metadata !== undefined) request.metadata = metadata;
  return request;
}

async function parseObject<S extends z.ZodType>(schema: S, text: string, layer: string): Promise<z.output<S>> {
  let value: unknown;
  try {
    value = JSON.parse(unfence(text, false));
  } catch (cause) {
    throw new OutputValidationError({
      layer,
      text,
      issues: [],
      attempts: 1,
      cause,
      message: `${layer}(): the model's answer is not valid JSON; it is in the error's \`text\`. Describe the expected JSON in the prompt, or add validateOutput() to the pipeline to ask again.`,
    });
  }
  const result = await schema.safeParseAsync(value);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const where = issues
    .slice(0, 5)
    .map((issue) => `\`${issue.path.map(String).join('.') || '(root)'}\` (${issue.code})`)
    .join(', ');
  throw new OutputValidationError({
    layer,
    text,
    issues,
    attempts: 1,
    cause: result.error,
    message: `${layer}(): the model's answer does not match the schema: ${issues.length} issue(s) at ${where}. The answer is in the error's \`text\`, the issues in \`issues\`. Add validateOutput() to the pipeline to ask again, or loosen the schema.`,
  });
}

const FENCE = /^\s*```[a-zA-Z]*\s*\n([\s\S]*?)\n\s*```\s*$/;
const OPEN_FENCE = /^\s*```[a-zA-Z]*\s*\n/;

/** Models often wrap JSON in a Markdown fence; a streaming one may not have closed it yet. */
function unfence(text: string, partial: boolean): string {
  if (!partial) {
    const match = FENCE.exec(text);
    return match ? (match[1] as string) : text;
  }
  const open = OPEN_FENCE.exec(text);
  if (!open) return text;
  // A loop, not a regex: linear however much whitespace the answer ends with.
  let end = text.length;
  while (end > open[0].length && /[\s`]/.test(text[end - 1] as string)) end--;
  return text.slice(open[0].length, end);
}
