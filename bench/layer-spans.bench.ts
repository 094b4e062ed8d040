// The cost of `tracing({ layerSpans: true })` (issue 15 item 3). Run: npx tsx bench/layer-spans.bench.ts
//
// A 10-layer pipeline under `tracing()`, with and without `layerSpans`, paired round by round in
// the same process. The tracer is the SDK's (BasicTracerProvider, no span processor: spans are
// built and ended but not exported, so the figure is modelware's side plus the SDK's span cost),
// with the AsyncLocalStorage context manager as a Node service would run it.
import { ProxyTracerProvider, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { type Middleware, defineMiddleware, pipeline } from 'modelware';
import { tracing } from '../middleware/tracing/index.js';
import { type Check, fmt, median, printChecks, sample } from './harness.js';

const contextManager = new AsyncLocalStorageContextManager();
context.setGlobalContextManager(contextManager.enable());
const provider = new BasicTracerProvider();
const tracer = provider.getTracer('bench');

const REQUEST = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'hi' }] };
const RESPONSE = { message: { role: 'assistant' as const, content: 'ok' }, finishReason: 'stop' as const };
const executor = { name: 'bench', generate: async () => RESPONSE };

function tenLayers(first: Middleware) {
  const app = pipeline(executor).use(first);
  for (let i = 0; i < 10; i++) {
    app.use(defineMiddleware({ name: `layer${i}`, call: (_ctx, next) => next() }));
  }
  return app;
}

const off = tenLayers(tracing({ tracer }));
const on = tenLayers(tracing({ tracer, layerSpans: true }));
// A no-op tracer (the API without an SDK): what modelware's side costs, the observer and the phases.
const noop = new ProxyTracerProvider().getTracer('bench');
const noopOff = tenLayers(tracing({ tracer: noop }));
const noopOn = tenLayers(tracing({ tracer: noop, layerSpans: true }));
const ns = await sample(
  {
    on: () => on.generate(REQUEST),
    off: () => off.generate(REQUEST),
    noopOn: () => noopOn.generate(REQUEST),
    noopOff: () => noopOff.generate(REQUEST),
  },
  { iterations: 3_000, rounds: 15 },
);
const perCall = median(ns.on.map((x, i) => x - (ns.off[i] as number)));
const perCallNoop = median(ns.noopOn.map((x, i) => x - (ns.noopOff[i] as number)));
const checks: Check[] = [
  {
    name: 'layerSpans on vs off: 10-layer traced call (10 extra spans)',
    measured: `${fmt(median(ns.on))} vs ${fmt(median(ns.off))}: +${fmt(perCall)} per call, ${fmt(perCall / 10)} per layer span (×${(median(ns.on) / median(ns.off)).toFixed(2)})`,
    target: '(measured)',
    pass: true,
  },
  {
    name: 'the same with a no-op tracer (modelware side: observer, phases, contexts)',
    measured: `${fmt(median(ns.noopOn))} vs ${fmt(median(ns.noopOff))}: +${fmt(perCallNoop)} per call`,
    target: '(measured)',
    pass: true,
  },
];
printChecks('tracing layerSpans', checks);
context.disable();
await provider.shutdown();
