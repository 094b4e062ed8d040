import type {
  LanguageModelV4CallOptions,
  LanguageModelV4Prompt,
  LanguageModelV4ToolResultOutput,
  SharedV4Warning,
} from '@ai-sdk/provider';
import type {
  AssistantMessage,
  CallWarning,
  JsonResponseFormat,
  Message,
  ModelRequest,
  UserMessage,
} from '../core/messages.js';

/** AI SDK v4 call options → modelware request, for `toLanguageModel`. */

type Part = Exclude<AssistantMessage['content'], string>[number];
type UserPart = Exclude<UserMessage['content'], string>[number];

export function toRequest(
  call: LanguageModelV4CallOptions,
  modelId: string,
): { request: ModelRequest; warnings: SharedV4Warning[] } {
  const warnings: SharedV4Warning[] = [];
  const request: ModelRequest = { model: modelId, messages: toMessages(call.prompt) };
  const tools = [];
  for (const tool of call.tools ?? []) {
    if (tool.type === 'function') {
      const spec = { name: tool.name, inputSchema: tool.inputSchema as Record<string, unknown> };
      tools.push(tool.description === undefined ? spec : { ...spec, description: tool.description });
    } else {
      warnings.push({
        type: 'unsupported',
        feature: `provider tool ${tool.id}`,
        details: 'modelware executors take function tools only',
      });
    }
  }
  if (tools.length > 0) request.tools = tools;
  const options: NonNullable<ModelRequest['options']> = {};
  if (call.maxOutputTokens !== undefined) options.maxOutputTokens = call.maxOutputTokens;
  if (call.temperature !== undefined) options.temperature = call.temperature;
  if (call.topP !== undefined) options.topP = call.topP;
  if (call.stopSequences !== undefined) options.stopSequences = call.stopSequences;
  if (call.seed !== undefined) options.seed = call.seed;
  // generateText sends toolChoice 'auto' even without tools; providers reject tool_choice without tools.
  if (call.toolChoice !== undefined && tools.length > 0) {
    options.toolChoice =
      call.toolChoice.type === 'tool' ? { type: 'tool', toolName: call.toolChoice.toolName } : call.toolChoice.type;
  }
  for (const feature of ['topK', 'presencePenalty', 'frequencyPenalty'] as const) {
    if (call[feature] !== undefined) warnings.push({ type: 'unsupported', feature });
  }
  const format = call.responseFormat;
  if (format?.type === 'json') {
    const json: JsonResponseFormat = { type: 'json' };
    if (format.schema !== undefined) json.schema = format.schema as Record<string, unknown>;
    // Names the provider would reject (OpenAI's pattern) are left out rather than failing the call.
    if (format.name !== undefined && /^[a-zA-Z0-9_-]{1,64}$/.test(format.name)) json.name = format.name;
    if (format.description !== undefined) json.description = format.description;
    request.responseFormat = json;
  } else if (format?.type === 'text') request.responseFormat = { type: 'text' };
  const extra = call.providerOptions?.modelware as { metadata?: unknown; options?: unknown } | undefined;
  if (isRecord(extra?.options)) {
    // Own keys only, defined rather than assigned: a `__proto__` key must not become the prototype.
    for (const [name, value] of Object.entries(extra.options)) {
      Object.defineProperty(options, name, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  if (Object.keys(options).length > 0) request.options = options;
  if (isRecord(extra?.metadata)) request.metadata = extra.metadata;
  return { request, warnings };
}

function toMessages(prompt: LanguageModelV4Prompt): Message[] {
  const messages: Message[] = [];
  for (const message of prompt) {
    if (message.role === 'system') messages.push({ role: 'system', content: message.content });
    else if (message.role === 'user') {
      const parts: UserPart[] = message.content.map((part): UserPart => {
        if (part.type === 'text') return { type: 'text', text: part.text };
        if (part.data.type === 'text') return { type: 'text', text: part.data.text };
        if (!part.mediaType.startsWith('image') || part.data.type === 'reference') {
          throw new TypeError(
            `toLanguageModel(): file parts of type \`${part.mediaType}\` (${part.data.type}) are not supported; modelware user messages carry text and images.`,
          );
        }
        const image = part.data.type === 'url' ? part.data.url.toString() : toBase64(part.data.data);
        return part.mediaType.includes('/') && !part.mediaType.endsWith('/*')
          ? { type: 'image', image, mediaType: part.mediaType }
          : { type: 'image', image };
      });
      const only = parts[0];
      messages.push({ role: 'user', content: parts.length === 1 && only?.type === 'text' ? only.text : parts });
    } else if (message.role === 'assistant') {
      const parts: Part[] = [];
      for (const part of message.content) {
        if (part.type === 'text') parts.push({ type: 'text', text: part.text });
        else if (part.type === 'reasoning') {
          const signature = anySignature(part.providerOptions);
          parts.push(
            signature === undefined
              ? { type: 'reasoning', text: part.text }
              : { type: 'reasoning', text: part.text, signature },
          );
        } else if (part.type === 'tool-call' && !part.providerExecuted) {
          parts.push({ type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
        }
      }
      const only = parts[0];
      messages.push({ role: 'assistant', content: parts.length === 1 && only?.type === 'text' ? only.text : parts });
    } else {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const { content, isError } = toolOutput(part.output);
        const tool: Message = { role: 'tool', toolCallId: part.toolCallId, toolName: part.toolName, content };
        messages.push(isError ? { ...tool, isError } : tool);
      }
    }
  }
  return messages;
}

function toolOutput(output: LanguageModelV4ToolResultOutput): { content: string; isError: boolean } {
  switch (output.type) {
    case 'text':
      return { content: output.value, isError: false };
    case 'json':
      return { content: JSON.stringify(output.value), isError: false };
    case 'error-text':
      return { content: output.value, isError: true };
    case 'error-json':
      return { content: JSON.stringify(output.value), isError: true };
    case 'execution-denied':
      return { content: output.reason ?? 'The tool call was denied.', isError: true };
    case 'content':
      return { content: output.value.map((item) => (item.type === 'text' ? item.text : '')).join(''), isError: false };
  }
}

function anySignature(providerOptions: Readonly<Record<string, unknown>> | undefined): string | undefined {
  for (const value of Object.values(providerOptions ?? {})) {
    const signature = (value as { signature?: unknown } | undefined)?.signature;
    if (typeof signature === 'string') return signature;
  }
  return undefined;
}

/** Warnings of a modelware response as the AI SDK's, after the ones the translation raised. */
export function withResponseWarnings(
  warnings: readonly SharedV4Warning[],
  response: readonly CallWarning[] | undefined,
): SharedV4Warning[] {
  if (!response || response.length === 0) return [...warnings];
  return [
    ...warnings,
    ...response.map((w): SharedV4Warning => {
      if (w.type === 'other') return { type: 'other', message: w.details ?? w.feature };
      return w.details === undefined
        ? { type: w.type, feature: w.feature }
        : { type: w.type, feature: w.feature, details: w.details };
    }),
  ];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toBase64(data: Uint8Array | string): string {
  if (typeof data === 'string') return data;
  // btoa works in Node >= 16, browsers and edge runtimes alike; chunks keep the argument list short.
  let binary = '';
  for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
  return btoa(binary);
}
