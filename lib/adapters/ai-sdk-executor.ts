import type {
  LanguageModelV4,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
  SharedV4Warning,
} from '@ai-sdk/provider';
import { ProviderError } from '../core/errors.js';
import {
  describeValue,
  type ExecuteOptions,
  type Executor,
  type ExecutorCapabilities,
  type ExecutorWithDefaultModel,
  type ReadonlyModelRequest,
} from '../core/executor.js';
import type {
  AssistantMessage,
  CallWarning,
  FinishReason,
  ModelResponse,
  StreamPart,
  Usage,
} from '../core/messages.js';
import { toCallOptions } from './ai-sdk-prompt.js';
import { parseToolInput } from './content.js';
import { describeFailure, retryAfterMs } from './provider-errors.js';
import { checkKeys, optionNames } from '../internal/options.js';

type Part = Exclude<AssistantMessage['content'], string>[number];

export interface AiSdkExecutorOptions {
  /** Shown in errors and events. @default `ai-sdk:<model.provider>`, or 'ai-sdk' for a resolver */
  readonly name?: string | undefined;
  /**
   * The key of `providerOptions`/`providerMetadata` that carries reasoning signatures.
   * @default the provider id before its first dot (`anthropic.messages` → `anthropic`)
   */
  readonly providerKey?: string | undefined;
}

/** `request.responseFormat`'s schema goes to the provider (`validateOutput()` relies on it). */
const CAPABILITIES: ExecutorCapabilities = Object.freeze({ responseFormat: 'schema' });

const OPTION_KEYS = optionNames<AiSdkExecutorOptions>({ name: true, providerKey: true });

/**
 * Any Vercel AI SDK language model (spec v4) as an executor. Pass a model, or a function from the
 * request's model id to a model (`(id) => openai(id)`) so routing and fallback can switch models.
 * Per-call `providerOptions` go in `request.options.providerOptions`. Given a model, the executor's
 * `defaultModel` is its `modelId`, so `runAgent` needs no `modelId`; a resolver has none.
 *
 * @example
 * const app = pipeline(aiSdkExecutor(openai('gpt-5-mini'))).use(retry());
 */
export function aiSdkExecutor(model: LanguageModelV4, options?: AiSdkExecutorOptions): ExecutorWithDefaultModel;
export function aiSdkExecutor(
  model: LanguageModelV4 | ((modelId: string) => LanguageModelV4),
  options?: AiSdkExecutorOptions,
): Executor;
export function aiSdkExecutor(
  model: LanguageModelV4 | ((modelId: string) => LanguageModelV4),
  options: AiSdkExecutorOptions = {},
): Executor {
  checkKeys('aiSdkExecutor()', options, OPTION_KEYS);
  if (typeof model !== 'function') assertModel(model, 'aiSdkExecutor()');
  const name = options.name ?? (typeof model === 'function' ? 'ai-sdk' : `ai-sdk:${model.provider}`);

  function resolve(request: ReadonlyModelRequest): { model: LanguageModelV4; key: string } {
    const resolved = typeof model === 'function' ? model(request.model) : model;
    if (typeof model === 'function') assertModel(resolved, `aiSdkExecutor() resolver for \`${request.model}\``);
    return { model: resolved, key: options.providerKey ?? resolved.provider.split('.')[0] ?? resolved.provider };
  }

  return {
    name,
    // Providers without structured output say so in the response's warnings.
    capabilities: CAPABILITIES,
    ...(typeof model !== 'function' && { defaultModel: model.modelId }),
    async generate(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): Promise<ModelResponse> {
      const signal = callOptions?.signal;
      const { model: resolved, key } = resolve(request);
      let result: LanguageModelV4GenerateResult;
      try {
        result = await resolved.doGenerate(toCallOptions(request, signal, key, name));
      } catch (error) {
        throw fromAiSdkError(error, name, signal);
      }
      return fromGenerateResult(result, resolved.modelId, key);
    },

    async *stream(request: ReadonlyModelRequest, callOptions?: ExecuteOptions): AsyncGenerator<StreamPart> {
      const signal = callOptions?.signal;
      const { model: resolved, key } = resolve(request);
      let reader: ReadableStreamDefaultReader<LanguageModelV4StreamPart>;
      try {
        reader = (await resolved.doStream(toCallOptions(request, signal, key, name))).stream.getReader();
      } catch (error) {
        throw fromAiSdkError(error, name, signal);
      }
      let finish: Extract<StreamPart, { type: 'finish' }> | undefined;
      let warnings: CallWarning[] | undefined;
      let modelId = resolved.modelId;
      let ended = false;
      const providerTools = new Set<string>();
      try {
        for (;;) {
          let next: ReadableStreamReadResult<LanguageModelV4StreamPart>;
          try {
            next = await reader.read();
          } catch (error) {
            throw fromAiSdkError(error, name, signal);
          }
          if (next.done) break;
          const part = next.value;
          if (part.type === 'text-delta') yield { type: 'text-delta', text: part.delta };
          else if (part.type === 'reasoning-delta') yield { type: 'reasoning-delta', text: part.delta };
          else if (part.type === 'reasoning-end') {
            const signature = signatureOf(part.providerMetadata, key);
            if (signature !== undefined) yield { type: 'reasoning-delta', text: '', signature };
          } else if (part.type === 'tool-input-start') {
            // The provider runs its own tools (web search, code execution): nothing for the agent loop.
            if (part.providerExecuted) providerTools.add(part.id);
            else yield { type: 'tool-call-delta', toolCallId: part.id, toolName: part.toolName, inputDelta: '' };
          } else if (part.type === 'tool-input-delta' && !providerTools.has(part.id)) {
            yield { type: 'tool-call-delta', toolCallId: part.id, inputDelta: part.delta };
          } else if (part.type === 'tool-call' && !part.providerExecuted) {
            yield {
              type: 'tool-call',
              toolCallId: part.toolCallId,
              toolName: part.toolName,
              input: parseToolInput(part.input),
            };
          } else if (part.type === 'response-metadata' && part.modelId) modelId = part.modelId;
          else if (part.type === 'stream-start' && part.warnings.length > 0) {
            warnings = part.warnings.map(toCallWarning);
          } else if (part.type === 'finish') {
            finish = {
              type: 'finish',
              finishReason: toFinishReason(part.finishReason.unified),
              usage: toUsage(part.usage),
            };
          } else if (part.type === 'error') throw fromAiSdkError(part.error, name, signal);
        }
        ended = true;
      } finally {
        // Cancelling the provider's stream closes its HTTP response when the consumer stops early.
        if (!ended) await reader.cancel().catch(() => {});
        reader.releaseLock();
      }
      signal?.throwIfAborted();
      if (!finish) {
        throw new ProviderError({
          provider: name,
          message: `${name}: the model's stream ended without a finish part. Retryable: add retry() to try again.`,
          retryable: true,
          code: 'incomplete_stream',
        });
      }
      yield warnings ? { ...finish, model: modelId, warnings } : { ...finish, model: modelId };
    },
  };
}

function assertModel(model: unknown, where: string): asserts model is LanguageModelV4 {
  const version = (model as { specificationVersion?: unknown } | null)?.specificationVersion;
  if (typeof model !== 'object' || model === null || typeof (model as LanguageModelV4).doGenerate !== 'function') {
    throw new TypeError(
      `${where}: expected an AI SDK language model (e.g. openai('gpt-5-mini')), got ${describeValue(model)}.`,
    );
  }
  if (version !== 'v4') {
    throw new TypeError(
      `${where}: expected a LanguageModelV4 (specificationVersion 'v4'), got ${describeValue(version)}. Upgrade the provider package to one built for ai@7.`,
    );
  }
}

function fromGenerateResult(result: LanguageModelV4GenerateResult, modelId: string, key: string): ModelResponse {
  const parts: Part[] = [];
  for (const item of result.content) {
    if (item.type === 'text') parts.push({ type: 'text', text: item.text });
    else if (item.type === 'reasoning') {
      const signature = signatureOf(item.providerMetadata, key);
      parts.push(
        signature === undefined
          ? { type: 'reasoning', text: item.text }
          : { type: 'reasoning', text: item.text, signature },
      );
    } else if (item.type === 'tool-call' && !item.providerExecuted) {
      parts.push({
        type: 'tool-call',
        toolCallId: item.toolCallId,
        toolName: item.toolName,
        input: parseToolInput(item.input),
      });
    }
    // Sources, files, provider-executed tool calls and their results have no modelware part.
  }
  const onlyText = parts.length === 1 && parts[0]?.type === 'text';
  return {
    message: {
      role: 'assistant',
      content: parts.length === 0 ? '' : onlyText ? (parts[0] as { text: string }).text : parts,
    },
    finishReason: toFinishReason(result.finishReason.unified),
    usage: toUsage(result.usage),
    model: result.response?.modelId ?? modelId,
    ...(result.warnings.length > 0 && { warnings: result.warnings.map(toCallWarning) }),
  };
}

/** An AI SDK warning as a `CallWarning` (a deprecation is a compatibility notice). */
function toCallWarning(warning: SharedV4Warning): CallWarning {
  switch (warning.type) {
    case 'unsupported':
    case 'compatibility':
      return warning.details === undefined
        ? { type: warning.type, feature: warning.feature }
        : { type: warning.type, feature: warning.feature, details: warning.details };
    case 'deprecated':
      return { type: 'compatibility', feature: warning.setting, details: warning.message };
    default:
      return { type: 'other', feature: 'provider', details: (warning as { message?: string }).message };
  }
}

function toFinishReason(reason: LanguageModelV4GenerateResult['finishReason']['unified']): FinishReason {
  return reason === 'interrupted' ? 'other' : reason;
}

function toUsage(usage: LanguageModelV4Usage): Usage {
  const inputTokens = usage.inputTokens.total ?? 0;
  const outputTokens = usage.outputTokens.total ?? 0;
  const out: Usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  if (usage.inputTokens.cacheRead !== undefined) out.cachedInputTokens = usage.inputTokens.cacheRead;
  if (usage.inputTokens.cacheWrite !== undefined) out.cacheWriteTokens = usage.inputTokens.cacheWrite;
  if (usage.outputTokens.reasoning !== undefined) out.reasoningTokens = usage.outputTokens.reasoning;
  return out;
}

function signatureOf(metadata: Readonly<Record<string, unknown>> | undefined, key: string): string | undefined {
  const signature = (metadata?.[key] as { signature?: unknown } | undefined)?.signature;
  return typeof signature === 'string' ? signature : undefined;
}

/** AI SDK providers throw `APICallError` (marked with a `Symbol.for`) with `isRetryable` and the response headers. */
function fromAiSdkError(error: unknown, provider: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (typeof error !== 'object' || error === null) return error;
  if ((error as Record<symbol, unknown>)[Symbol.for('vercel.ai.error.AI_APICallError')] !== true) return error;
  const { statusCode, isRetryable, responseHeaders, message } = error as {
    statusCode?: number;
    isRetryable?: boolean;
    responseHeaders?: Record<string, string>;
    message: string;
  };
  const retryable = isRetryable === true;
  const retryAfter = retryAfterMs(responseHeaders);
  return new ProviderError({
    provider,
    // The AI SDK's message quotes the provider's body, which can echo the request: a field only.
    message: describeFailure(
      provider,
      statusCode,
      undefined,
      undefined,
      retryable ? 'Retryable: add retry() to try again.' : 'Not retryable: fix the request.',
    ),
    status: statusCode,
    retryable,
    retryAfterMs: retryAfter,
    providerMessage: typeof message === 'string' ? message : undefined,
    cause: error,
  });
}
