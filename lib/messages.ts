import { z } from 'zod';

/**
 * The zod schemas here are the single source of truth for every message, request, response and
 * stream part; the TypeScript types are inferred from them. Objects are "loose": provider-specific
 * extra fields pass through untouched.
 */

const json = z.unknown();

export const TextPartSchema = z.looseObject({
  type: z.literal('text'),
  text: z.string(),
});

export const ImagePartSchema = z.looseObject({
  type: z.literal('image'),
  /** An `https:`/`data:` URL or base64 data. */
  image: z.string().min(1),
  mediaType: z.string().optional(),
});

export const ReasoningPartSchema = z.looseObject({
  type: z.literal('reasoning'),
  text: z.string(),
  /** Provider signature that must be sent back verbatim (Anthropic thinking blocks). */
  signature: z.string().optional(),
});

export const ToolCallPartSchema = z.looseObject({
  type: z.literal('tool-call'),
  toolCallId: z.string().min(1),
  toolName: z.string().min(1),
  /** Parsed JSON arguments. */
  input: json,
});

export const SystemMessageSchema = z.looseObject({
  role: z.literal('system'),
  content: z.string(),
});

export const UserMessageSchema = z.looseObject({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextPartSchema, ImagePartSchema]))]),
});

export const AssistantMessageSchema = z.looseObject({
  role: z.literal('assistant'),
  content: z.union([
    z.string(),
    z.array(z.discriminatedUnion('type', [TextPartSchema, ReasoningPartSchema, ToolCallPartSchema])),
  ]),
});

export const ToolMessageSchema = z.looseObject({
  role: z.literal('tool'),
  /** The id of the assistant tool-call part this message answers. */
  toolCallId: z.string().min(1),
  toolName: z.string().min(1),
  /** The result as text (JSON-encode structured results). */
  content: z.string(),
  /** True when the tool failed and `content` describes the error for the model. */
  isError: z.boolean().optional(),
});

export const MessageSchema = z.discriminatedUnion('role', [
  SystemMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
]);

export const ToolSpecSchema = z.looseObject({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names are 1-64 characters of a-z, A-Z, 0-9, _ or -'),
  description: z.string().optional(),
  /** JSON Schema of the tool's input object. */
  inputSchema: z.record(z.string(), json),
});

export const ToolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('tool'), toolName: z.string().min(1) }),
]);

export const CallOptionsSchema = z.looseObject({
  temperature: z.number().min(0).optional(),
  topP: z.number().min(0).max(1).optional(),
  maxOutputTokens: z.number().int().positive().optional(),
  stopSequences: z.array(z.string()).optional(),
  seed: z.number().int().optional(),
  toolChoice: ToolChoiceSchema.optional(),
});

export const ModelRequestSchema = z.looseObject({
  /** The requested model id. Routing and fallback may resolve another one (see `ctx.model`). */
  model: z.string().min(1),
  messages: z.array(MessageSchema),
  tools: z.array(ToolSpecSchema).optional(),
  options: CallOptionsSchema.optional(),
  /** Free-form data for middleware (tenant, user, tags). Never sent to the provider. */
  metadata: z.record(z.string(), json).optional(),
});

export const UsageSchema = z.looseObject({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative().optional(),
  cachedInputTokens: z.number().int().nonnegative().optional(),
  reasoningTokens: z.number().int().nonnegative().optional(),
});

export const FinishReasonSchema = z.enum(['stop', 'length', 'tool-calls', 'content-filter', 'error', 'other']);

export const ModelResponseSchema = z.looseObject({
  message: AssistantMessageSchema,
  finishReason: FinishReasonSchema,
  usage: UsageSchema.optional(),
  /** The model the provider reported having used. */
  model: z.string().optional(),
});

export const StreamPartSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text-delta'), text: z.string() }),
  z.looseObject({ type: z.literal('reasoning-delta'), text: z.string(), signature: z.string().optional() }),
  z.looseObject({
    type: z.literal('tool-call-delta'),
    toolCallId: z.string().min(1),
    toolName: z.string().optional(),
    inputDelta: z.string(),
  }),
  z.looseObject({
    type: z.literal('tool-call'),
    toolCallId: z.string().min(1),
    toolName: z.string().min(1),
    input: json,
  }),
  z.looseObject({
    type: z.literal('finish'),
    finishReason: FinishReasonSchema,
    usage: UsageSchema.optional(),
    model: z.string().optional(),
  }),
]);

export type TextPart = z.infer<typeof TextPartSchema>;
export type ImagePart = z.infer<typeof ImagePartSchema>;
export type ReasoningPart = z.infer<typeof ReasoningPartSchema>;
export type ToolCallPart = z.infer<typeof ToolCallPartSchema>;
export type SystemMessage = z.infer<typeof SystemMessageSchema>;
export type UserMessage = z.infer<typeof UserMessageSchema>;
export type AssistantMessage = z.infer<typeof AssistantMessageSchema>;
export type ToolMessage = z.infer<typeof ToolMessageSchema>;
export type Message = z.infer<typeof MessageSchema>;
export type ToolSpec = z.infer<typeof ToolSpecSchema>;
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;
export type CallOptions = z.infer<typeof CallOptionsSchema>;
export type ModelRequest = z.infer<typeof ModelRequestSchema>;
export type Usage = z.infer<typeof UsageSchema>;
export type FinishReason = z.infer<typeof FinishReasonSchema>;
export type ModelResponse = z.infer<typeof ModelResponseSchema>;
export type StreamPart = z.infer<typeof StreamPartSchema>;

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
