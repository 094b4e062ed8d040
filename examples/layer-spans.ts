// Per-layer spans: tracing({ layerSpans: true }) adds a span per layer inside it, per attempt.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { defineMiddleware, pipeline } from 'modelware';
import { retry, tracing } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('example');

const overloaded = Object.assign(new Error('529 overloaded'), { retryable: true });
const model = scriptedExecutor([overloaded, 'Paris.']);
const cool = defineMiddleware({
  name: 'cool',
  async call(ctx, next) {
    ctx.update((r) => ({ ...r, options: { ...r.options, temperature: 0 } }));
    await next();
  },
});
const noop = defineMiddleware({ name: 'noop', call: (_ctx, next) => next() });

const app = pipeline(model).use(
  tracing({ tracer, layerSpans: true }),
  cool,
  retry({ retries: 1, initialDelayMs: 0 }),
  noop,
);
await app.generate({ model: 'main-model', messages: [{ role: 'user', content: 'Capital of France?' }] });

// Spans print in the order they ended: inner ones first.
const ids = new Map(exporter.getFinishedSpans().map((s) => [s.spanContext().spanId, s.name]));
for (const span of exporter.getFinishedSpans()) {
  const a = span.attributes;
  const parentId = span.parentSpanContext?.spanId;
  const parent = parentId ? ` (in "${ids.get(parentId)}")` : '';
  const detail =
    a['modelware.layer.name'] === undefined
      ? ''
      : `: attempt ${a['modelware.layer.attempt']}, changed request ${a['modelware.layer.changed_request']}`;
  console.log(`${span.name}${parent}${detail}`);
}
await provider.shutdown();
context.disable();
