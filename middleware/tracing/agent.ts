import type { Attributes, Span, SpanKind, Tracer } from '@opentelemetry/api';
import type { Next } from '../../lib/core/compose.js';
import type { RunLayerContext, TurnLayerContext } from '../../lib/agent/run-context.js';
import type { ToolContext } from '../../lib/agent/tool-context.js';
import { errorType, finishReason, recordError, toSemconv } from './semconv.js';

const SPAN_KIND_INTERNAL = 0 as SpanKind.INTERNAL;
const STATUS_ERROR = 2;

export interface AgentSpanSettings {
  readonly tracer: () => Tracer | Promise<Tracer>;
  readonly agentName: string | undefined;
  readonly provider: string | undefined;
  readonly captureContent: boolean;
  readonly turnSpans: boolean;
}

/** Runs `body` inside a new active span, ending it (with the error recorded) however `body` ends. */
async function inSpan(
  settings: AgentSpanSettings,
  name: string,
  attributes: Attributes,
  body: (span: Span) => Promise<void>,
): Promise<void> {
  const tracer = await settings.tracer();
  return tracer.startActiveSpan(name, { kind: SPAN_KIND_INTERNAL, attributes }, async (span) => {
    try {
      await body(span);
    } catch (error) {
      recordError(span, error, settings.captureContent);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The `invoke_agent` span around a whole `runAgent()` run; the turn, call and tool spans nest in it. */
export function runPart(settings: AgentSpanSettings) {
  const { agentName, provider, captureContent } = settings;
  const name = agentName ? `invoke_agent ${agentName}` : 'invoke_agent';
  return async function tracingRun(ctx: RunLayerContext, next: Next): Promise<void> {
    const attributes: Attributes = { 'gen_ai.operation.name': 'invoke_agent', 'modelware.run.id': ctx.run.runId };
    if (agentName) attributes['gen_ai.agent.name'] = agentName;
    if (provider) attributes['gen_ai.provider.name'] = provider;
    await inSpan(settings, name, attributes, async (span) => {
      await next();
      const result = ctx.result;
      if (!result) return;
      span.setAttributes({
        'gen_ai.usage.input_tokens': result.usage.inputTokens,
        'gen_ai.usage.output_tokens': result.usage.outputTokens,
        'gen_ai.response.finish_reasons': [finishReason(result.response)],
        'modelware.run.turns': result.turns.length,
        'modelware.run.stop_reason': result.stopReason,
      });
      if (captureContent)
        span.setAttribute('gen_ai.output.messages', JSON.stringify([toSemconv(result.response.message)]));
    });
  };
}

/** One span per turn (the model call and the tool calls it asked for). */
export function turnPart(settings: AgentSpanSettings) {
  return async function tracingTurn(ctx: TurnLayerContext, next: Next): Promise<void> {
    if (!settings.turnSpans) return next();
    const attributes: Attributes = { 'modelware.run.id': ctx.run.runId, 'modelware.run.turn': ctx.turn };
    await inSpan(settings, 'turn', attributes, async (span) => {
      await next();
      if (ctx.record) span.setAttribute('modelware.turn.tool_calls', ctx.record.toolCalls.length);
    });
  };
}

/** The `execute_tool` span around each tool call, the tool layers inside this one included. */
export function toolPart(settings: AgentSpanSettings) {
  const { captureContent } = settings;
  return async function tracingTool(ctx: ToolContext, next: Next): Promise<void> {
    const tool = ctx.tool;
    const attributes: Attributes = {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.call.id': ctx.toolCallId,
      'gen_ai.tool.type': 'function',
      'modelware.run.id': ctx.run.runId,
      'modelware.run.turn': ctx.run.turn,
    };
    // A name the run does not know came from the model: it stays out of the span's name and attributes.
    if (tool) attributes['gen_ai.tool.name'] = tool.name;
    if (tool?.description) attributes['gen_ai.tool.description'] = tool.description;
    if (captureContent) attributes['gen_ai.tool.call.arguments'] = JSON.stringify(ctx.input) ?? '';
    await inSpan(settings, tool ? `execute_tool ${tool.name}` : 'execute_tool', attributes, async (span) => {
      await next();
      const result = ctx.result;
      if (!result) return;
      if (captureContent) span.setAttribute('gen_ai.tool.call.result', result.content);
      if (result.isError) {
        // The model reads the failure and the run goes on; the span still says the tool failed.
        span.setAttribute('error.type', result.error === undefined ? 'tool_error' : errorType(result.error));
        span.setStatus({ code: STATUS_ERROR });
      }
    });
  };
}
