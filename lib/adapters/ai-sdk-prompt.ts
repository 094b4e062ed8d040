import type {
  LanguageModelV4CallOptions,
  LanguageModelV4FilePart,
  LanguageModelV4Message,
  LanguageModelV4TextPart,
  LanguageModelV4ToolResultPart,
  SharedV4ProviderOptions,
} from '@ai-sdk/provider';
import type { ReadonlyModelRequest } from '../core/executor.js';
import type { AssistantMessage } from '../core/messages.js';
import { type CoreFields, callExtras, imageSource, isRecord, rejectCoreFields } from './content.js';

/** modelware request → AI SDK v4 call options, for `aiSdkExecutor`. */

type Part = Exclude<AssistantMessage['content'], string>[number];

/**
 * Body fields of the common provider wires (Chat Completions, Responses, Messages) that carry the
 * model, the conversation, the tools or the streaming mode. Some providers (OpenAI-compatible ones)
 * copy unknown `providerOptions` entries into the body, so no entry may name one of them.
 */
const CORE: CoreFields = new Map([
  ['model', 'Set `request.model` (or use router()).'],
  ['messages', 'Set `request.messages`.'],
  ['prompt', 'Set `request.messages`.'],
  ['input', 'Set `request.messages`.'],
  ['system', 'Put a system message first in `request.messages`.'],
  ['instructions', 'Put a system message first in `request.messages`.'],
  ['tools', 'Set `request.tools`.'],
  ['functions', 'Set `request.tools`.'],
  ['tool_choice', 'Set `options.toolChoice`.'],
  ['toolChoice', 'Set `options.toolChoice`.'],
  ['function_call', 'Set `options.toolChoice`.'],
  ['stream', 'Call `app.stream()` or `app.generate()`.'],
  ['n', 'Only one answer is read: make one call per answer.'],
]);
const NONE: CoreFields = new Map();
type ToolMessage = Extract<LanguageModelV4Message, { role: 'tool' }>;

export function toCallOptions(
  request: ReadonlyModelRequest,
  signal: AbortSignal | undefined,
  key: string,
  layer: string,
): LanguageModelV4CallOptions {
  const call: LanguageModelV4CallOptions = { prompt: toPrompt(request, key) };
  if (request.tools && request.tools.length > 0) {
    call.tools = request.tools.map((tool) =>
      tool.description === undefined
        ? { type: 'function', name: tool.name, inputSchema: tool.inputSchema as object }
        : { type: 'function', name: tool.name, description: tool.description, inputSchema: tool.inputSchema as object },
    );
  }
  const options = request.options;
  if (options?.maxOutputTokens !== undefined) call.maxOutputTokens = options.maxOutputTokens;
  if (options?.temperature !== undefined) call.temperature = options.temperature;
  if (options?.topP !== undefined) call.topP = options.topP;
  if (options?.stopSequences !== undefined) call.stopSequences = [...options.stopSequences];
  if (options?.seed !== undefined) call.seed = options.seed;
  if (options?.toolChoice !== undefined && call.tools) {
    const choice = options.toolChoice;
    call.toolChoice = typeof choice === 'string' ? { type: choice } : { type: 'tool', toolName: choice.toolName };
  }
  const format = request.responseFormat;
  if (format !== undefined) {
    if (format.type === 'text') call.responseFormat = { type: 'text' };
    else {
      // `strict` has no AI SDK field: providers that have a strict mode turn it on for a schema.
      const json: NonNullable<LanguageModelV4CallOptions['responseFormat']> & { type: 'json' } = { type: 'json' };
      if (format.schema !== undefined) json.schema = format.schema as object;
      if (format.name !== undefined) json.name = format.name;
      if (format.description !== undefined) json.description = format.description;
      call.responseFormat = json;
    }
  }
  const providerOptions = callExtras(request, 'providerOptions', NONE, layer);
  if (providerOptions) {
    for (const [provider, entry] of Object.entries(providerOptions)) {
      if (isRecord(entry)) rejectCoreFields(entry, CORE, layer, ['options', 'providerOptions', provider]);
    }
    call.providerOptions = providerOptions as SharedV4ProviderOptions;
  }
  if (signal) call.abortSignal = signal;
  return call;
}

function toPrompt(request: ReadonlyModelRequest, key: string): LanguageModelV4Message[] {
  const prompt: LanguageModelV4Message[] = [];
  let tools: ToolMessage | undefined;
  request.messages.forEach((message, i) => {
    if (message.role !== 'tool') tools = undefined;
    if (message.role === 'system') prompt.push({ role: 'system', content: message.content });
    else if (message.role === 'user') {
      const content: (LanguageModelV4TextPart | LanguageModelV4FilePart)[] =
        typeof message.content === 'string'
          ? [{ type: 'text', text: message.content }]
          : message.content.map((part, j) => {
              if (part.type === 'text') return { type: 'text', text: part.text };
              const source = imageSource(part, `ai-sdk: messages[${i}].content[${j}]`);
              return source.kind === 'url'
                ? {
                    type: 'file',
                    mediaType: part.mediaType ?? 'image',
                    data: { type: 'url', url: new URL(source.url) },
                  }
                : { type: 'file', mediaType: source.mediaType, data: { type: 'data', data: source.data } };
            });
      prompt.push({ role: 'user', content });
    } else if (message.role === 'assistant') {
      const parts =
        typeof message.content === 'string' ? [{ type: 'text' as const, text: message.content }] : message.content;
      const content: Extract<LanguageModelV4Message, { role: 'assistant' }>['content'] = [];
      for (const part of parts as readonly Part[]) {
        if (part.type === 'text') {
          if (part.text) content.push({ type: 'text', text: part.text });
        } else if (part.type === 'reasoning') {
          content.push(
            part.signature === undefined
              ? { type: 'reasoning', text: part.text }
              : { type: 'reasoning', text: part.text, providerOptions: { [key]: { signature: part.signature } } },
          );
        } else
          content.push({ type: 'tool-call', toolCallId: part.toolCallId, toolName: part.toolName, input: part.input });
      }
      prompt.push({ role: 'assistant', content });
    } else {
      const result: LanguageModelV4ToolResultPart = {
        type: 'tool-result',
        toolCallId: message.toolCallId,
        toolName: message.toolName,
        output: message.isError
          ? { type: 'error-text', value: message.content }
          : { type: 'text', value: message.content },
      };
      if (tools) tools.content.push(result);
      else prompt.push((tools = { role: 'tool', content: [result] }));
    }
  });
  return prompt;
}
