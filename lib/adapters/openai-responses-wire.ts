import type {
  Response,
  ResponseCreateParamsBase,
  ResponseFormatTextConfig,
  ResponseInputContent,
  ResponseInputItem,
  ResponseOutputItem,
  ResponseStreamEvent,
  ResponseUsage,
} from 'openai/resources/responses/responses';
import { ProviderError } from '../core/errors.js';
import type { ReadonlyModelRequest } from '../core/executor.js';
import type {
  AssistantMessage,
  CallWarning,
  FinishReason,
  ModelResponse,
  StreamPart,
  Usage,
} from '../core/messages.js';
import { imageSource, isRecord, parseToolInput } from './content.js';

/** Responses API mapping: modelware request → wire params, wire response/events → modelware. */

type Message = ReadonlyModelRequest['messages'][number];
type Part = Exclude<AssistantMessage['content'], string>[number];

/** The key of `ReasoningPart.providerMetadata` this adapter reads and writes. */
export const METADATA_KEY = 'openai';

/** What a reasoning part keeps so the item can be sent back on the next turn. */
export interface ReasoningItemMetadata {
  /** The reasoning item's id (`rs_...`): enough when the response was stored (the default). */
  readonly itemId: string;
  /** Its `encrypted_content`, returned with `include: ['reasoning.encrypted_content']` (for `store: false`). */
  readonly encryptedContent?: string | undefined;
}

export interface ResponsesWireSettings {
  readonly systemRole: 'system' | 'developer';
  readonly provider: string;
}

export function toResponsesParams(
  request: ReadonlyModelRequest,
  settings: ResponsesWireSettings,
  warnings: CallWarning[] = [],
): ResponseCreateParamsBase {
  const input: ResponseInputItem[] = [];
  request.messages.forEach((message, i) => {
    addInput(message, i, settings, input);
  });
  const params: ResponseCreateParamsBase = { model: request.model, input };
  if (request.tools && request.tools.length > 0) {
    params.tools = request.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      ...(tool.description !== undefined && { description: tool.description }),
      parameters: tool.inputSchema as Record<string, unknown>,
      // Strict mode demands schemas the caller's zod schemas need not satisfy.
      strict: false,
    }));
  }
  const options = request.options;
  if (options) {
    if (options.temperature !== undefined) params.temperature = options.temperature;
    if (options.topP !== undefined) params.top_p = options.topP;
    if (options.maxOutputTokens !== undefined) params.max_output_tokens = options.maxOutputTokens;
    for (const key of ['stopSequences', 'seed'] as const) {
      if (options[key] === undefined) continue;
      warnings.push({
        type: 'unsupported',
        feature: `options.${key}`,
        details: `The Responses API has no ${key === 'seed' ? 'seed' : 'stop sequences'}; the call was sent without it. openaiExecutor() (Chat Completions) takes it.`,
      });
    }
    // Providers reject a tool choice without tools (a layer may have removed them).
    if (options.toolChoice !== undefined && params.tools) {
      const choice = options.toolChoice;
      params.tool_choice = typeof choice === 'string' ? choice : { type: 'function', name: choice.toolName };
    }
  }
  if (request.responseFormat !== undefined) params.text = { format: toTextFormat(request.responseFormat) };
  return params;
}

/** `text`, `json_object` without a schema, strict `json_schema` with one (the Responses API's `text.format`). */
export function toTextFormat(format: NonNullable<ReadonlyModelRequest['responseFormat']>): ResponseFormatTextConfig {
  if (format.type === 'text') return { type: 'text' };
  if (format.schema === undefined) return { type: 'json_object' };
  return {
    type: 'json_schema',
    name: format.name ?? 'response',
    schema: format.schema as Record<string, unknown>,
    strict: format.strict ?? true,
    ...(format.description !== undefined && { description: format.description }),
  };
}

function addInput(message: Message, index: number, settings: ResponsesWireSettings, input: ResponseInputItem[]): void {
  switch (message.role) {
    case 'system':
      input.push({ role: settings.systemRole, content: message.content });
      return;
    case 'user':
      if (typeof message.content === 'string') {
        input.push({ role: 'user', content: message.content });
        return;
      }
      input.push({
        role: 'user',
        content: message.content.map((part, j): ResponseInputContent => {
          if (part.type === 'text') return { type: 'input_text', text: part.text };
          const source = imageSource(part, `${settings.provider}: messages[${index}].content[${j}]`);
          const url = source.kind === 'url' ? source.url : `data:${source.mediaType};base64,${source.data}`;
          return { type: 'input_image', image_url: url, detail: 'auto' };
        }),
      });
      return;
    case 'assistant': {
      if (typeof message.content === 'string') {
        input.push({ role: 'assistant', content: message.content });
        return;
      }
      // Items keep the part order: reasoning, then the text or call it led to (the API requires it).
      let text = '';
      const flush = () => {
        if (text !== '') input.push({ role: 'assistant', content: text });
        text = '';
      };
      for (const part of message.content) {
        if (part.type === 'text') text += part.text;
        else if (part.type === 'tool-call') {
          flush();
          input.push({
            type: 'function_call',
            call_id: part.toolCallId,
            name: part.toolName,
            arguments: typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? {}),
          });
        } else {
          const item = reasoningMetadata(part.providerMetadata);
          // Reasoning from another provider (or without its item id) has no Responses input form.
          if (item === undefined) continue;
          flush();
          input.push({
            type: 'reasoning',
            id: item.itemId,
            summary: part.text === '' ? [] : [{ type: 'summary_text', text: part.text }],
            ...(item.encryptedContent !== undefined && { encrypted_content: item.encryptedContent }),
          });
        }
      }
      flush();
      return;
    }
    case 'tool':
      input.push({ type: 'function_call_output', call_id: message.toolCallId, output: message.content });
      return;
  }
}

function reasoningMetadata(metadata: unknown): ReasoningItemMetadata | undefined {
  const entry = isRecord(metadata) ? metadata[METADATA_KEY] : undefined;
  if (!isRecord(entry) || typeof entry.itemId !== 'string') return undefined;
  const { itemId, encryptedContent } = entry;
  return typeof encryptedContent === 'string' ? { itemId, encryptedContent } : { itemId };
}

function reasoningPartMetadata(item: { id: string; encrypted_content?: string | null | undefined }) {
  const entry: ReasoningItemMetadata =
    typeof item.encrypted_content === 'string'
      ? { itemId: item.id, encryptedContent: item.encrypted_content }
      : { itemId: item.id };
  return { [METADATA_KEY]: entry };
}

/** The text of a reasoning item: its summaries, or its raw reasoning text, joined by blank lines. */
function reasoningText(item: Extract<ResponseOutputItem, { type: 'reasoning' }>): string {
  const summary = item.summary.map((s) => s.text);
  return (summary.length > 0 ? summary : (item.content ?? []).map((c) => c.text)).join('\n\n');
}

export function fromResponse(response: Response, provider: string): ModelResponse {
  if (response.status === 'failed') throw failed(response, provider);
  const parts: Part[] = [];
  let calls = false;
  for (const item of response.output) {
    if (item.type === 'reasoning') {
      parts.push({ type: 'reasoning', text: reasoningText(item), providerMetadata: reasoningPartMetadata(item) });
    } else if (item.type === 'message') {
      let text = '';
      for (const content of item.content) text += content.type === 'output_text' ? content.text : content.refusal;
      const last = parts[parts.length - 1];
      if (last?.type === 'text') last.text += text;
      else if (text !== '') parts.push({ type: 'text', text });
    } else if (item.type === 'function_call') {
      calls = true;
      parts.push({
        type: 'tool-call',
        toolCallId: item.call_id,
        toolName: item.name,
        input: parseToolInput(item.arguments),
      });
    }
    // Built-in tool items (web search, file search, ...) are the provider's own: not mapped.
  }
  const only = parts[0];
  const modelResponse: ModelResponse = {
    message: {
      role: 'assistant',
      content: parts.length === 0 ? '' : parts.length === 1 && only?.type === 'text' ? only.text : parts,
    },
    finishReason: finishReason(response, calls),
    model: response.model,
  };
  if (response.usage) modelResponse.usage = toUsage(response.usage);
  return modelResponse;
}

function finishReason(response: Pick<Response, 'status' | 'incomplete_details'>, calls: boolean): FinishReason {
  if (response.status === 'incomplete') {
    const reason = response.incomplete_details?.reason;
    return reason === 'max_output_tokens' ? 'length' : reason === 'content_filter' ? 'content-filter' : 'other';
  }
  if (response.status === 'completed') return calls ? 'tool-calls' : 'stop';
  return 'other';
}

export function toUsage(usage: ResponseUsage): Usage {
  const out: Usage = {
    inputTokens: usage.input_tokens,
    outputTokens: usage.output_tokens,
    totalTokens: usage.total_tokens,
  };
  const cached = usage.input_tokens_details?.cached_tokens;
  if (typeof cached === 'number') out.cachedInputTokens = cached;
  const reasoning = usage.output_tokens_details?.reasoning_tokens;
  if (typeof reasoning === 'number') out.reasoningTokens = reasoning;
  return out;
}

/** A `failed` response: the provider's text stays in `providerMessage` (it may echo the prompt). */
function failed(response: Pick<Response, 'id' | 'error'>, provider: string): ProviderError {
  const code = response.error?.code ?? 'response_failed';
  const retryable = code === 'server_error' || code === 'rate_limit_exceeded';
  return new ProviderError({
    provider,
    message: `${provider}: the response \`${response.id}\` failed (\`${code}\`). ${retryable ? 'Retryable: add retry() to try again.' : 'Not retryable: check the request.'}`,
    retryable,
    code,
    providerMessage: response.error?.message,
  });
}

/**
 * Turns Responses stream events into stream parts. Function call arguments arrive as deltas keyed
 * by item id (the call id and name come in `response.output_item.added`); the complete call is
 * emitted when its item is done. A reasoning item's id and encrypted content arrive with its
 * `response.output_item.done`, as a last empty reasoning delta carrying the provider metadata.
 */
export class ResponsesEventMapper {
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  model: string | undefined;
  readonly #calls = new Map<string, string>();
  #sawCall = false;

  constructor(readonly provider: string) {}

  map(event: ResponseStreamEvent, out: StreamPart[]): void {
    switch (event.type) {
      case 'response.created':
      case 'response.in_progress':
        this.model = event.response.model;
        return;
      case 'response.output_item.added': {
        const item = event.item;
        if (item.type === 'function_call') {
          this.#calls.set(item.id ?? item.call_id, item.call_id);
          out.push({
            type: 'tool-call-delta',
            toolCallId: item.call_id,
            toolName: item.name,
            inputDelta: item.arguments,
          });
        }
        return;
      }
      case 'response.function_call_arguments.delta': {
        const callId = this.#calls.get(event.item_id);
        if (callId !== undefined) out.push({ type: 'tool-call-delta', toolCallId: callId, inputDelta: event.delta });
        return;
      }
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        out.push({ type: 'text-delta', text: event.delta });
        return;
      case 'response.reasoning_summary_part.added':
        // Summary parts are joined by a blank line, as in generate mode.
        if (event.summary_index > 0) out.push({ type: 'reasoning-delta', text: '\n\n' });
        return;
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        out.push({ type: 'reasoning-delta', text: event.delta });
        return;
      case 'response.output_item.done': {
        const item = event.item;
        if (item.type === 'reasoning') {
          out.push({ type: 'reasoning-delta', text: '', providerMetadata: reasoningPartMetadata(item) });
        } else if (item.type === 'function_call') {
          this.#sawCall = true;
          out.push({
            type: 'tool-call',
            toolCallId: item.call_id,
            toolName: item.name,
            input: parseToolInput(item.arguments),
          });
        }
        return;
      }
      case 'response.completed':
      case 'response.incomplete':
        this.model = event.response.model;
        this.finishReason = finishReason(event.response, this.#sawCall);
        if (event.response.usage) this.usage = toUsage(event.response.usage);
        return;
      case 'response.failed':
        throw failed(event.response, this.provider);
      default:
        return;
    }
  }

  finish(): StreamPart {
    const part: StreamPart = { type: 'finish', finishReason: this.finishReason ?? 'other' };
    if (this.usage) part.usage = this.usage;
    if (this.model !== undefined) part.model = this.model;
    return part;
  }
}
