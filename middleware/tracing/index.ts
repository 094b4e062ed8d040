import type { Meter, SpanKind, Tracer } from '@opentelemetry/api';
import { type Middleware, defineMiddleware } from '../../lib/core/compose.js';
import { MiddlewareError } from '../../lib/core/errors.js';
import { checkKeys, checkBoolean, checkString, failOption } from '../../lib/kit.js';
import { runPart, toolPart, turnPart } from './agent.js';
import { layerSpanObserver } from './layers.js';
import { ClientMetrics } from './metrics.js';
import { recordError, requestAttributes, responseAttributes } from './semconv.js';

export interface TracingOptions {
  /**
   * The OpenTelemetry tracer to create spans with. Passing one means `@opentelemetry/api` is never
   * loaded by modelware itself.
   * @default `trace.getTracer('modelware')` from `@opentelemetry/api`, loaded on the first call
   */
  readonly tracer?: Tracer | undefined;
  /**
   * Records the GenAI client metrics `gen_ai.client.token.usage` and
   * `gen_ai.client.operation.duration` (histograms with the buckets the conventions advise) on it.
   * @default no metrics
   */
  readonly meter?: Meter | undefined;
  /**
   * Record the messages sent and received (`gen_ai.input.messages`, `gen_ai.output.messages`) and
   * tool arguments and results (`gen_ai.tool.call.arguments`, `gen_ai.tool.call.result`).
   * Off by default: prompts often hold personal data, and they can be large.
   * @default false
   */
  readonly captureContent?: boolean | undefined;
  /** `gen_ai.provider.name`, e.g. `openai`, `anthropic`. @default not set */
  readonly provider?: string | undefined;
  /** `gen_ai.agent.name` of the run spans, which are then named `invoke_agent {agentName}`. @default not set (`invoke_agent`) */
  readonly agentName?: string | undefined;
  /** A span per turn of a run, between the run span and the call and tool spans. @default true */
  readonly turnSpans?: boolean | undefined;
  /**
   * A span per layer inside this one per attempt, named `modelware.layer {name}`, children of the
   * call span and nested as the onion nests, with `modelware.layer.name`,
   * `modelware.layer.attempt` (the attempt of the enclosing `retry`/`fallback`, 1 at first) and
   * whether the layer changed the request or the response (`modelware.layer.changed_request`,
   * `modelware.layer.changed_response`); status ERROR and `error.type` (the class, not the message)
   * only on the layer where an error started. Never records content. Loads `@opentelemetry/api` (for explicit parent contexts). In stream
   * mode a layer's span ends when the layer returns, before the stream is read.
   * @default false (no spans, and nothing observes the call)
   */
  readonly layerSpans?: boolean | undefined;
  /** Names the layer. @default 'tracing' */
  readonly name?: string | undefined;
}

const KEYS = ['tracer', 'meter', 'captureContent', 'provider', 'agentName', 'turnSpans', 'layerSpans', 'name'] as const;

// The enum values of @opentelemetry/api, fixed by the OpenTelemetry spec; spelled out so this file
// imports only types from the package and works with a caller's tracer when it is not installed.
const SPAN_KIND_CLIENT = 2 as SpanKind.CLIENT;

/**
 * OpenTelemetry spans following the GenAI semantic conventions. Every model call gets a span
 * named `chat {gen_ai.request.model}`, kind CLIENT, with the request's sampling options, the
 * effective model as `gen_ai.response.model` (the one that answered after routing and fallback),
 * token usage, finish reasons, and `error.type` with status ERROR on failure; in stream mode it
 * ends when the stream does. Inside `runAgent()` the run gets an `invoke_agent` span, each turn a
 * `turn` span, each tool call an `execute_tool {gen_ai.tool.name}` span, nested in that order. A
 * layer's own call (`ctx.callModel()`) traced by a `tracing()` of its executor is marked
 * `modelware.internal` and nests under the span active where it was made. With `meter`, the GenAI
 * client metrics are recorded too. Content stays off unless `captureContent`.
 *
 * @example
 * app.use(tracing({ tracer: trace.getTracer('my-app'), meter: metrics.getMeter('my-app'), provider: 'openai' }));
 */
export function tracing(options: TracingOptions = {}): Middleware {
  checkKeys('tracing()', options, KEYS);
  const {
    tracer: given,
    meter,
    captureContent = false,
    provider,
    agentName,
    turnSpans = true,
    layerSpans = false,
    name = 'tracing',
  } = options ?? {};
  if (given !== undefined && typeof given?.startActiveSpan !== 'function') {
    failOption('tracing()', 'tracer', 'an OpenTelemetry Tracer (with startActiveSpan)', given);
  }
  if (meter !== undefined && typeof meter?.createHistogram !== 'function') {
    failOption('tracing()', 'meter', 'an OpenTelemetry Meter (with createHistogram)', meter);
  }
  checkBoolean('tracing()', 'captureContent', captureContent);
  checkBoolean('tracing()', 'turnSpans', turnSpans);
  checkBoolean('tracing()', 'layerSpans', layerSpans);
  if (provider !== undefined && (typeof provider !== 'string' || provider.length === 0)) {
    failOption('tracing()', 'provider', "a non-empty string such as 'openai'", provider);
  }
  checkString('tracing()', 'agentName', agentName, { optional: true });
  const metrics = meter ? new ClientMetrics(meter, provider) : undefined;
  let tracer: Tracer | Promise<Tracer> | undefined = given;

  const getTracer = async (): Promise<Tracer> => {
    tracer ??= defaultTracer(name);
    try {
      return tracer instanceof Promise ? (tracer = await tracer) : tracer;
    } catch (error) {
      // Try again on the next call (the package may be installed meanwhile), not fail forever.
      tracer = undefined;
      throw error;
    }
  };
  const agent = { tracer: getTracer, agentName, provider, captureContent, turnSpans };

  return defineMiddleware({
    name,
    run: runPart(agent),
    turn: turnPart(agent),
    tool: toolPart(agent),
    async call(ctx, next) {
      const active = tracer !== undefined && !(tracer instanceof Promise) ? tracer : await getTracer();
      const otel = layerSpans ? await loadApi(name) : undefined;
      const attributes = requestAttributes(ctx, provider, captureContent);
      const spanName = `chat ${ctx.request.model}`;
      const started = metrics ? performance.now() : 0;
      const seconds = () => (performance.now() - started) / 1000;
      return active.startActiveSpan(spanName, { kind: SPAN_KIND_CLIENT, attributes }, async (span) => {
        const layers = otel ? layerSpanObserver(active, otel, span) : undefined;
        const stop = layers ? ctx.observe(layers.observer) : undefined;
        try {
          await next();
        } catch (error) {
          stop?.();
          layers?.close();
          recordError(span, error, captureContent);
          metrics?.failed(ctx, error, seconds());
          span.end();
          throw error;
        }
        stop?.();
        layers?.close();
        if (ctx.mode === 'generate') {
          if (ctx.response) {
            span.setAttributes(responseAttributes(ctx, ctx.response, captureContent));
            metrics?.completed(ctx, ctx.response, seconds());
          }
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
            metrics?.completed(ctx, response, seconds());
            end();
          },
          onError: (error) => {
            recordError(span, error, captureContent);
            metrics?.failed(ctx, error, seconds());
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
  return (await loadApi(layer)).trace.getTracer('modelware');
}

async function loadApi(layer: string): Promise<typeof import('@opentelemetry/api')> {
  try {
    api ??= import('@opentelemetry/api');
    return await api;
  } catch (error) {
    api = undefined;
    throw new MiddlewareError(
      layer,
      `tracing(): could not load @opentelemetry/api (${String((error as Error)?.message ?? error)}). Install it (npm install @opentelemetry/api), or pass \`tracer\` and leave \`layerSpans\` off.`,
      { cause: error },
    );
  }
}
