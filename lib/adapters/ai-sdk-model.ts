import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4Content,
  LanguageModelV4GenerateResult,
  LanguageModelV4StreamPart,
  LanguageModelV4StreamResult,
} from '@ai-sdk/provider';
import { describeValue, type Executor } from '../core/executor.js';
import type { ModelResponse, StreamPart } from '../core/messages.js';
import { executorStream } from '../core/stream.js';
import { toRequest, withResponseWarnings } from './ai-sdk-request.js';
import { StreamTranslator, stringifyInput, toV4FinishReason, toV4Usage } from './ai-sdk-stream.js';
import { checkKeys, optionNames } from '../internal/options.js';

export interface ToLanguageModelOptions {
  /** The model id the pipeline receives as `request.model`. */
  readonly modelId: string;
  /** The provider id AI SDK reports (and the `providerMetadata` key of reasoning signatures). @default 'modelware' */
  readonly provider?: string | undefined;
  /**
   * URL patterns the executor's provider fetches itself; the AI SDK downloads other URLs first.
   * @default { 'image/*': [/^https?:\/\//] }
   */
  readonly supportedUrls?: Record<string, RegExp[]> | undefined;
}

const OPTION_KEYS = optionNames<ToLanguageModelOptions>({ modelId: true, provider: true, supportedUrls: true });

/**
 * Exposes a pipeline (or any executor) as an AI SDK `LanguageModelV4`, for `generateText`,
 * `streamText` and the rest of the AI SDK. Every call runs through the pipeline's middleware.
 * Pass request metadata with `providerOptions: { modelware: { metadata: { ... } } }`.
 *
 * @example
 * const model = toLanguageModel(app, { modelId: 'gpt-5-mini' });
 * const { text } = await generateText({ model, prompt: 'Hello' });
 */
export function toLanguageModel(executor: Executor, options: ToLanguageModelOptions): LanguageModelV4 {
  checkKeys('toLanguageModel()', options, OPTION_KEYS);
  if (typeof executor?.generate !== 'function') {
    throw new TypeError(
      `toLanguageModel(): expected a pipeline or executor as the first argument, got ${describeValue(executor)}.`,
    );
  }
  const { modelId, provider = 'modelware', supportedUrls = { 'image/*': [/^https?:\/\//] } } = options ?? {};
  if (typeof modelId !== 'string' || modelId === '') {
    throw new TypeError(
      `toLanguageModel(): expected \`modelId\` to be a non-empty string, got ${describeValue(modelId)}.`,
    );
  }

  return {
    specificationVersion: 'v4',
    provider,
    modelId,
    supportedUrls,

    async doGenerate(call: LanguageModelV4CallOptions): Promise<LanguageModelV4GenerateResult> {
      const { request, warnings } = toRequest(call, modelId);
      const response = await executor.generate(request, { signal: call.abortSignal });
      const result: LanguageModelV4GenerateResult = {
        content: toContent(response, provider),
        finishReason: toV4FinishReason(response.finishReason),
        usage: toV4Usage(response.usage),
        warnings: withResponseWarnings(warnings, response.warnings),
        request: { body: request },
      };
      if (response.model !== undefined) result.response = { modelId: response.model };
      return result;
    },

    async doStream(call: LanguageModelV4CallOptions): Promise<LanguageModelV4StreamResult> {
      const { request, warnings } = toRequest(call, modelId);
      const signal = call.abortSignal;
      const iterator = executorStream(executor, request, { signal })[Symbol.asyncIterator]();
      // Pull the first part now, so a failure before any output rejects doStream (as providers do).
      let pending: IteratorResult<StreamPart> | undefined = await iterator.next();
      const translator = new StreamTranslator(provider);
      const stream = new ReadableStream<LanguageModelV4StreamPart>({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings });
        },
        async pull(controller) {
          try {
            const next = pending ?? (await iterator.next());
            pending = undefined;
            if (next.done) return controller.close();
            for (const part of translator.translate(next.value)) controller.enqueue(part);
          } catch (error) {
            if (signal?.aborted) return controller.error(error);
            // Stream failures travel as an error part, the AI SDK's convention for providers.
            controller.enqueue({ type: 'error', error });
            controller.close();
          }
        },
        async cancel() {
          // The consumer stopped: unwinding the pipeline aborts the provider request.
          await iterator.return?.();
        },
      });
      return { stream, request: { body: request } };
    },
  };
}

function toContent(response: ModelResponse, provider: string): LanguageModelV4Content[] {
  const { content } = response.message;
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  return content.map((part): LanguageModelV4Content => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    if (part.type === 'reasoning') {
      return part.signature === undefined
        ? { type: 'reasoning', text: part.text }
        : { type: 'reasoning', text: part.text, providerMetadata: { [provider]: { signature: part.signature } } };
    }
    return {
      type: 'tool-call',
      toolCallId: part.toolCallId,
      toolName: part.toolName,
      input: stringifyInput(part.input),
    };
  });
}
