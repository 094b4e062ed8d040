// Names the package so the dts build resolves the `declare module 'modelware'` below (ProviderOptionTypes).
import type {} from 'modelware';
import type Anthropic from '@anthropic-ai/sdk';
import type {
  Message,
  MessageCreateParamsBase,
  OutputConfig,
  RawMessageStreamEvent,
  ThinkingConfigParam,
} from '@anthropic-ai/sdk/resources/messages';
import type {
  ExecuteOptions,
  Executor,
  ExecutorCapabilities,
  ExecutorWithDefaultModel,
  ReadonlyModelRequest,
} from '../core/executor.js';
import type { CallWarning, ModelResponse, StreamPart } from '../core/messages.js';
import { MessageEventMapper } from './anthropic-stream.js';
import { fromMessage, toMessageParams } from './anthropic-wire.js';
import { type CoreFields, callExtras } from './content.js';
import { checkInteger, optionNames } from '../internal/options.js';
import { callSdk, checkSdkOptions, relaySdkStream, streamCut } from './sdk-executor.js';

/** `request.responseFormat`'s schema goes to the provider (`validateOutput()` relies on it). */
const CAPABILITIES: ExecutorCapabilities = Object.freeze({ responseFormat: 'schema' });

/**
 * Messages API fields the adapter fills from the request: `body` and `options.anthropic` may not
 * set them (each would bypass the layers that checked the request), with where to set them instead.
 */
const CORE: CoreFields = new Map<AnthropicMappedField, string>([
  ['model', 'Set `request.model` (or use router()).'],
  ['messages', 'Set `request.messages`.'],
  ['system', 'Put a system message first in `request.messages`.'],
  ['tools', 'Set `request.tools`.'],
  ['tool_choice', 'Set `options.toolChoice`.'],
  ['max_tokens', 'Set `options.maxOutputTokens` (or the executor option `maxTokens`).'],
  ['stop_sequences', 'Set `options.stopSequences`.'],
  ['stream', 'Call `app.stream()` or `app.generate()`.'],
]);

/** The Messages API fields `anthropicExecutor` fills from the request (see `AnthropicProviderOptions`). */
export type AnthropicMappedField =
  | 'model'
  | 'messages'
  | 'system'
  | 'tools'
  | 'tool_choice'
  | 'max_tokens'
  | 'stop_sequences'
  | 'stream';

/**
 * The type of `request.options.anthropic`: the SDK's Messages params minus the fields the adapter
 * maps from the request, which are compile errors here (and `InvalidRequestError`s at run time).
 * `output_config` takes everything but `format`, which comes from `request.responseFormat`.
 */
export type AnthropicProviderOptions = Omit<MessageCreateParamsBase, AnthropicMappedField | 'output_config'> & {
  readonly output_config?: Omit<OutputConfig, 'format'> & { readonly format?: never };
} & { readonly [K in AnthropicMappedField]?: never };

declare module 'modelware' {
  interface ProviderOptionTypes {
    anthropic: AnthropicProviderOptions;
  }
}

/** The part of an `Anthropic` client the adapter uses. */
export type AnthropicClient = Pick<Anthropic, 'messages'>;

export interface AnthropicExecutorOptions {
  /** The SDK client, e.g. `new Anthropic({ apiKey })`; its base URL, timeout and retries apply. */
  readonly client: AnthropicClient;
  /**
   * The default model id (`executor.defaultModel`): `runAgent` and `streamAgent` send it when the
   * run passes no `modelId`. A request's own `model` is always what is sent. @default undefined
   */
  readonly model?: string | undefined;
  /** Shown in errors and events, and as `ProviderError.provider`. @default 'anthropic' */
  readonly name?: string | undefined;
  /** `max_tokens` when a request has no `options.maxOutputTokens` (the API requires one). @default 4096 */
  readonly maxTokens?: number | undefined;
  /**
   * Extended thinking for every call, e.g. `{ type: 'adaptive' }` (or `{ type: 'enabled',
   * budget_tokens: 2048 }` on older models); thinking blocks come back as reasoning parts with
   * their signature. @default undefined (the API's default)
   */
  readonly thinking?: ThinkingConfigParam | undefined;
  /**
   * Extra body fields for every call (e.g. `{ service_tier: 'auto' }`). A call adds its own in
   * `request.options.anthropic`, which win. Neither may set a field the adapter fills from the
   * request (`model`, `messages`, `system`, `tools`, `max_tokens`, `stream`, ...): the factory
   * throws a `TypeError`, a call an `InvalidRequestError`. @default undefined
   */
  readonly body?: Readonly<Record<string, unknown>> | undefined;
}

const OPTION_KEYS = optionNames<AnthropicExecutorOptions>({
  client: true,
  model: true,
  name: true,
  maxTokens: true,
  thinking: true,
  body: true,
});

/**
 * An executor over the Anthropic Messages API. Pass the SDK client; modelware never loads the SDK
 * itself. Leading system messages become `system`, tool results are grouped into the next user
 * turn, thinking blocks map to reasoning parts with their signature, `cacheControl` marks become
 * `cache_control` and `responseFormat` with a schema `output_config.format`. Options the API cannot
 * take (`temperature`, `topP`, `seed`) come back as `response.warnings`. The call's signal aborts the
 * HTTP request; API failures become `ProviderError`s that `retry()` honours.
 *
 * @example
 * const app = pipeline(anthropicExecutor({ client: new Anthropic(), maxTokens: 2048 })).use(retry());
 * // With a default model, runAgent({ model: agentApp, messages }) needs no modelId:
 * const agentApp = pipeline(anthropicExecutor({ client: new Anthropic(), model: 'claude-sonnet-4-5' }));
 */
export function anthropicExecutor(
  options: AnthropicExecutorOptions & { readonly model: string },
): ExecutorWithDefaultModel;
export function anthropicExecutor(options: AnthropicExecutorOptions): Executor;
export function anthropicExecutor(options: AnthropicExecutorOptions): Executor {
  checkSdkOptions('anthropicExecutor()', options, {
    keys: OPTION_KEYS,
    method: ['messages', 'create'],
    example: 'new Anthropic({ apiKey })',
    core: CORE,
  });
  const {
    client,
    model,
    name = 'anthropic',
    maxTokens = 4096,
    thinking,
    body,
  } = options ?? ({} as AnthropicExecutorOptions);
  checkInteger('anthropicExecutor()', 'maxTokens', maxTokens);
  const messages = client.messages;

  function params(request: ReadonlyModelRequest, warnings: CallWarning[]): MessageCreateParamsBase {
    const mapped = toMessageParams(request, maxTokens, warnings);
    if (thinking) mapped.thinking = thinking;
    const extras = callExtras(request, 'anthropic', CORE, name);
    if (!body && !extras) return mapped;
    const merged = { ...mapped, ...body, ...extras };
    // `output_config.effort` may come from body or options; the format always comes from the request.
    if (mapped.output_config && merged.output_config !== mapped.output_config) {
      merged.output_config = { ...(merged.output_config as OutputConfig), ...mapped.output_config };
    }
    return merged;
  }

  return {
    name,
    ...(model !== undefined && { defaultModel: model }),
    capabilities: CAPABILITIES,
    async generate(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): Promise<ModelResponse> {
      const signal = callOptions?.signal;
      const warnings: CallWarning[] = [];
      const message: Message = await callSdk(
        () => messages.create({ ...params(request, warnings), stream: false }, { signal }),
        name,
        signal,
      );
      const response = fromMessage(message);
      if (warnings.length > 0) response.warnings = warnings;
      return response;
    },

    async *stream(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): AsyncGenerator<StreamPart> {
      const signal = callOptions?.signal;
      const mapper = new MessageEventMapper();
      const warnings: CallWarning[] = [];
      yield* relaySdkStream<RawMessageStreamEvent>(
        () => messages.create({ ...params(request, warnings), stream: true }, { signal }),
        (event, out) => mapper.map(event, out),
        name,
        signal,
      );
      if (!mapper.stopped) throw streamCut(name, 'message_stop');
      const finish = mapper.finish();
      if (warnings.length > 0 && finish.type === 'finish') finish.warnings = warnings;
      yield finish;
    },
  };
}
