import type { Attributes, Span, SpanKind, SpanStatusCode, Tracer } from '@opentelemetry/api';
import type { Immutable } from 'immer';
import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import { MiddlewareError } from '../lib/core/errors.js';
import { checkBoolean, failOption } from '../lib/kit.js';
import type { Message, ModelResponse } from '../lib/core/messages.js';

export interface TracingOptions {
  /**
   * The OpenTelemetry tracer to create spans with. Passing one means `@opentelemetry/api` is never
   * loaded by modelware itself.
   * @default `trace.getTracer('modelware')` from `@opentelemetry/api`, loaded on the first call
   */
  readonly tracer?: Tracer | undefined;
  /**
   * Record the messages sent and received (`gen_ai.input.messages`, `gen_ai.output.messages`).
   * Off by default: prompts often hold personal data, and they can be large.
   * @default false
   */
  readonly captureContent?: boolean | undefined;
  /** `gen_ai.provider.name`, e.g. `openai`, `anthropic`. @default not set */
  readonly provider?: string | undefined;
  /** Names the layer. @default 'tracing' */
  readonly name?: string | undefined;
}

// The enum values of @opentelemetry/api, fixed by the OpenTelemetry spec; spelled out so this file
// imports only types from the package and works with a caller's tracer when it is not installed.
const SPAN_KIND_CLIENT = 2 as SpanKind.CLIENT;
const STATUS_ERROR = 2 as SpanStatusCode.ERROR;

/**
 * One OpenTelemetry span per model call, following the GenAI semantic conventions: named
 * `chat {gen_ai.request.model}`, kind CLIENT, with the request's sampling options, the effective
 * model as `gen_ai.response.model` (the one that answered after routing and fallback), token
 * usage, finish reasons, and `error.type` with status ERROR on failure. The span is active while
 * the layers inside run, so their spans (and a nested pipeline's) become its children. In stream
 * mode it ends when the stream does. Inside `runAgent()` it adds `modelware.run.id` and
 * `modelware.run.turn`.
 *
 * @example
 * app.use(tracing({ tracer: trace.getTracer('my-app'), provider: 'openai' }));
 */
export function tracing(options: TracingOptions = {}): Middleware {
  const { tracer: given, captureContent = false, provider, name = 'tracing' } = options ?? {};
  if (given !== undefined && typeof given?.startActiveSpan !== 'function') {
    failOption('tracing()', 'tracer', 'an OpenTelemetry Tracer (with startActiveSpan)', given);
  }
  checkBoolean('tracing()', 'captureContent', captureContent);
  if (provider !== undefined && (typeof provider !== 'string' || provider.length === 0)) {
    failOption('tracing()', 'provider', "a non-empty string such as 'openai'", provider);
  }
  let tracer: Tracer | Promise<Tracer> | undefined = given;

  return defineMiddleware({
    name,
    async call(ctx, next) {
      tracer ??= defaultTracer(name);
      let active: Tracer;
      try {
        active = tracer instanceof Promise ? (tracer = await tracer) : tracer;
      } catch (error) {
        // Try again on the next call (the package may be installed meanwhile), not fail forever.
        tracer = undefined;
        throw error;
      }
      const attributes = requestAttributes(ctx, provider, captureContent);
      const spanName = `chat ${ctx.request.model}`;
      return active.startActiveSpan(spanName, { kind: SPAN_KIND_CLIENT, attributes }, async (span) => {
        try {
          await next();
        } catch (error) {
          recordError(span, error);
          span.end();
          throw error;
        }
        if (ctx.mode === 'generate') {
          if (ctx.response) span.setAttributes(responseAttributes(ctx, ctx.response, captureContent));
          span.end();
          return;
        }
        let ended = false;
        const end = () => {
          if (ended) return;
          ended = true;
          span.end();
        };
        await ctx.tapStream({
          onFinish: (response) => {
            span.setAttributes(responseAttributes(ctx, response, captureContent));
            end();
          },
          onError: (error) => {
            recordError(span, error);
            end();
          },
          // The consumer stopped reading: the call was cut short, not failed.
          onClose: () => {
            if (ended) return;
            span.setAttribute('modelware.stream.cancelled', true);
            end();
          },
        });
      });
    },
  });
}

let api: Promise<typeof import('@opentelemetry/api')> | undefined;

async function defaultTracer(layer: string): Promise<Tracer> {
  try {
    api ??= import('@opentelemetry/api');
    return (await api).trace.getTracer('modelware');
  } catch (error) {
    api = undefined;
    throw new MiddlewareError(
      layer,
      `tracing(): could not load @opentelemetry/api (${String((error as Error)?.message ?? error)}). Install it (npm install @opentelemetry/api) or pass \`tracer\`.`,
      { cause: error },
    );
  }
}

function requestAttributes(ctx: Context, provider: string | undefined, captureContent: boolean): Attributes {
  const { model, options } = ctx.request;
  const attributes: Attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.request.model': model,
    'modelware.call.id': ctx.id,
  };
  if (provider) attributes['gen_ai.provider.name'] = provider;
  if (ctx.mode === 'stream') attributes['gen_ai.request.stream'] = true;
  if (options?.temperature !== undefined) attributes['gen_ai.request.temperature'] = options.temperature;
  if (options?.topP !== undefined) attributes['gen_ai.request.top_p'] = options.topP;
  if (options?.maxOutputTokens !== undefined) attributes['gen_ai.request.max_tokens'] = options.maxOutputTokens;
  if (options?.stopSequences !== undefined) attributes['gen_ai.request.stop_sequences'] = [...options.stopSequences];
  if (options?.seed !== undefined) attributes['gen_ai.request.seed'] = options.seed;
  const run = ctx.run;
  if (run) {
    attributes['modelware.run.id'] = run.runId;
    attributes['modelware.run.turn'] = run.turn;
  }
  if (captureContent) attributes['gen_ai.input.messages'] = JSON.stringify(ctx.request.messages.map(toSemconv));
  return attributes;
}

/** Semconv spells finish reasons with underscores and names a tool call in the singular. */
const FINISH_REASONS: Record<string, string> = { 'tool-calls': 'tool_call', 'content-filter': 'content_filter' };

function responseAttributes(ctx: Context, response: ModelResponse, captureContent: boolean): Attributes {
  const finish = FINISH_REASONS[response.finishReason] ?? response.finishReason;
  const attributes: Attributes = {
    'gen_ai.response.model': ctx.model.resolved,
    'gen_ai.response.finish_reasons': [finish],
  };
  const usage = response.usage;
  if (usage) {
    attributes['gen_ai.usage.input_tokens'] = usage.inputTokens;
    attributes['gen_ai.usage.output_tokens'] = usage.outputTokens;
    if (usage.cachedInputTokens !== undefined)
      attributes['gen_ai.usage.cache_read.input_tokens'] = usage.cachedInputTokens;
    if (usage.reasoningTokens !== undefined) attributes['gen_ai.usage.reasoning.output_tokens'] = usage.reasoningTokens;
  }
  if (captureContent) {
    const output = { ...toSemconv(response.message), finish_reason: finish };
    attributes['gen_ai.output.messages'] = JSON.stringify([output]);
  }
  return attributes;
}

function recordError(span: Span, error: unknown): void {
  const e = error as { name?: unknown; message?: unknown } | null;
  const type = typeof e?.name === 'string' && e.name.length > 0 ? e.name : '_OTHER';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  span.setAttribute('error.type', type);
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: STATUS_ERROR, message });
}

/** A message in the GenAI conventions' shape: `{ role, parts: [{ type, ... }] }`. */
function toSemconv(message: Immutable<Message>): { role: string; parts: object[] } {
  if (message.role === 'tool') {
    return { role: 'tool', parts: [{ type: 'tool_call_response', id: message.toolCallId, result: message.content }] };
  }
  if (typeof message.content === 'string') {
    return { role: message.role, parts: [{ type: 'text', content: message.content }] };
  }
  const parts = message.content.map((part): object => {
    if (part.type === 'text') return { type: 'text', content: part.text };
    if (part.type === 'reasoning') return { type: 'reasoning', content: part.text };
    if (part.type === 'tool-call') {
      return { type: 'tool_call', id: part.toolCallId, name: part.toolName, arguments: part.input };
    }
    return /^(https?|data):/.test(part.image)
      ? { type: 'uri', modality: 'image', uri: part.image }
      : { type: 'blob', modality: 'image', mime_type: part.mediaType, content: part.image };
  });
  return { role: message.role, parts };
}
