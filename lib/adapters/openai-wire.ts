import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { ResponseFormatJSONSchema } from 'openai/resources/shared';
import { ProviderError } from '../core/errors.js';
import type { ReadonlyModelRequest } from '../core/executor.js';
import type { AssistantMessage, FinishReason, ModelResponse, StreamPart, Usage } from '../core/messages.js';
import { imageSource, parseToolInput } from './content.js';

/** Chat Completions mapping: modelware request → wire params, wire response/chunks → modelware. */

type Message = ReadonlyModelRequest['messages'][number];
type Part = Exclude<AssistantMessage['content'], string>[number];

export interface ChatWireSettings {
  readonly systemRole: 'system' | 'developer';
  readonly maxTokensField: 'max_completion_tokens' | 'max_tokens';
}

export function toChatParams(
  request: ReadonlyModelRequest,
  settings: ChatWireSettings,
): ChatCompletionCreateParamsBase {
  const messages: ChatCompletionMessageParam[] = [];
  request.messages.forEach((message, i) => {
    messages.push(toChatMessage(message, i, settings.systemRole));
  });
  const params: ChatCompletionCreateParamsBase = { model: request.model, messages };
  if (request.tools && request.tools.length > 0) {
    params.tools = request.tools.map((tool) => ({
      type: 'function',
      function:
        tool.description === undefined
          ? { name: tool.name, parameters: tool.inputSchema as Record<string, unknown> }
          : { name: tool.name, description: tool.description, parameters: tool.inputSchema as Record<string, unknown> },
    }));
  }
  const options = request.options;
  if (options) {
    if (options.temperature !== undefined) params.temperature = options.temperature;
    if (options.topP !== undefined) params.top_p = options.topP;
    if (options.maxOutputTokens !== undefined) params[settings.maxTokensField] = options.maxOutputTokens;
    if (options.stopSequences !== undefined) params.stop = [...options.stopSequences];
    if (options.seed !== undefined) params.seed = options.seed;
    // Providers reject a tool choice without tools (a layer may have removed them).
    if (options.toolChoice !== undefined && params.tools) params.tool_choice = toToolChoice(options.toolChoice);
  }
  if (request.responseFormat !== undefined) params.response_format = toResponseFormat(request.responseFormat);
  return params;
}

/** `text`, `json_object` without a schema, strict `json_schema` with one. */
export function toResponseFormat(
  format: NonNullable<ReadonlyModelRequest['responseFormat']>,
): NonNullable<ChatCompletionCreateParamsBase['response_format']> {
  if (format.type === 'text') return { type: 'text' };
  if (format.schema === undefined) return { type: 'json_object' };
  const json_schema: ResponseFormatJSONSchema.JSONSchema = {
    name: format.name ?? 'response',
    schema: format.schema as Record<string, unknown>,
    strict: format.strict ?? true,
  };
  if (format.description !== undefined) json_schema.description = format.description;
  return { type: 'json_schema', json_schema };
}

function toChatMessage(
  message: Message,
  index: number,
  systemRole: 'system' | 'developer',
): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: systemRole, content: message.content };
    case 'user':
      if (typeof message.content === 'string') return { role: 'user', content: message.content };
      return {
        role: 'user',
        content: message.content.map((part, j): ChatCompletionContentPart => {
          if (part.type === 'text') return { type: 'text', text: part.text };
          const source = imageSource(part, `openai: messages[${index}].content[${j}]`);
          const url = source.kind === 'url' ? source.url : `data:${source.mediaType};base64,${source.data}`;
          return { type: 'image_url', image_url: { url } };
        }),
      };
    case 'assistant': {
      if (typeof message.content === 'string') return { role: 'assistant', content: message.content };
      let text = '';
      const calls: ChatCompletionMessageToolCall[] = [];
      for (const part of message.content) {
        if (part.type === 'text') text += part.text;
        else if (part.type === 'tool-call') {
          calls.push({
            id: part.toolCallId,
            type: 'function',
            function: { name: part.toolName, arguments: stringifyInput(part.input) },
          });
        }
        // Reasoning parts have no Chat Completions input form; the provider keeps its own.
      }
      if (calls.length === 0) return { role: 'assistant', content: text };
      return { role: 'assistant', content: text === '' ? null : text, tool_calls: calls };
    }
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

function stringifyInput(input: unknown): string {
  // A raw string is arguments the model produced that did not parse: send them back as they were.
  return typeof input === 'string' ? input : JSON.stringify(input ?? {});
}

function toToolChoice(
  choice: NonNullable<NonNullable<ReadonlyModelRequest['options']>['toolChoice']>,
): ChatCompletionToolChoiceOption {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.toolName } };
}

export function fromChatCompletion(completion: ChatCompletion, provider: string): ModelResponse {
  const choice = completion.choices[0];
  if (!choice) {
    throw new ProviderError({
      provider,
      message: `${provider}: the completion \`${completion.id}\` has no choices. Not retryable: check the request (n, content filters).`,
      retryable: false,
      code: 'no_choices',
    });
  }
  const { message } = choice;
  const parts: Part[] = [];
  const reasoning = reasoningOf(message);
  if (reasoning) parts.push({ type: 'reasoning', text: reasoning });
  const text = (message.content ?? '') + (message.refusal ?? '');
  if (text) parts.push({ type: 'text', text });
  for (const call of message.tool_calls ?? []) {
    if (call.type === 'function') {
      parts.push({
        type: 'tool-call',
        toolCallId: call.id,
        toolName: call.function.name,
        input: parseToolInput(call.function.arguments),
      });
    } else {
      parts.push({ type: 'tool-call', toolCallId: call.id, toolName: call.custom.name, input: call.custom.input });
    }
  }
  const response: ModelResponse = {
    message: { role: 'assistant', content: parts.length === 1 && parts[0]?.type === 'text' ? text : parts },
    finishReason: toFinishReason(choice.finish_reason),
    model: completion.model,
  };
  if (parts.length === 0) response.message.content = '';
  if (completion.usage) response.usage = toUsage(completion.usage);
  return response;
}

export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'other';
  }
}

export function toUsage(usage: CompletionUsage): Usage {
  const out: Usage = {
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
  };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (typeof cached === 'number') out.cachedInputTokens = cached;
  const reasoning = usage.completion_tokens_details?.reasoning_tokens;
  if (typeof reasoning === 'number') out.reasoningTokens = reasoning;
  return out;
}

/** OpenAI-compatible servers (DeepSeek, vLLM, OpenRouter) return reasoning beside the content. */
function reasoningOf(value: object): string | undefined {
  const { reasoning_content, reasoning } = value as { reasoning_content?: unknown; reasoning?: unknown };
  if (typeof reasoning_content === 'string' && reasoning_content) return reasoning_content;
  if (typeof reasoning === 'string' && reasoning) return reasoning;
  return undefined;
}

interface PendingCall {
  readonly id: string;
  readonly name: string;
  arguments: string;
  done: boolean;
}

/**
 * Turns chunks into stream parts. Tool calls arrive as fragments keyed by `index` (id and name in
 * the first one); the complete call is emitted once the choice reports its finish reason.
 */
export class ChatChunkMapper {
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  model: string | undefined;
  readonly #calls: PendingCall[] = [];

  map(chunk: ChatCompletionChunk, out: StreamPart[]): void {
    if (chunk.model) this.model = chunk.model;
    if (chunk.usage) this.usage = toUsage(chunk.usage);
    const choice = chunk.choices[0];
    if (!choice) return;
    const { delta } = choice;
    const reasoning = reasoningOf(delta);
    if (reasoning) out.push({ type: 'reasoning-delta', text: reasoning });
    if (delta.content) out.push({ type: 'text-delta', text: delta.content });
    if (delta.refusal) out.push({ type: 'text-delta', text: delta.refusal });
    for (const fragment of delta.tool_calls ?? []) {
      const args = fragment.function?.arguments ?? fragment.custom?.input ?? '';
      let call = this.#calls[fragment.index];
      if (!call) {
        call = {
          id: fragment.id || `call_${fragment.index}`,
          name: fragment.function?.name ?? fragment.custom?.name ?? '',
          arguments: args,
          done: false,
        };
        this.#calls[fragment.index] = call;
        out.push({ type: 'tool-call-delta', toolCallId: call.id, toolName: call.name, inputDelta: args });
      } else if (args) {
        call.arguments += args;
        out.push({ type: 'tool-call-delta', toolCallId: call.id, inputDelta: args });
      }
    }
    if (choice.finish_reason) {
      this.finishReason = toFinishReason(choice.finish_reason);
      this.flushCalls(out);
    }
  }

  flushCalls(out: StreamPart[]): void {
    for (const call of this.#calls) {
      if (!call || call.done) continue;
      call.done = true;
      out.push({ type: 'tool-call', toolCallId: call.id, toolName: call.name, input: parseToolInput(call.arguments) });
    }
  }

  finish(): StreamPart {
    const part: StreamPart = { type: 'finish', finishReason: this.finishReason ?? 'other' };
    if (this.usage) part.usage = this.usage;
    if (this.model !== undefined) part.model = this.model;
    return part;
  }
}
