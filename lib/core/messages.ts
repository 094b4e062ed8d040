import { z } from 'zod';

/**
 * Every message, request, response and stream part is an exact, named type declared here, with a
 * zod schema of the same shape beside it (test/types/messages.test-d.ts holds them equal). The
 * schemas are strict: an unknown key (`contnet`, `maxTokens`) is an `InvalidRequestError` naming
 * the key, never silently dropped. Provider-specific fields go under the provider's key of
 * `options` (`options.openai`, `options.anthropic`, `options.providerOptions`).
 */

const json = z.unknown();

/** A plain text part. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** An image in a user message. */
export interface ImagePart {
  type: 'image';
  /** An `https:`/`data:` URL or base64 data. */
  image: string;
  mediaType?: string | undefined;
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
}

export type Message = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A tool as sent to the provider. */
export interface ToolSpec {
  name: string;
  description?: string | undefined;
  /** JSON Schema of the tool's input object. */
  inputSchema: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'tool'; toolName: string };

/** Provider-specific fields, sent as they are. */
export type ProviderFields = Record<string, unknown>;

/** Sampling and tool options of one call. */
export interface CallOptions {
  temperature?: number | undefined;
  topP?: number | undefined;
  maxOutputTokens?: number | undefined;
  stopSequences?: string[] | undefined;
  seed?: number | undefined;
  toolChoice?: ToolChoice | undefined;
  /** Extra Chat Completions body fields for `openaiExecutor` (they win over the adapter's own). */
  openai?: ProviderFields | undefined;
  /** Extra Messages API body fields for `anthropicExecutor` (they win over the adapter's own). */
  anthropic?: ProviderFields | undefined;
  /** AI SDK `providerOptions` for `aiSdkExecutor`, keyed by provider. */
  providerOptions?: ProviderFields | undefined;
}

/** What a layer or executor receives: the request of one model call. */
export interface ModelRequest {
  /** The requested model id. Routing and fallback may resolve another one (see `ctx.model`). */
  model: string;
  messages: Message[];
  tools?: ToolSpec[] | undefined;
  options?: CallOptions | undefined;
  /** Free-form data for middleware (tenant, user, tags). Never sent to the provider. */
  metadata?: Record<string, unknown> | undefined;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens?: number | undefined;
  cachedInputTokens?: number | undefined;
  reasoningTokens?: number | undefined;
}

export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'error' | 'other';

export interface ModelResponse {
  message: AssistantMessage;
  finishReason: FinishReason;
  usage?: Usage | undefined;
  /** The model the provider reported having used. */
  model?: string | undefined;
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
    };

export const TextPartSchema = z.strictObject({
  type: z.literal('text'),
  text: z.string(),
});

export const ImagePartSchema = z.strictObject({
  type: z.literal('image'),
  image: z.string().min(1),
  mediaType: z.string().optional(),
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
  providerOptions: providerFields,
});

export const ModelRequestSchema = z.strictObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema),
  tools: z.array(ToolSpecSchema).optional(),
  options: CallOptionsSchema.optional(),
  metadata: z.record(z.string(), json).optional(),
});

export const UsageSchema = z.strictObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative().optional(),
  cachedInputTokens: z.number().int().nonnegative().optional(),
  reasoningTokens: z.number().int().nonnegative().optional(),
});

export const FinishReasonSchema = z.enum(['stop', 'length', 'tool-calls', 'content-filter', 'error', 'other']);

export const ModelResponseSchema = z.strictObject({
  message: AssistantMessageSchema,
  finishReason: FinishReasonSchema,
  usage: UsageSchema.optional(),
  model: z.string().optional(),
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
