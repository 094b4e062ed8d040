// Agent-level tracing: an invoke_agent span around the run, a span per turn, chat spans for the model
// calls, execute_tool spans for the tools, and the GenAI client metrics, all kept in memory here.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { pipeline, runAgent, tool } from 'modelware';
import { tracing } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
class Reader extends MetricReader {
  protected override async onShutdown() {}
  protected override async onForceFlush() {}
}
const reader = new Reader();
const meterProvider = new MeterProvider({ readers: [reader] });

const weather = tool({
  name: 'weather',
  description: 'Current weather of a city',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => `sunny in ${city}`,
});
const model = scriptedExecutor([
  { toolCalls: [{ name: 'weather', input: { city: 'Oslo' } }], usage: { inputTokens: 20, outputTokens: 5 } },
  { text: 'It is sunny in Oslo.', usage: { inputTokens: 30, outputTokens: 7 } },
]);

const app = pipeline(model).use(
  tracing({
    tracer: tracerProvider.getTracer('example'),
    meter: meterProvider.getMeter('example'),
    provider: 'example',
    agentName: 'weather-bot',
  }),
);
await runAgent({
  model: app,
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Weather in Oslo?' }],
  tools: [weather],
});

// Print the span tree, parents first.
const spans = exporter.getFinishedSpans();
const children = (parent: string | undefined) =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent).sort((a, b) => a.name.localeCompare(b.name));
const print = (span: ReadableSpan, depth: number): void => {
  console.log(`${'  '.repeat(depth)}${span.name}`);
  for (const child of children(span.spanContext().spanId)) print(child, depth + 1);
};
for (const root of children(undefined)) print(root, 0);

const { resourceMetrics } = await reader.collect();
for (const metric of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
  for (const point of metric.dataPoints) {
    const { count, sum } = point.value as { count: number; sum: number };
    const type = point.attributes['gen_ai.token.type'];
    if (metric.descriptor.name === 'gen_ai.client.token.usage')
      console.log(`${metric.descriptor.name} ${type}: ${count} calls, ${sum} tokens`);
    else console.log(`${metric.descriptor.name}: ${count} calls`);
  }
}
await tracerProvider.shutdown();
await meterProvider.shutdown();
context.disable();
