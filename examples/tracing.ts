// Tracing: one OpenTelemetry span per model call (GenAI semantic conventions), here kept in memory.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { pipeline } from 'modelware';
import { fallback, tracing } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

// A context manager lets spans follow `await`, so the attempts nest under the call's span.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('example');

const overloaded = Object.assign(new Error('529 overloaded'), { retryable: true });
const model = scriptedExecutor([
  overloaded,
  { text: 'Paris.', usage: { inputTokens: 14, outputTokens: 2, totalTokens: 16 } },
]);

const app = pipeline(model).use(
  tracing({ tracer, provider: 'example', name: 'callSpan' }),
  fallback({ models: ['backup-model'] }),
  tracing({ tracer, provider: 'example', name: 'attemptSpan' }),
);

await tracer.startActiveSpan('handle request', async (root) => {
  await app.generate({
    model: 'main-model',
    messages: [{ role: 'user', content: 'Capital of France?' }],
    options: { temperature: 0 },
  });
  root.end();
});

// Spans print in the order they ended: inner ones first.
const ids = new Map(exporter.getFinishedSpans().map((s) => [s.spanContext().spanId, s.name]));
for (const span of exporter.getFinishedSpans()) {
  const a = span.attributes;
  const parentId = span.parentSpanContext?.spanId;
  const parent = parentId ? ` (in "${ids.get(parentId)}")` : '';
  if (!a['gen_ai.operation.name']) {
    console.log(`${span.name}${parent}`);
    continue;
  }
  const outcome = span.status.code === 2 ? `ERROR ${a['error.type']}` : 'ok';
  console.log(`${span.name}${parent}: response.model=${a['gen_ai.response.model']} ${outcome}`);
  if (a['gen_ai.usage.input_tokens'] !== undefined) {
    console.log(`  usage: ${a['gen_ai.usage.input_tokens']} in, ${a['gen_ai.usage.output_tokens']} out`);
  }
}
await provider.shutdown();
context.disable();
