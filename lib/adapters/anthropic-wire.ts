import type {
  CacheControlEphemeral,
  ContentBlockParam,
  ImageBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  TextBlockParam,
  ToolChoice,
  ToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/messages';
import type { ReadonlyModelRequest } from '../core/executor.js';
import type { AssistantMessage, CallWarning, FinishReason, ModelResponse, Usage } from '../core/messages.js';
import { imageSource } from './content.js';

/** Messages API mapping: modelware request → wire params, wire message/events → modelware. */

type Part = Exclude<AssistantMessage['content'], string>[number];
type ToolChoiceOption = NonNullable<NonNullable<ReadonlyModelRequest['options']>['toolChoice']>;

/** Call options the Messages API cannot take: modelware names → the wire field the API dropped. */
const SAMPLING: readonly (readonly ['temperature' | 'topP' | 'seed', string | undefined])[] = [
  ['temperature', 'temperature'],
  ['topP', 'top_p'],
  ['seed', undefined],
];

type WireCacheControl = { readonly type: 'ephemeral'; readonly ttl?: '5m' | '1h' | undefined } | undefined;

/** `cache_control` for a part that has `cacheControl`, or nothing. */
function withCache<T extends object>(block: T, cache: WireCacheControl): T {
  if (cache === undefined) return block;
  const cache_control: CacheControlEphemeral = { type: 'ephemeral' };
  if (cache.ttl !== undefined) cache_control.ttl = cache.ttl;
  return { ...block, cache_control };
}

/**
 * The Messages API params of a request, and the options it could not honour (`seed`; JSON without
 * a schema, which the API has no mode for).
 */
export function toMessageParams(
  request: ReadonlyModelRequest,
  maxTokens: number,
  warnings: CallWarning[] = [],
): MessageCreateParamsBase {
  const system: TextBlockParam[] = [];
  const messages: MessageParam[] = [];
  // Tool results answer the assistant turn before them; Anthropic wants them together in one user turn.
  let results: ToolResultBlockParam[] | undefined;
  request.messages.forEach((message, i) => {
    if (message.role !== 'tool') results = undefined;
    switch (message.role) {
      case 'system':
        // Leading system messages are the system prompt; later ones stay in place (API 2026-10-21 accepts them).
        if (messages.length === 0)
          system.push(withCache({ type: 'text', text: message.content }, message.cacheControl));
        else if (message.cacheControl === undefined) messages.push({ role: 'system', content: message.content });
        else {
          const block = withCache<TextBlockParam>({ type: 'text', text: message.content }, message.cacheControl);
          messages.push({ role: 'system', content: [block] } as unknown as MessageParam);
        }
        return;
      case 'user':
        if (typeof message.content === 'string') messages.push({ role: 'user', content: message.content });
        else {
          messages.push({
            role: 'user',
            content: message.content.map((part, j): TextBlockParam | ImageBlockParam =>
              part.type === 'text'
                ? withCache<TextBlockParam>({ type: 'text', text: part.text }, part.cacheControl)
                : withCache(toImageBlock(part, `anthropic: messages[${i}].content[${j}]`), part.cacheControl),
            ),
          });
        }
        return;
      case 'assistant':
        messages.push({ role: 'assistant', content: toAssistantContent(message.content) });
        return;
      case 'tool': {
        const block: ToolResultBlockParam = withCache<ToolResultBlockParam>(
          { type: 'tool_result', tool_use_id: message.toolCallId, content: message.content },
          message.cacheControl,
        );
        if (message.isError) block.is_error = true;
        if (results) results.push(block);
        else {
          results = [block];
          messages.push({ role: 'user', content: results });
        }
        return;
      }
    }
  });
  const params: MessageCreateParamsBase = {
    model: request.model,
    max_tokens: request.options?.maxOutputTokens ?? maxTokens,
    messages,
  };
  if (system.length > 0) {
    // Without breakpoints the system prompt stays one string, as before.
    params.system = system.some((block) => block.cache_control)
      ? system
      : system.map((block) => block.text).join('\n\n');
  }
  if (request.tools && request.tools.length > 0) {
    params.tools = request.tools.map((tool) => {
      const input_schema = tool.inputSchema as { type: 'object' };
      return withCache(
        tool.description === undefined
          ? { name: tool.name, input_schema }
          : { name: tool.name, description: tool.description, input_schema },
        tool.cacheControl,
      );
    });
  }
  const options = request.options;
  for (const [key, wire] of SAMPLING) {
    if (options?.[key] === undefined) continue;
    warnings.push({
      type: 'unsupported',
      feature: `options.${key}`,
      details:
        wire === undefined
          ? 'The Messages API has no seed; the call was sent without it.'
          : `The Messages API (SDK 1.x) no longer takes \`${wire}\`; the call was sent without it. For a server that still does, set \`${wire}\` in the executor's \`body\`.`,
    });
  }
  const format = request.responseFormat;
  if (format?.type === 'json') {
    if (format.schema !== undefined) {
      params.output_config = { format: { type: 'json_schema', schema: format.schema as Record<string, unknown> } };
    } else {
      warnings.push({
        type: 'unsupported',
        feature: 'responseFormat',
        details:
          'The Messages API constrains output to a JSON schema only: pass `schema` (e.g. jsonResponseFormat(zodSchema)); the call was sent as free text.',
      });
    }
  }
  if (options?.stopSequences !== undefined) params.stop_sequences = [...options.stopSequences];
  // The API rejects a tool choice without tools (a layer may have removed them).
  if (options?.toolChoice !== undefined && params.tools) params.tool_choice = toToolChoice(options.toolChoice);
  return params;
}

function toImageBlock(
  part: { readonly image: string; readonly mediaType?: string | undefined },
  where: string,
): ImageBlockParam {
  const source = imageSource(part, where);
  if (source.kind === 'url') return { type: 'image', source: { type: 'url', url: source.url } };
  const media_type = source.mediaType as 'image/png';
  return { type: 'image', source: { type: 'base64', media_type, data: source.data } };
}

function toAssistantContent(
  content: ReadonlyModelRequest['messages'][number]['content'],
): string | ContentBlockParam[] {
  if (typeof content === 'string') return content;
  const blocks: ContentBlockParam[] = [];
  for (const part of content as readonly Part[]) {
    if (part.type === 'text') {
      // The API rejects empty text blocks.
      if (part.text) blocks.push(withCache<TextBlockParam>({ type: 'text', text: part.text }, part.cacheControl));
    } else if (part.type === 'reasoning') {
      // Only signed thinking can be sent back; the API verifies the signature.
      if (part.signature) blocks.push({ type: 'thinking', thinking: part.text, signature: part.signature });
    } else {
      const input = typeof part.input === 'object' && part.input !== null ? part.input : {};
      blocks.push({ type: 'tool_use', id: part.toolCallId, name: part.toolName, input });
    }
  }
  return blocks;
}

function toToolChoice(choice: ToolChoiceOption): ToolChoice {
  if (typeof choice !== 'string') return { type: 'tool', name: choice.toolName };
  return choice === 'required' ? { type: 'any' } : { type: choice };
}

export function fromMessage(message: Message): ModelResponse {
  const parts: Part[] = [];
  for (const block of message.content) {
    if (block.type === 'text') parts.push({ type: 'text', text: block.text });
    else if (block.type === 'thinking')
      parts.push({ type: 'reasoning', text: block.thinking, signature: block.signature });
    else if (block.type === 'tool_use') {
      parts.push({ type: 'tool-call', toolCallId: block.id, toolName: block.name, input: block.input });
    }
    // redacted_thinking and server-tool blocks have no modelware part (docs/adapters.md).
  }
  const onlyText = parts.length === 1 && parts[0]?.type === 'text';
  return {
    message: {
      role: 'assistant',
      content: parts.length === 0 ? '' : onlyText ? (parts[0] as { text: string }).text : parts,
    },
    finishReason: toFinishReason(message.stop_reason),
    usage: toUsage(message.usage),
    model: message.model,
  };
}

export function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    default:
      return 'other';
  }
}

export interface WireUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number } | null;
}

/** Anthropic counts cache reads and writes apart from `input_tokens`; modelware's input is the sum. */
export function toUsage(usage: WireUsage): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const inputTokens = (usage.input_tokens ?? 0) + cacheRead + (usage.cache_creation_input_tokens ?? 0);
  const outputTokens = usage.output_tokens ?? 0;
  const out: Usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  if (usage.cache_read_input_tokens != null) out.cachedInputTokens = cacheRead;
  if (usage.cache_creation_input_tokens != null) out.cacheWriteTokens = usage.cache_creation_input_tokens;
  const thinking = usage.output_tokens_details?.thinking_tokens;
  if (typeof thinking === 'number') out.reasoningTokens = thinking;
  return out;
}
