// Names the package so the dts build resolves the `declare module 'modelware'` below (ProviderOptionTypes).
import type {} from 'modelware';
import type OpenAI from 'openai';
import type {
  Response,
  ResponseCreateParamsBase,
  ResponseStreamEvent,
  ResponseTextConfig,
} from 'openai/resources/responses/responses';
import type {
  ExecuteOptions,
  Executor,
  ExecutorCapabilities,
  ExecutorWithDefaultModel,
  ReadonlyModelRequest,
} from '../core/executor.js';
import type { CallWarning, ModelResponse, StreamPart } from '../core/messages.js';
import { type CoreFields, callExtras } from './content.js';
import { ResponsesEventMapper, fromResponse, toResponsesParams } from './openai-responses-wire.js';
import { checkOneOf, optionNames } from '../internal/options.js';
import { callSdk, checkSdkOptions, relaySdkStream, streamCut } from './sdk-executor.js';

/**
 * Responses API fields the adapter fills from the request: `body` and `options.openai` may not set
 * them (each would bypass the layers that checked the request), with where to set them instead.
 */
const CORE: CoreFields = new Map([
  ['model', 'Set `request.model` (or use router()).'],
  ['input', 'Set `request.messages`.'],
  ['tools', 'Set `request.tools`.'],
  ['tool_choice', 'Set `options.toolChoice`.'],
  ['temperature', 'Set `options.temperature`.'],
  ['top_p', 'Set `options.topP`.'],
  ['max_output_tokens', 'Set `options.maxOutputTokens`.'],
  ['stream', 'Call `app.stream()` or `app.generate()`.'],
]);

/** The Responses API fields `openaiResponsesExecutor` fills from the request (see `OpenAIResponsesProviderOptions`). */
export type OpenAIResponsesMappedField =
  | 'model'
  | 'input'
  | 'tools'
  | 'tool_choice'
  | 'temperature'
  | 'top_p'
  | 'max_output_tokens'
  | 'stream';

/**
 * The type of `request.options.openaiResponses`: the SDK's Responses params minus the fields the
 * adapter maps from the request (compile errors here, `InvalidRequestError`s at run time). `text`
 * may set `verbosity`; its `format` comes from `request.responseFormat`.
 */
export type OpenAIResponsesProviderOptions = Omit<ResponseCreateParamsBase, OpenAIResponsesMappedField | 'text'> & {
  readonly [K in OpenAIResponsesMappedField]?: never;
} & { readonly text?: Omit<ResponseTextConfig, 'format'> & { readonly format?: never } };

declare module 'modelware' {
  interface ProviderOptionTypes {
    openaiResponses: OpenAIResponsesProviderOptions;
  }
}

/** `request.responseFormat` goes out as `text.format` (a strict `json_schema` when it has a schema). */
const CAPABILITIES: ExecutorCapabilities = Object.freeze({ responseFormat: 'schema' });

/** The part of an `OpenAI` (or `AzureOpenAI`) client the Responses executor uses. */
export type OpenAIResponsesClient = Pick<OpenAI, 'responses'>;

export interface OpenAIResponsesExecutorOptions {
  /** The SDK client, e.g. `new OpenAI({ apiKey })`; its base URL, timeout and retries apply. */
  readonly client: OpenAIResponsesClient;
  /**
   * The default model id (`executor.defaultModel`): `runAgent` and `streamAgent` send it when the
   * run passes no `modelId`. A request's own `model` is always what is sent. @default undefined
   */
  readonly model?: string | undefined;
  /** Shown in errors and events, and as `ProviderError.provider`. @default 'openai-responses' */
  readonly name?: string | undefined;
  /** Role of the input messages made from system messages. @default 'developer' */
  readonly systemRole?: 'system' | 'developer' | undefined;
  /**
   * Extra body fields for every call (e.g. `{ reasoning: { effort: 'low', summary: 'auto' } }`, or
   * `{ store: false, include: ['reasoning.encrypted_content'] }` to keep reasoning round-tripping
   * without server-side storage). A call adds its own in `request.options.openaiResponses`, which win.
   * Neither may set a field the adapter fills from the request (`model`, `input`, `tools`,
   * `stream`, ...): the factory throws a `TypeError`, a call an `InvalidRequestError`.
   * @default undefined
   */
  readonly body?: Readonly<Record<string, unknown>> | undefined;
}

const OPTION_KEYS = optionNames<OpenAIResponsesExecutorOptions>({
  client: true,
  model: true,
  name: true,
  systemRole: true,
  body: true,
});

/**
 * An executor over the OpenAI Responses API (`client.responses.create`). Reasoning items come back
 * as reasoning parts whose `providerMetadata.openai` keeps the item id (and encrypted content when
 * included), so the next turn sends them back; usage reports cached and reasoning tokens. The
 * call's signal aborts the HTTP request, and API failures become `ProviderError`s that `retry()`
 * honours.
 *
 * @example
 * const app = pipeline(openaiResponsesExecutor({ client: new OpenAI(), model: 'gpt-5-mini' }));
 * const response = await app.generate({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'Hi' }] });
 */
export function openaiResponsesExecutor(
  options: OpenAIResponsesExecutorOptions & { readonly model: string },
): ExecutorWithDefaultModel;
export function openaiResponsesExecutor(options: OpenAIResponsesExecutorOptions): Executor;
export function openaiResponsesExecutor(options: OpenAIResponsesExecutorOptions): Executor {
  checkSdkOptions('openaiResponsesExecutor()', options, {
    keys: OPTION_KEYS,
    method: ['responses', 'create'],
    example: 'new OpenAI({ apiKey })',
    core: CORE,
  });
  const {
    client,
    model,
    name = 'openai-responses',
    systemRole = 'developer',
    body,
  } = options ?? ({} as OpenAIResponsesExecutorOptions);
  checkOneOf('openaiResponsesExecutor()', 'systemRole', systemRole, ['system', 'developer']);
  const settings = { systemRole, provider: name };
  const responses = client.responses;

  function params(request: ReadonlyModelRequest, warnings: CallWarning[]): ResponseCreateParamsBase {
    const mapped = toResponsesParams(request, settings, warnings);
    const extras = callExtras(request, 'openaiResponses', CORE, name);
    if (!body && !extras) return mapped;
    const merged = { ...mapped, ...body, ...extras };
    // `text.verbosity` may come from body or options; the format always comes from the request.
    if (mapped.text && merged.text !== mapped.text) merged.text = { ...(merged.text as object), ...mapped.text };
    return merged;
  }

  return {
    name,
    capabilities: CAPABILITIES,
    ...(model !== undefined && { defaultModel: model }),
    async generate(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): Promise<ModelResponse> {
      const signal = callOptions?.signal;
      const warnings: CallWarning[] = [];
      const response: Response = await callSdk(
        () => responses.create({ ...params(request, warnings), stream: false }, { signal }),
        name,
        signal,
      );
      const mapped = fromResponse(response, name);
      if (warnings.length > 0) mapped.warnings = warnings;
      return mapped;
    },

    async *stream(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): AsyncGenerator<StreamPart> {
      const signal = callOptions?.signal;
      const mapper = new ResponsesEventMapper(name);
      const warnings: CallWarning[] = [];
      yield* relaySdkStream<ResponseStreamEvent>(
        () => responses.create({ ...params(request, warnings), stream: true }, { signal }),
        (event, out) => mapper.map(event, out),
        name,
        signal,
      );
      if (mapper.finishReason === undefined) throw streamCut(name, '`response.completed`');
      const finish = mapper.finish();
      if (warnings.length > 0 && finish.type === 'finish') finish.warnings = warnings;
      yield finish;
    },
  };
}
