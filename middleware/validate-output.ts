import { z } from 'zod';
import { type MiddlewareDefinition, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { BufferLimitError, OutputValidationError } from '../lib/core/errors.js';
import {
  type ModelResponse,
  type ResponseFormat,
  type StreamPart,
  type Usage,
  textOf,
  toolCallsOf,
} from '../lib/core/messages.js';
import { jsonResponseFormat } from '../lib/core/response-format.js';
import {
  ResponseAssembler,
  checkBoolean,
  checkFunction,
  checkInteger,
  failOption,
  partChars,
  checkKeys,
  optionNames,
} from '../lib/kit.js';

/** What a `repairPrompt` gets to explain the failure to the model. */
export interface RepairInfo {
  /** The text the model answered with. */
  readonly text: string;
  /** Why it failed, for a human or a model: the JSON syntax error, or zod's prettified issues. */
  readonly error: string;
  /** The zod issues; empty when the text was not JSON. */
  readonly issues: readonly z.core.$ZodIssue[];
  /** 1-based: the repair about to be asked for. */
  readonly repair: number;
}

export interface ValidateOutputOptions<S extends z.ZodType> {
  /** The zod schema the answer's JSON must match (async refinements are awaited). */
  readonly schema: S;
  /** How many times to re-ask after a failed answer. @default 1 */
  readonly maxRepairs?: number | undefined;
  /**
   * The user message sent after a failed answer (which is sent back as an assistant message).
   * @default says what failed and asks for only the JSON value, with no other text
   */
  readonly repairPrompt?: ((info: RepairInfo) => string) | undefined;
  /**
   * The longest streamed answer, in characters (text, reasoning, tool arguments), the layer reads
   * before validating; past it the call fails with `BufferLimitError` (not retryable).
   * @default 4_000_000
   */
  readonly maxBufferedChars?: number | undefined;
  /**
   * Send the schema to the provider when the executor can (`ctx.capabilities.responseFormat` is
   * `'schema'`: it becomes `request.responseFormat`; `'json'`: JSON mode), so the first answer
   * usually passes and a repair is asked for only when it still fails. A request that already has
   * a `responseFormat` keeps it, and a schema JSON Schema cannot express (a transform) is only
   * checked. @default true
   */
  readonly native?: boolean | undefined;
  /** Names the layer. @default 'validateOutput' */
  readonly name?: string | undefined;
}

/** `validateOutput()`'s middleware, with a typed accessor for the parsed value. */
export interface ValidateOutputMiddleware<S extends z.ZodType> extends MiddlewareDefinition {
  /** The parsed (zod output) value of this call's answer; `undefined` before it passed. */
  output(ctx: Context): z.output<S> | undefined;
}

const KEYS = optionNames<ValidateOutputOptions<z.ZodType>>({
  schema: true,
  maxRepairs: true,
  repairPrompt: true,
  maxBufferedChars: true,
  native: true,
  name: true,
});

/**
 * Makes the model answer with JSON matching a zod schema. A failed answer is sent back with the
 * reason and the model is asked again, up to `maxRepairs` times; each repair re-runs the layers
 * inside this one. The final failure rejects with `OutputValidationError` (raw `text`, zod
 * `issues`). The parsed value is `ctx.state.validatedOutput`, typed through `.output(ctx)`.
 *
 * Details: a Markdown code fence around the JSON is accepted and removed from the response text,
 * so `JSON.parse(response.message.content)` works for the caller; a response that calls tools is
 * not validated (it is not the final answer); the returned response's `usage` sums every attempt.
 * In stream mode the layer reads the stream to the end before validating (a repair needs the
 * whole answer), then streams the answer that passed.
 *
 * @example
 * const validated = validateOutput({ schema: z.object({ city: z.string() }), maxRepairs: 2 });
 * app.use(validated);
 */
export function validateOutput<S extends z.ZodType>(options: ValidateOutputOptions<S>): ValidateOutputMiddleware<S> {
  checkKeys('validateOutput()', options, KEYS);
  const {
    schema,
    maxRepairs = 1,
    repairPrompt = defaultRepairPrompt,
    maxBufferedChars = 4_000_000,
    name = 'validateOutput',
    native = true,
  } = options ?? ({} as ValidateOutputOptions<S>);
  if (typeof (schema as { safeParseAsync?: unknown } | undefined)?.safeParseAsync !== 'function') {
    failOption('validateOutput()', 'schema', 'a zod schema, e.g. z.object({ ... })', schema);
  }
  checkInteger('validateOutput()', 'maxRepairs', maxRepairs, { sign: 'non-negative' });
  checkInteger('validateOutput()', 'maxBufferedChars', maxBufferedChars);
  checkFunction('validateOutput()', 'repairPrompt', repairPrompt, '(info) => string');
  checkBoolean('validateOutput()', 'native', native);
  const schemaFormat = native ? nativeFormat(schema) : undefined;

  // This layer's value per call, keyed by the call's state bag: with two validateOutput layers,
  // `ctx.state.validatedOutput` holds the outer one's, but each `.output(ctx)` returns its own.
  const values = new WeakMap<object, unknown>();

  const definition = defineMiddleware({
    name,
    // Each repair calls next() again: the layers inside and the model run once per attempt.
    replay: true,
    async call(ctx, next) {
      if (native && ctx.request.responseFormat === undefined) {
        const supported = ctx.capabilities.responseFormat;
        const format = supported === 'schema' ? schemaFormat : supported === 'json' ? JSON_MODE : undefined;
        if (format) {
          ctx.update((draft) => {
            draft.responseFormat = format;
          });
        }
      }
      let usage: Usage | undefined;
      for (let attempt = 1; ; attempt++) {
        // A value from an earlier attempt must not outlive the attempt that replaces it.
        values.delete(ctx.state);
        await next();
        // No answer at all is the pipeline's error to report, naming the layer that gave none.
        if (ctx.response === undefined && ctx.stream === undefined) return;
        const response =
          ctx.mode === 'stream' && ctx.stream
            ? await drain(ctx.stream, maxBufferedChars, name)
            : (ctx.response as ModelResponse);
        usage = addUsage(usage, response.usage);
        if (toolCallsOf(response.message).length > 0) {
          answer(ctx, withUsage(response, usage));
          return;
        }
        const text = textOf(response.message);
        const verdict = await check(schema, text);
        if (verdict.ok) {
          values.set(ctx.state, verdict.value);
          ctx.state.validatedOutput = verdict.value;
          const json = verdict.json;
          const content = json === text ? response : { ...response, message: { ...response.message, content: json } };
          answer(ctx, withUsage(content, usage));
          return;
        }
        if (attempt > maxRepairs) {
          throw new OutputValidationError({
            layer: name,
            text,
            issues: verdict.issues,
            attempts: attempt,
            cause: verdict.cause,
            // The answer stays in `text` and `issues`: messages reach logs and span status.
            message: `${name}: the model's answer is still invalid after ${attempt} attempt(s): ${verdict.summary} The answer is in the error's \`text\`. Raise \`maxRepairs\`, describe the expected JSON in the prompt, or loosen the schema.`,
          });
        }
        ctx.signal.throwIfAborted();
        const prompt = repairPrompt({ text, error: verdict.error, issues: verdict.issues, repair: attempt });
        if (typeof prompt !== 'string') {
          throw new TypeError(`validateOutput(): \`repairPrompt\` returned ${typeof prompt}; it must return a string.`);
        }
        ctx.update((draft) => {
          draft.messages.push({ role: 'assistant', content: text }, { role: 'user', content: prompt });
        });
      }
    },
  });
  const output = (ctx: Context) => values.get(ctx.state) as z.output<S> | undefined;
  return Object.freeze({ ...definition, output });
}

const JSON_MODE: ResponseFormat = Object.freeze({ type: 'json' });

/** The schema as a response format, or `undefined` when JSON Schema cannot express it. */
function nativeFormat(schema: z.ZodType): ResponseFormat | undefined {
  try {
    return Object.freeze(jsonResponseFormat(schema));
  } catch {
    return undefined;
  }
}

type Verdict =
  | { ok: true; value: unknown; json: string }
  | {
      ok: false;
      /** For the model (repair prompt): may quote the answer. */
      error: string;
      /** For the error message: never quotes the answer. */
      summary: string;
      issues: readonly z.core.$ZodIssue[];
      cause?: unknown;
    };

async function check(schema: z.ZodType, text: string): Promise<Verdict> {
  const json = unfence(text);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    return {
      ok: false,
      error: `it is not valid JSON (${(cause as Error).message}).`,
      summary: 'it is not valid JSON.',
      issues: [],
      cause,
    };
  }
  const result = await schema.safeParseAsync(value);
  if (result.success) return { ok: true, value: result.data, json };
  return {
    ok: false,
    error: `it does not match the schema:\n${z.prettifyError(result.error)}`,
    summary: `it does not match the schema: ${describeIssues(result.error.issues)}.`,
    issues: result.error.issues,
    cause: result.error,
  };
}

const FENCE = /^\s*```[a-zA-Z]*\s*\n([\s\S]*?)\n\s*```\s*$/;

/** Models often wrap JSON in a Markdown fence even when told not to. */
function unfence(text: string): string {
  const match = FENCE.exec(text);
  return match ? (match[1] as string) : text;
}

function defaultRepairPrompt({ error }: RepairInfo): string {
  return `Your previous answer could not be used: ${error}\nReply again with only the JSON value that matches the requested shape: no prose, no code fence.`;
}

/** Where and what kind, from the schema's side only: a custom issue message may quote the value. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues
    .slice(0, 5)
    .map((issue) => `\`${issue.path.map(String).join('.') || '(root)'}\` (${issue.code})`);
  const more = issues.length > shown.length ? ` and ${issues.length - shown.length} more` : '';
  return `${issues.length} issue(s) at ${shown.join(', ')}${more}`;
}

async function drain(stream: AsyncIterable<StreamPart>, limit: number, name: string): Promise<ModelResponse> {
  const assembler = new ResponseAssembler();
  let total = 0;
  for await (const part of stream) {
    total += partChars(part);
    // Leaving the loop closes the stream, so the provider stops sending.
    if (total > limit) {
      throw new BufferLimitError({
        layer: name,
        limit,
        message: `${name}: the streamed answer passed \`maxBufferedChars\` (${limit}) characters before it could be validated; the stream was stopped. Raise \`maxBufferedChars\` or ask for a shorter answer.`,
      });
    }
    assembler.add(part);
  }
  return assembler.response();
}

function addUsage(sum: Usage | undefined, usage: Usage | undefined): Usage | undefined {
  if (!usage) return sum;
  if (!sum) return usage;
  const total: Usage = {
    inputTokens: sum.inputTokens + usage.inputTokens,
    outputTokens: sum.outputTokens + usage.outputTokens,
  };
  if (sum.totalTokens !== undefined || usage.totalTokens !== undefined) {
    total.totalTokens =
      (sum.totalTokens ?? sum.inputTokens + sum.outputTokens) +
      (usage.totalTokens ?? usage.inputTokens + usage.outputTokens);
  }
  // The optional counts too: an attempt that wrote the prompt cache costs what it wrote.
  for (const key of ['cachedInputTokens', 'cacheWriteTokens', 'reasoningTokens'] as const) {
    if (sum[key] !== undefined || usage[key] !== undefined) total[key] = (sum[key] ?? 0) + (usage[key] ?? 0);
  }
  return total;
}

/** In stream mode the drained stream is replaced by the answer; in generate mode only a changed one is set. */
function answer(ctx: Context, response: ModelResponse): void {
  if (response !== ctx.response || ctx.stream) ctx.response = response;
}

function withUsage(response: ModelResponse, usage: Usage | undefined): ModelResponse {
  return usage === response.usage || usage === undefined ? response : { ...response, usage };
}
