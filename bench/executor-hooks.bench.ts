// Executor hooks passed inward (issue 14 item 4). Run: npx tsx bench/executor-hooks.bench.ts
// Variants are timed round-robin so machine noise hits them alike; each figure is the median over
// the rounds, and every ratio is against a pipeline built in the same run.
import { type Executor, type ModelResponse, executeWithHooks, pipeline } from 'modelware';
import { compare, fmt } from './harness.js';

const RESPONSE: ModelResponse = { message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' };
const executor: Executor = { name: 'bench', generate: async () => RESPONSE };
const router: Executor = {
  name: 'router',
  callsHooks: true,
  generate: (request, options) =>
    executeWithHooks(options, { ...request, model: 'chosen' }, 1, (sent) => executor.generate(sent)),
};
const REQUEST = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'hi' }] };
const rounds = { rounds: Number(process.env.ROUNDS ?? 21), warmup: 5 };

async function pass(_ctx: unknown, next: () => Promise<void>) {
  await next();
}
const noop = { onModelChosen: () => undefined, onCompleted: () => undefined };

const plain = pipeline(executor).use(pass);
const layerHooks = pipeline(executor).use(async function hooked(ctx, next) {
  ctx.addExecutorHooks(noop);
  await next();
});
const nested = pipeline(pipeline(executor)).use(pass);
const nestedLayers = pipeline(pipeline(executor).use(pass)).use(pass);
const routed = pipeline(router).use(pass);

const calls = await compare(
  {
    plain: () => plain.generate(REQUEST),
    layerHooks: () => layerHooks.generate(REQUEST),
    routed: () => routed.generate(REQUEST),
    nested: () => nested.generate(REQUEST),
    nestedLayers: () => nestedLayers.generate(REQUEST),
  },
  { iterations: 50_000, ...rounds },
);

console.log('### Executor hooks (medians, ns per generate() call)\n');
console.log('| variant | time | vs one pass-through layer, no hooks |');
console.log('| --- | --- | --- |');
const what: Record<keyof typeof calls, string> = {
  plain: 'one pass-through layer, plain executor (no hooks: the path every call took before)',
  layerHooks: 'the same layer adding no-op hooks (onModelChosen, onCompleted): the pipeline calls them',
  routed: 'a routing executor (callsHooks, executeWithHooks) under one layer',
  nested: 'pipeline(pipeline(executor)) + one layer: the inner pipeline runs the outer hooks',
  nestedLayers: 'both pipelines with one layer each',
};
for (const [name, ns] of Object.entries(calls) as [keyof typeof calls, number][]) {
  console.log(`| ${what[name]} | ${fmt(ns)} | ×${(ns / calls.plain).toFixed(2)} |`);
}
