import { z } from 'zod';
import { checkKeys, describeValue, optionNames } from '../internal/options.js';
import type { JsonResponseFormat } from './messages.js';

/** Options of `jsonResponseFormat()`. */
export interface JsonResponseFormatOptions {
  /** The schema's name (OpenAI requires one: 1-64 of `a-z`, `A-Z`, `0-9`, `_`, `-`). @default 'response' */
  readonly name?: string | undefined;
  /** What the answer is, for the model. @default the schema's `.describe()` text, if any */
  readonly description?: string | undefined;
  /** Ask the provider to enforce the schema exactly (OpenAI strict mode). @default true */
  readonly strict?: boolean | undefined;
}

const KEYS = optionNames<JsonResponseFormatOptions>({ name: true, description: true, strict: true });

/**
 * The `request.responseFormat` for a zod schema: `{ type: 'json', schema, name, strict }` with the
 * schema converted by zod 4's JSON Schema export (the output shape, `$schema` left out). Throws a
 * `TypeError` for a schema JSON Schema cannot express (a transform, a custom refinement type).
 *
 * @example
 * const request = { model, messages, responseFormat: jsonResponseFormat(z.object({ city: z.string() })) };
 */
export function jsonResponseFormat(schema: z.ZodType, options: JsonResponseFormatOptions = {}): JsonResponseFormat {
  if (!(schema instanceof z.ZodType)) {
    throw new TypeError(`jsonResponseFormat(): expected a zod schema, got ${describeValue(schema)}.`);
  }
  checkKeys('jsonResponseFormat()', options, KEYS);
  let json: Record<string, unknown>;
  try {
    json = z.toJSONSchema(schema, { io: 'output' }) as Record<string, unknown>;
  } catch (error) {
    throw new TypeError(
      `jsonResponseFormat(): the schema cannot be expressed as JSON Schema (${(error as Error).message}); describe the answer's shape without transforms or custom types, and transform after parsing.`,
    );
  }
  const { $schema: _, ...rest } = json;
  const format: JsonResponseFormat = { type: 'json', schema: rest, name: options.name ?? 'response' };
  const description = options.description ?? schema.description;
  if (description !== undefined) format.description = description;
  if (options.strict !== undefined) format.strict = options.strict;
  return format;
}
