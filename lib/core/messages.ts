import { z } from 'zod';

/**
 * Every message, request, response and stream part is an exact, named type declared here, with a
 * zod schema of the same shape beside it (test/types/messages.test-d.ts holds them equal). The
 * schemas are strict: an unknown key (`contnet`, `maxTokens`) is an `InvalidRequestError` naming
 * the key, never silently dropped. Provider-specific fields go under the provider's key of
 * `options` (`options.openai`, `options.anthropic`, `options.providerOptions`).
 */

const json = z.unknown();

/**
 * A prompt-cache breakpoint (Anthropic's `cache_control`): the provider caches the prompt up to and
 * including the part that carries it. Adapters without explicit breakpoints (OpenAI caches
 * prefixes itself) ignore it.
 */
export interface CacheControl {
  type: 'ephemeral';
  /** How long the entry lives. @default '5m' (the provider's default) */
  ttl?: '5m' | '1h' | undefined;
}

/** A plain text part. */
export interface TextPart {
  type: 'text';
  text: string;
  /** Marks a prompt-cache breakpoint after this part (see `CacheControl`). */
  cacheControl?: CacheControl | undefined;
}

/** An image in a user message. */
export interface ImagePart {
  type: 'image';
  /** An `https:`/`data:` URL or base64 data. */
  image: string;
  mediaType?: string | undefined;
  /** Marks a prompt-cache breakpoint after this part (see `CacheControl`). */
  cacheControl?: CacheControl | undefined;
}

/** Model reasoning (thinking) in an assistant message. */
export interface ReasoningPart {
  type: 'reasoning';
  text: string;
  /** Provider signature that must be sent back verbatim (Anthropic thinking blocks). */
  signature?: string | undefined;
  /**
   * Provider data that must be sent back with the part, keyed by provider (`openai`: the Responses
   * API's reasoning item `itemId` and `encryptedContent`). Opaque to layers: keep it as it is.
   */
  providerMetadata?: ProviderFields | undefined;
}

/** A tool call the model asked for. */
export interface ToolCallPart {
  type: 'tool-call';
  toolCallId: string;
  toolName: string;
  /** Parsed JSON arguments. */
  input: unknown;
}

export type UserContentPart = TextPart | ImagePart;
export type AssistantContentPart = TextPart | ReasoningPart | ToolCallPart;

export interface SystemMessage {
  role: 'system';
  content: string;
  /** Marks a prompt-cache breakpoint after this system text (see `CacheControl`). */
  cacheControl?: CacheControl | undefined;
}

export interface UserMessage {
  role: 'user';
  content: string | UserContentPart[];
}

export interface AssistantMessage {
  role: 'assistant';
  content: string | AssistantContentPart[];
}

export interface ToolMessage {
  role: 'tool';
  /** The id of the assistant tool-call part this message answers. */
  toolCallId: string;
  toolName: string;
  /** The result as text (JSON-encode structured results). */
  content: string;
  /** True when the tool failed and `content` describes the error for the model. */
  isError?: boolean | undefined;
  /** Marks a prompt-cache breakpoint after this result (see `CacheControl`). */
  cacheControl?: CacheControl | undefined;
}

export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A tool as sent to the provider. */
export interface ToolSpec {
  name: string;
  description?: string | undefined;
  /** JSON Schema of the tool's input object. */
  inputSchema: Record<string, unknown>;
  /** Marks a prompt-cache breakpoint after this tool's definition (see `CacheControl`). */
  cacheControl?: CacheControl | undefined;
}

/**
 * The shape of the answer: free text (the default), any JSON object, or JSON matching a schema.
 * Adapters map it to the provider's native structured output (`response_format`, Anthropic's
 * `output_config.format`, the AI SDK's `responseFormat`); build the schema form from a zod schema
 * with `jsonResponseFormat()`.
 */
export type ResponseFormat = { type: 'text' } | JsonResponseFormat;

/** JSON output, with or without a schema (see `ResponseFormat`). */
export interface JsonResponseFormat {
  type: 'json';
  /** JSON Schema the answer must match. Without it, any JSON object. */
  schema?: Record<string, unknown> | undefined;
  /** Name of the schema (OpenAI requires one: `a-z`, `A-Z`, `0-9`, `_`, `-`). @default 'response' */
  name?: string | undefined;
  /** What the answer is, for the model. */
  description?: string | undefined;
  /** Ask the provider to enforce the schema exactly (OpenAI strict mode). @default true */
  strict?: boolean | undefined;
}

/**
 * An option an adapter could not honour (`unsupported`), honoured only approximately
 * (`compatibility`), or another provider notice (`other`), reported on the response instead of
 * dropped in silence.
 */
export interface CallWarning {
  type: 'unsupported' | 'compatibility' | 'other';
  /** The option's path, e.g. `options.seed` or `responseFormat`. */
  feature: string;
  /** What happened instead, and how to get the option honoured. */
  details?: string | undefined;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'tool'; toolName: string };

/** Provider-specific fields, sent as they are. */
export type ProviderFields = Record<string, unknown>;

/**
 * The types of `options.openai` and `options.anthropic`, filled by declaration merging: importing
 * `modelware/openai` types `options.openai` from the SDK's request params minus the fields the
 * adapter maps itself (so `options.openai.messages` is a compile error), `modelware/anthropic`
 * likewise. Without the adapter's import the key stays a plain record.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in lib/adapters
export interface ProviderOptionTypes {}

/** `options[provider]`'s type: the adapter's declared type, or a plain record. */
export type ProviderOptionsOf<K extends string> = K extends keyof ProviderOptionTypes
  ? ProviderOptionTypes[K]
  : ProviderFields;

/** Sampling and tool options of one call. */
export interface CallOptions {
  temperature?: number | undefined;
  topP?: number | undefined;
  maxOutputTokens?: number | undefined;
  stopSequences?: string[] | undefined;
  seed?: number | undefined;
  toolChoice?: ToolChoice | undefined;
  /**
   * Extra Chat Completions body fields for `openaiExecutor` (they win over the adapter's own body).
   * Typed from the SDK once `modelware/openai` is imported (see `ProviderOptionTypes`).
   */
  openai?: ProviderOptionsOf<'openai'> | undefined;
  /**
   * Extra Messages API body fields for `anthropicExecutor` (they win over the adapter's own body).
   * Typed from the SDK once `modelware/anthropic` is imported (see `ProviderOptionTypes`).
   */
  anthropic?: ProviderOptionsOf<'anthropic'> | undefined;
  /**
   * Extra Responses API body fields for `openaiResponsesExecutor` (they win over the adapter's own
   * body), e.g. `{ reasoning: { effort: 'low' }, previous_response_id }`. Typed from the SDK once
   * `modelware/openai` is imported (see `ProviderOptionTypes`).
   */
  openaiResponses?: ProviderOptionsOf<'openaiResponses'> | undefined;
  /** AI SDK `providerOptions` for `aiSdkExecutor`, keyed by provider. */
  providerOptions?: ProviderFields | undefined;
}

/** What a layer or executor receives: the request of one model call. */
export interface ModelRequest {
  /** The requested model id. Routing and fallback may resolve another one (see `ctx.model`). */
  model: string;
  messages: Message[];
  tools?: ToolSpec[] | undefined;
  /** The shape of the answer (see `ResponseFormat`). @default text */
  responseFormat?: ResponseFormat | undefined;
  options?: CallOptions | undefined;
  /** Free-form data for middleware (tenant, user, tags). Never sent to the provider. */
  metadata?: Record<string, unknown> | undefined;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens?: number | undefined;
  /** Input tokens read from the provider's prompt cache (included in `inputTokens`). */
  cachedInputTokens?: number | undefined;
  /** Input tokens written to the provider's prompt cache (included in `inputTokens`; Anthropic). */
  cacheWriteTokens?: number | undefined;
  reasoningTokens?: number | undefined;
}

export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'error' | 'other';

export interface ModelResponse {
  message: AssistantMessage;
  finishReason: FinishReason;
  usage?: Usage | undefined;
  /** The model the provider reported having used. */
  model?: string | undefined;
  /** Options of the request the adapter could not honour (absent when there were none). */
  warnings?: CallWarning[] | undefined;
}

export type StreamPart =
  | { type: 'text-delta'; text: string }
  | {
      type: 'reasoning-delta';
      text: string;
      signature?: string | undefined;
      /** Set on the last delta of a reasoning part (see `ReasoningPart.providerMetadata`). */
      providerMetadata?: ProviderFields | undefined;
    }
  | { type: 'tool-call-delta'; toolCallId: string; toolName?: string | undefined; inputDelta: string }
  | { type: 'tool-call'; toolCallId: string; toolName: string; input: unknown }
  | {
      type: 'finish';
      finishReason: FinishReason;
      usage?: Usage | undefined;
      model?: string | undefined;
      warnings?: CallWarning[] | undefined;
    };

export const CacheControlSchema = z.strictObject({
  type: z.literal('ephemeral'),
  ttl: z.enum(['5m', '1h']).optional(),
});

export const TextPartSchema = z.strictObject({
  type: z.literal('text'),
  text: z.string(),
  cacheControl: CacheControlSchema.optional(),
});

export const ImagePartSchema = z.strictObject({
  type: z.literal('image'),
  image: z.string().min(1),
  mediaType: z.string().optional(),
  cacheControl: CacheControlSchema.optional(),
});

export const ReasoningPartSchema = z.strictObject({
  type: z.literal('reasoning'),
  text: z.string(),
  signature: z.string().optional(),
  providerMetadata: z.record(z.string(), json).optional(),
});

export const ToolCallPartSchema = z.strictObject({
  type: z.literal('tool-call'),
  toolCallId: z.string().min(1),
  toolName: z.string().min(1),
  input: json,
});

export const SystemMessageSchema = z.strictObject({
  role: z.literal('system'),
  content: z.string(),
  cacheControl: CacheControlSchema.optional(),
});

export const UserMessageSchema = z.strictObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextPartSchema, ImagePartSchema]))]),
});

export const AssistantMessageSchema = z.strictObject({
  role: z.literal('assistant'),
  content: z.union([
    z.string(),
    z.array(z.discriminatedUnion('type', [TextPartSchema, ReasoningPartSchema, ToolCallPartSchema])),
  ]),
});

export const ToolMessageSchema = z.strictObject({
  role: z.literal('tool'),
  toolCallId: z.string().min(1),
  toolName: z.string().min(1),
  content: z.string(),
  isError: z.boolean().optional(),
  cacheControl: CacheControlSchema.optional(),
});

export const MessageSchema = z.discriminatedUnion('role', [
  SystemMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
]);

export const ToolSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names are 1-64 characters of a-z, A-Z, 0-9, _ or -'),
  description: z.string().optional(),
  inputSchema: z.record(z.string(), json),
  cacheControl: CacheControlSchema.optional(),
});

export const JsonResponseFormatSchema = z.strictObject({
  type: z.literal('json'),
  schema: z.record(z.string(), json).optional(),
  name: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'schema names are 1-64 characters of a-z, A-Z, 0-9, _ or -')
    .optional(),
  description: z.string().optional(),
  strict: z.boolean().optional(),
});

export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  JsonResponseFormatSchema,
]);

export const CallWarningSchema = z.strictObject({
  type: z.enum(['unsupported', 'compatibility', 'other']),
  feature: z.string(),
  details: z.string().optional(),
});

export const ToolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.strictObject({ type: z.literal('tool'), toolName: z.string().min(1) }),
]);

const providerFields = z.record(z.string(), json).optional();

export const CallOptionsSchema = z.strictObject({
  temperature: z.number().min(0).optional(),
  topP: z.number().min(0).max(1).optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  stopSequences: z.array(z.string()).optional(),
  seed: z.number().int().optional(),
  toolChoice: ToolChoiceSchema.optional(),
  openai: providerFields,
  anthropic: providerFields,
  openaiResponses: providerFields,
  providerOptions: providerFields,
});

export const ModelRequestSchema = z.strictObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema),
  tools: z.array(ToolSpecSchema).optional(),
  responseFormat: ResponseFormatSchema.optional(),
  options: CallOptionsSchema.optional(),
  metadata: z.record(z.string(), json).optional(),
});

export const UsageSchema = z.strictObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative().optional(),
  cachedInputTokens: z.number().int().nonnegative().optional(),
  cacheWriteTokens: z.number().int().nonnegative().optional(),
  reasoningTokens: z.number().int().nonnegative().optional(),
});

export const FinishReasonSchema = z.enum(['stop', 'length', 'tool-calls', 'content-filter', 'error', 'other']);

export const ModelResponseSchema = z.strictObject({
  message: AssistantMessageSchema,
  finishReason: FinishReasonSchema,
  usage: UsageSchema.optional(),
  model: z.string().optional(),
  warnings: z.array(CallWarningSchema).optional(),
});

export const StreamPartSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text-delta'), text: z.string() }),
  z.strictObject({
    type: z.literal('reasoning-delta'),
    text: z.string(),
    signature: z.string().optional(),
    providerMetadata: z.record(z.string(), json).optional(),
  }),
  z.strictObject({
    type: z.literal('tool-call-delta'),
    toolCallId: z.string().min(1),
    toolName: z.string().optional(),
    inputDelta: z.string(),
  }),
  z.strictObject({
    type: z.literal('tool-call'),
    toolCallId: z.string().min(1),
    toolName: z.string().min(1),
    input: json,
  }),
  z.strictObject({
    type: z.literal('finish'),
    finishReason: FinishReasonSchema,
    usage: UsageSchema.optional(),
    model: z.string().optional(),
    warnings: z.array(CallWarningSchema).optional(),
  }),
]);

/** The text of a message: its string content, or its text parts joined. */
export function textOf(message: { readonly content: unknown }): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}

/** The tool-call parts of an assistant message (empty for any other message). */
export function toolCallsOf(message: { readonly role: string; readonly content: unknown }): readonly ToolCallPart[] {
  if (message.role !== 'assistant' || !Array.isArray(message.content)) return EMPTY;
  let calls: ToolCallPart[] | undefined;
  for (const part of message.content as readonly { type: string }[]) {
    if (part.type === 'tool-call') (calls ??= []).push(part as ToolCallPart);
  }
  return calls ?? EMPTY;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * A tool's output as the text of its tool message: strings as they are, `undefined` as `''`, anything
 * else as JSON (a value JSON cannot hold, a BigInt or a cycle, throws JSON.stringify's TypeError).
 */
export function toolContent(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output === undefined) return '';
  return JSON.stringify(output) ?? String(output);
}
