import type { Attributes, Span, SpanStatusCode } from '@opentelemetry/api';
import type { Immutable } from 'immer';
import type { Context } from '../../lib/core/context.js';
import type { Message, ModelResponse } from '../../lib/core/messages.js';

// Names and values of the OpenTelemetry GenAI semantic conventions (development status, as of
// semconv 1.37-1.41: `gen_ai.provider.name`, `gen_ai.input.messages` / `gen_ai.output.messages`,
// `invoke_agent`, `execute_tool`, the `gen_ai.client.*` metrics).

export const STATUS_ERROR = 2 as SpanStatusCode.ERROR;

/** Semconv spells finish reasons with underscores and names a tool call in the singular. */
const FINISH_REASONS: Record<string, string> = { 'tool-calls': 'tool_call', 'content-filter': 'content_filter' };

export function finishReason(response: ModelResponse): string {
  return FINISH_REASONS[response.finishReason] ?? response.finishReason;
}

export function requestAttributes(ctx: Context, provider: string | undefined, captureContent: boolean): Attributes {
  const { model, options } = ctx.request;
  const attributes: Attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': model,
    'modelware.call.id': ctx.id,
  };
  if (provider) attributes['gen_ai.provider.name'] = provider;
  if (ctx.mode === 'stream') attributes['gen_ai.request.stream'] = true;
  if (options?.temperature !== undefined) attributes['gen_ai.request.temperature'] = options.temperature;
  if (options?.topP !== undefined) attributes['gen_ai.request.top_p'] = options.topP;
  if (options?.maxOutputTokens !== undefined) attributes['gen_ai.request.max_tokens'] = options.maxOutputTokens;
  if (options?.stopSequences !== undefined) attributes['gen_ai.request.stop_sequences'] = [...options.stopSequences];
  if (options?.seed !== undefined) attributes['gen_ai.request.seed'] = options.seed;
  const run = ctx.run;
  if (run) {
    attributes['modelware.run.id'] = run.runId;
    attributes['modelware.run.turn'] = run.turn;
  }
  const internal = ctx.internal;
  if (internal) {
    // A layer's own call (a summary): not the user's traffic. Its run is the caller's.
    attributes['modelware.internal'] = true;
    attributes['modelware.internal.by'] = internal.by;
    attributes['modelware.internal.purpose'] = internal.purpose;
    attributes['modelware.internal.parent_call.id'] = internal.parentCallId;
    if (internal.runId !== undefined) attributes['modelware.run.id'] = internal.runId;
    if (internal.turn !== undefined) attributes['modelware.run.turn'] = internal.turn;
  }
  if (captureContent) attributes['gen_ai.input.messages'] = JSON.stringify(ctx.request.messages.map(toSemconv));
  return attributes;
}

export function responseAttributes(ctx: Context, response: ModelResponse, captureContent: boolean): Attributes {
  const finish = finishReason(response);
  const attributes: Attributes = {
    'gen_ai.response.model': ctx.model.resolved,
    'gen_ai.response.finish_reasons': [finish],
  };
  const usage = response.usage;
  if (usage) {
    attributes['gen_ai.usage.input_tokens'] = usage.inputTokens;
    attributes['gen_ai.usage.output_tokens'] = usage.outputTokens;
    if (usage.cachedInputTokens !== undefined)
      attributes['gen_ai.usage.cache_read.input_tokens'] = usage.cachedInputTokens;
    if (usage.reasoningTokens !== undefined) attributes['gen_ai.usage.reasoning.output_tokens'] = usage.reasoningTokens;
  }
  if (captureContent) {
    const output = { ...toSemconv(response.message), finish_reason: finish };
    attributes['gen_ai.output.messages'] = JSON.stringify([output]);
  }
  return attributes;
}

/** `error.type`: the error's class name, never its message (which may hold a provider's body). */
export function errorType(error: unknown): string {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name.length > 0 ? name : '_OTHER';
}

export function recordError(span: Span, error: unknown, captureContent: boolean): void {
  span.setAttribute('error.type', errorType(error));
  // An error's message may quote what the call carried (a tool's or a provider's error): with
  // content capture off the span says only the error's type.
  if (!captureContent) {
    span.setStatus({ code: STATUS_ERROR });
    return;
  }
  const message = typeof (error as { message?: unknown } | null)?.message === 'string' ? (error as Error).message : '';
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: STATUS_ERROR, message });
}

/** A message in the GenAI conventions' shape: `{ role, parts: [{ type, ... }] }`. */
export function toSemconv(message: Immutable<Message>): { role: string; parts: object[] } {
  if (message.role === 'tool') {
    return { role: 'tool', parts: [{ type: 'tool_call_response', id: message.toolCallId, result: message.content }] };
  }
  if (typeof message.content === 'string') {
    return { role: message.role, parts: [{ type: 'text', content: message.content }] };
  }
  const parts = message.content.map((part): object => {
    if (part.type === 'text') return { type: 'text', content: part.text };
    if (part.type === 'reasoning') return { type: 'reasoning', content: part.text };
    if (part.type === 'tool-call') {
      return { type: 'tool_call', id: part.toolCallId, name: part.toolName, arguments: part.input };
    }
    return /^(https?|data):/.test(part.image)
      ? { type: 'uri', modality: 'image', uri: part.image }
      : { type: 'blob', modality: 'image', mime_type: part.mediaType, content: part.image };
  });
  return { role: message.role, parts };
}
