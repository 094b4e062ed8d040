// Names the package so the dts build resolves the `declare module 'modelware'` below (ProviderOptionTypes).
import type {} from 'modelware';
import type OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsBase,
} from 'openai/resources/chat/completions';
import type {
  ExecuteOptions,
  Executor,
  ExecutorCapabilities,
  ExecutorWithDefaultModel,
  ReadonlyModelRequest,
} from '../core/executor.js';
import type { ModelResponse, StreamPart } from '../core/messages.js';
import { type CoreFields, callExtras } from './content.js';
import { ChatChunkMapper, fromChatCompletion, toChatParams } from './openai-wire.js';
import { checkOneOf, optionNames } from '../internal/options.js';
import { callSdk, checkSdkOptions, relaySdkStream, streamCut } from './sdk-executor.js';

/** `request.responseFormat`'s schema goes to the provider (`validateOutput()` relies on it). */
const CAPABILITIES: ExecutorCapabilities = Object.freeze({ responseFormat: 'schema' });

/**
 * Chat Completions fields the adapter fills from the request: `body` and `options.openai` may not
 * set them (each would bypass the layers that checked the request), with where to set them instead.
 */
const CORE: CoreFields = new Map<OpenAIMappedField, string>([
  ['model', 'Set `request.model` (or use router()).'],
  ['messages', 'Set `request.messages`.'],
  ['tools', 'Set `request.tools`.'],
  ['functions', 'Set `request.tools`.'],
  ['tool_choice', 'Set `options.toolChoice`.'],
  ['function_call', 'Set `options.toolChoice`.'],
  ['temperature', 'Set `options.temperature`.'],
  ['top_p', 'Set `options.topP`.'],
  ['max_completion_tokens', 'Set `options.maxOutputTokens`.'],
  ['max_tokens', 'Set `options.maxOutputTokens` (and the executor option `maxTokensField`).'],
  ['stop', 'Set `options.stopSequences`.'],
  ['seed', 'Set `options.seed`.'],
  ['stream', 'Call `app.stream()` or `app.generate()`.'],
  ['n', 'Only one choice is read: make one call per answer.'],
  ['response_format', 'Set `request.responseFormat` (e.g. `jsonResponseFormat(zodSchema)`).'],
]);

/** The Chat Completions fields `openaiExecutor` fills from the request (see `OpenAIProviderOptions`). */
export type OpenAIMappedField =
  | 'model'
  | 'messages'
  | 'tools'
  | 'functions'
  | 'tool_choice'
  | 'function_call'
  | 'temperature'
  | 'top_p'
  | 'max_completion_tokens'
  | 'max_tokens'
  | 'stop'
  | 'seed'
  | 'stream'
  | 'n'
  | 'response_format';

/**
 * The type of `request.options.openai`: the SDK's Chat Completions params minus the fields the
 * adapter maps from the request, which are compile errors here (and `InvalidRequestError`s at run
 * time). For fields of OpenAI-compatible servers the SDK does not declare, use the executor's
 * untyped `body` option.
 */
export type OpenAIProviderOptions = Omit<ChatCompletionCreateParamsBase, OpenAIMappedField> & {
  readonly [K in OpenAIMappedField]?: never;
};

declare module 'modelware' {
  interface ProviderOptionTypes {
    openai: OpenAIProviderOptions;
  }
}

/** The part of an `OpenAI` (or `AzureOpenAI`) client the adapter uses. */
export type OpenAIClient = Pick<OpenAI, 'chat'>;

export interface OpenAIExecutorOptions {
  /** The SDK client, e.g. `new OpenAI({ apiKey })`; its base URL, timeout and retries apply. */
  readonly client: OpenAIClient;
  /**
   * The default model id (`executor.defaultModel`): `runAgent` and `streamAgent` send it when the
   * run passes no `modelId`. A request's own `model` is always what is sent. @default undefined
   */
  readonly model?: string | undefined;
  /** Shown in errors and events, and as `ProviderError.provider`. @default 'openai' */
  readonly name?: string | undefined;
  /** Role for system messages: `developer` is what OpenAI's reasoning models expect. @default 'system' */
  readonly systemRole?: 'system' | 'developer' | undefined;
  /**
   * Field that carries `options.maxOutputTokens`: `max_tokens` for OpenAI-compatible servers that
   * predate `max_completion_tokens`. @default 'max_completion_tokens'
   */
  readonly maxTokensField?: 'max_completion_tokens' | 'max_tokens' | undefined;
  /** Ask for usage in streamed calls (`stream_options.include_usage`). @default true */
  readonly streamUsage?: boolean | undefined;
  /**
   * Extra body fields for every call (e.g. `{ reasoning_effort: 'low', service_tier: 'flex' }`).
   * A call adds its own in `request.options.openai`, which win. Neither may set a field the adapter
   * fills from the request (`model`, `messages`, `tools`, `stream`, `n`, ...): the factory throws a
   * `TypeError`, a call an `InvalidRequestError`. @default undefined
   */
  readonly body?: Readonly<Record<string, unknown>> | undefined;
}

const OPTION_KEYS = optionNames<OpenAIExecutorOptions>({
  client: true,
  model: true,
  name: true,
  systemRole: true,
  maxTokensField: true,
  streamUsage: true,
  body: true,
});

/**
 * An executor over OpenAI Chat Completions. Pass the SDK client; modelware never loads the SDK
 * itself. The call's signal aborts the HTTP request, and API failures become `ProviderError`s with
 * `retryable` and `retryAfterMs`, which `retry()` honours.
 *
 * @example
 * const app = pipeline(openaiExecutor({ client: new OpenAI() })).use(retry());
 * const response = await app.generate({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'Hi' }] });
 * // With a default model, runAgent({ model: app, messages }) needs no modelId:
 * const agentApp = pipeline(openaiExecutor({ client: new OpenAI(), model: 'gpt-5-mini' }));
 */
export function openaiExecutor(options: OpenAIExecutorOptions & { readonly model: string }): ExecutorWithDefaultModel;
export function openaiExecutor(options: OpenAIExecutorOptions): Executor;
export function openaiExecutor(options: OpenAIExecutorOptions): Executor {
  checkSdkOptions('openaiExecutor()', options, {
    keys: OPTION_KEYS,
    method: ['chat', 'completions', 'create'],
    example: 'new OpenAI({ apiKey })',
    core: CORE,
  });
  const {
    client,
    model,
    name = 'openai',
    systemRole = 'system',
    maxTokensField = 'max_completion_tokens',
    streamUsage = true,
    body,
  } = options ?? ({} as OpenAIExecutorOptions);
  checkOneOf('openaiExecutor()', 'systemRole', systemRole, ['system', 'developer']);
  checkOneOf('openaiExecutor()', 'maxTokensField', maxTokensField, ['max_completion_tokens', 'max_tokens']);
  const settings = { systemRole, maxTokensField };
  const completions = client.chat.completions;

  function params(request: ReadonlyModelRequest): ChatCompletionCreateParamsBase {
    const mapped = toChatParams(request, settings);
    const extras = callExtras(request, 'openai', CORE, name);
    return body || extras ? { ...mapped, ...body, ...extras } : mapped;
  }

  return {
    name,
    ...(model !== undefined && { defaultModel: model }),
    capabilities: CAPABILITIES,
    async generate(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): Promise<ModelResponse> {
      const signal = callOptions?.signal;
      const completion: ChatCompletion = await callSdk(
        () => completions.create({ ...params(request), stream: false }, { signal }),
        name,
        signal,
      );
      return fromChatCompletion(completion, name);
    },

    async *stream(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): AsyncGenerator<StreamPart> {
      const signal = callOptions?.signal;
      const wire = { ...params(request), stream: true as const };
      if (streamUsage) wire.stream_options = { ...wire.stream_options, include_usage: true };
      const mapper = new ChatChunkMapper();
      yield* relaySdkStream<ChatCompletionChunk>(
        () => completions.create(wire, { signal }),
        (chunk, out) => mapper.map(chunk, out),
        name,
        signal,
      );
      if (mapper.finishReason === undefined) throw streamCut(name, 'a finish reason');
      const out: StreamPart[] = [];
      mapper.flushCalls(out);
      yield* out;
      yield mapper.finish();
    },
  };
}

export {
  type OpenAIResponsesClient,
  type OpenAIResponsesExecutorOptions,
  type OpenAIResponsesMappedField,
  type OpenAIResponsesProviderOptions,
  openaiResponsesExecutor,
} from './openai-responses.js';
export type { ReasoningItemMetadata } from './openai-responses-wire.js';
