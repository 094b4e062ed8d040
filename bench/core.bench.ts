// Core onion benchmarks (issues 2 and 11). Run: npx tsx bench/core.bench.ts
import { MockLanguageModelV4 } from 'ai/test';
import { wrapLanguageModel } from 'ai';
import koaCompose from 'koa-compose';
import {
  type Executor,
  type Message,
  ModelRequestSchema,
  type ModelResponse,
  type StreamPart,
  pipeline,
} from 'modelware';
import { CallCore } from '../lib/core/call-core.js';
import { EventHub } from '../lib/core/events.js';
import { Touched } from '../lib/internal/track.js';
import { findRequestProblem, findUpdateProblem } from '../lib/core/validate.js';
import { type Check, compare, fmt, median, pairedRatio, printChecks, sample } from './harness.js';

const RESPONSE: ModelResponse = { message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' };
const executor: Executor = { name: 'bench', generate: async () => RESPONSE };
const REQUEST = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'hi' }] };

/**
 * The pass-through layers, one function object each, built once: both stacks compose the very same
 * functions (koa-compose given one shared function would call a single target, which V8 inlines
 * more readily than forty distinct closures, and so compare a different stack).
 */
const LAYERS = Array.from(
  { length: 40 },
  () =>
    async function pass(_ctx: unknown, next: () => Promise<void>) {
      await next();
    },
);
function ours(layers: number) {
  const app = pipeline(executor);
  for (let i = 0; i < layers; i++) app.use(LAYERS[i] as (typeof LAYERS)[number]);
  return app;
}
function koa(layers: number) {
  const fn = koaCompose(LAYERS.slice(0, layers));
  const inner = async (ctx: { response?: ModelResponse }) => {
    ctx.response = await executor.generate(REQUEST);
  };
  return async () => {
    const ctx: { response?: ModelResponse } = {};
    await fn(ctx, inner as never);
    return ctx.response;
  };
}

/**
 * `sample()` (bench/harness.ts) timed in CPU time of this process (user + system, every thread:
 * the GC's helpers too) instead of wall time: on a shared, loaded machine the time this process
 * spends descheduled is not counted, so the per-round ratios are far steadier.
 */
async function sampleCpu<K extends string>(
  variants: Record<K, () => unknown>,
  options: { readonly iterations: number; readonly rounds: number; readonly warmup?: number },
): Promise<Record<K, number[]>> {
  const { iterations, rounds, warmup = 3 } = options;
  const names = Object.keys(variants) as K[];
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as unknown as Record<K, number[]>;
  for (let r = 0; r < warmup + rounds; r++) {
    for (const name of names) {
      const fn = variants[name];
      await fn();
      const start = process.cpuUsage();
      for (let i = 0; i < iterations; i++) await fn();
      const used = process.cpuUsage(start);
      if (r >= warmup) samples[name].push(((used.user + used.system) * 1000) / iterations);
    }
  }
  return samples;
}

const checks: Check[] = [];

// 1. Zero layers vs a direct executor call (validation on, the default).
{
  const app0 = ours(0);
  const variants = { direct: () => executor.generate(REQUEST), pipeline0: () => app0.generate(REQUEST) };
  const wall = await compare(variants, { iterations: 200_000 });
  const cpu = await sampleCpu(variants, { iterations: 20_000, rounds: 21 });
  const added = median(cpu.pipeline0) - median(cpu.direct);
  checks.push({
    name: 'pipeline with 0 layers vs direct executor call (validation on; CPU time, wall time in brackets)',
    measured: `${fmt(median(cpu.direct))} → ${fmt(median(cpu.pipeline0))} (+${fmt(added)}) [wall: ${fmt(wall.direct)} → ${fmt(wall.pipeline0)}, +${fmt(wall.pipeline0 - wall.direct)}]`,
    target: '≤ +100 ns',
    pass: added <= 100,
  });
}

// 2. Pass-through layers vs raw koa-compose with the same layers around the same executor (issue 11):
// 10 layers as a whole (the pipeline's fixed cost included), and per layer as the slope between 10
// and 40 layers (a wide span keeps the slope well above the noise of either end). Ratios are the
// median of per-round ratios: each round times every variant back to back. The verdict is on CPU
// time (see sampleCpu); the wall-time ratios of bench/harness.ts are shown beside it.
{
  const o10 = ours(10);
  const o40 = ours(40);
  const k10 = koa(10);
  const k40 = koa(40);
  const variants = { o10: () => o10.generate(REQUEST), o40: () => o40.generate(REQUEST), k10, k40 };
  const slope = (x40: readonly number[], x10: readonly number[]) => x40.map((v, i) => (v - (x10[i] as number)) / 30);
  const ratios = (s: Record<keyof typeof variants, number[]>) => ({
    whole: pairedRatio(s.o10, s.k10),
    perLayer: pairedRatio(slope(s.o40, s.o10), slope(s.k40, s.k10)),
  });
  const cpu = await sampleCpu(variants, { iterations: 5_000, rounds: 41 });
  const wall = await sample(variants, { iterations: 5_000, rounds: 41 });
  const c = ratios(cpu);
  const w = ratios(wall);
  checks.push({
    name: '10 pass-through layers vs raw koa-compose (same layers, same executor; CPU time, wall time in brackets)',
    measured: `${fmt(median(cpu.o10))} vs ${fmt(median(cpu.k10))} (${c.whole.toFixed(2)}×) [wall: ${fmt(median(wall.o10))} vs ${fmt(median(wall.k10))}, ${w.whole.toFixed(2)}×]`,
    target: '≤ 1.10×',
    pass: c.whole <= 1.1,
  });
  checks.push({
    name: 'per pass-through layer vs raw koa-compose (slope 10 → 40 layers; CPU time, wall time in brackets)',
    measured: `${fmt(median(slope(cpu.o40, cpu.o10)))} vs ${fmt(median(slope(cpu.k40, cpu.k10)))} (${c.perLayer.toFixed(2)}×) [wall: ${w.perLayer.toFixed(2)}×]`,
    target: '≤ 1.10×',
    pass: c.perLayer <= 1.1,
  });
}

// 3. Ten layers vs the Vercel AI SDK's wrapLanguageModel with ten middlewares.
{
  const mock = new MockLanguageModelV4({
    doGenerate: {
      content: [{ type: 'text', text: 'ok' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: 1, text: 1, reasoning: 0 },
      },
      warnings: [],
    } as never,
  });
  const wrapped = wrapLanguageModel({
    model: mock,
    middleware: Array.from({ length: 10 }, () => ({
      specificationVersion: 'v4' as const,
      wrapGenerate: async ({ doGenerate }: { doGenerate: () => PromiseLike<unknown> }) => doGenerate(),
    })) as never,
  });
  const params = { prompt: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }] };
  const o10 = ours(10);
  const k10 = koa(10);
  const r = await compare(
    { ours10: () => o10.generate(REQUEST), koa10: k10, aisdk10: () => wrapped.doGenerate(params as never) },
    { iterations: 20_000 },
  );
  checks.push({
    name: 'floor: raw koa-compose, 10 pass-through layers + executor, vs the same AI SDK stack',
    measured: `${fmt(r.koa10)} vs ${fmt(r.aisdk10)} (${(r.aisdk10 / r.koa10).toFixed(1)}× faster)`,
    target: '(reference)',
    pass: true,
  });
  checks.push({
    name: '10 layers vs AI SDK wrapLanguageModel (10 middlewares, MockLanguageModelV4)',
    measured: `${fmt(r.ours10)} vs ${fmt(r.aisdk10)} (${(r.aisdk10 / r.ours10).toFixed(1)}× faster)`,
    target: '≥ 4× faster',
    pass: r.aisdk10 / r.ours10 >= 4,
  });
}

// 4. Replacing 1 of N messages through ctx.update vs a hand-written spread update.
function transcript(n: number): Message[] {
  const messages: Message[] = [{ role: 'system', content: 'You are terse.' }];
  for (let i = 1; i < n; i++) {
    messages.push(i % 2 ? { role: 'user', content: `question ${i}` } : { role: 'assistant', content: `answer ${i}` });
  }
  return messages;
}
const settings = { validate: true, inspect: false, strict: false, events: new EventHub() };
const unchecked = { ...settings, validate: false };
for (const n of [10, 100, 1_000, 10_000]) {
  const request = { model: 'bench-model', messages: transcript(n) };
  findRequestProblem(request); // every message known-valid, as after the request's entry check
  const target = n >> 1;
  let k = 0;
  const r = await compare(
    {
      spread: () => {
        const replacement: Message = { role: 'user', content: `edited ${k++}` };
        const messages = request.messages.slice();
        messages[target] = replacement;
        return { ...request, messages };
      },
      update: () => {
        const core = new CallCore(settings, request, 'generate', undefined, undefined, undefined);
        const replacement: Message = { role: 'user', content: `edited ${k++}` };
        core.update((draft) => {
          draft.messages[target] = replacement;
        }, 'bench');
        return core.request;
      },
      unchecked: () => {
        const core = new CallCore(unchecked, request, 'generate', undefined, undefined, undefined);
        const replacement: Message = { role: 'user', content: `edited ${k++}` };
        core.update((draft) => {
          draft.messages[target] = replacement;
        }, 'bench');
        return core.request;
      },
    },
    { iterations: n >= 10_000 ? 500 : n >= 1000 ? 5_000 : 50_000 },
  );
  checks.push({
    name: `ctx.update replacing 1 of ${n.toLocaleString('en')} messages (validation on) vs spread`,
    measured: `${fmt(r.update)} vs ${fmt(r.spread)} (${(r.update / r.spread).toFixed(2)}×; validation off: ${fmt(r.unchecked)}, ${(r.unchecked / r.spread).toFixed(2)}×)`,
    target: '≤ 2×',
    pass: r.update / r.spread <= 2,
  });
}

// 4b. The same on a frozen array (a caller's frozen history). Immer copies an array with slice(),
// which V8 runs ~50× slower on a frozen one; ctx.update hands Immer a plain copy instead.
{
  const messages = Object.freeze(transcript(1_000));
  const request = { model: 'bench-model', messages };
  let k = 0;
  const r = await compare(
    {
      spread: () => {
        const copy = [...messages];
        copy[500] = { role: 'user', content: `edited ${k++}` };
        return { ...request, messages: copy };
      },
      update: () => {
        const core = new CallCore(settings, request, 'generate', undefined, undefined, undefined);
        const replacement: Message = { role: 'user', content: `edited ${k++}` };
        core.update((draft) => {
          draft.messages[500] = replacement;
        }, 'bench');
        return core.request;
      },
    },
    { iterations: 5_000 },
  );
  checks.push({
    name: 'ctx.update replacing 1 of 1,000 messages of a frozen array (validation on) vs spread',
    measured: `${fmt(r.update)} vs ${fmt(r.spread)} (${(r.update / r.spread).toFixed(2)}×)`,
    target: '(reference)',
    pass: true,
  });
}

// 5. Validation after a 1-message edit of a 10,000-message request vs a full zod parse.
{
  const before = { model: 'bench-model', messages: transcript(10_000) };
  findRequestProblem(before);
  let k = 0;
  const edits = Array.from({ length: 64 }, () => {
    const messages = before.messages.slice();
    messages[5000] = { role: 'user', content: `edited ${k++}` };
    return { ...before, messages };
  });
  let e = 0;
  // What ctx.update passes: the tracker saw one index written.
  const touched = new Touched();
  touched.add('5000');
  const r = await compare(
    {
      incremental: () => findUpdateProblem(before, edits[e++ & 63] as typeof before, touched),
      untracked: () => findUpdateProblem(before, edits[e++ & 63] as typeof before),
      fullParse: () => ModelRequestSchema.parse(edits[e++ & 63]),
    },
    { iterations: 200, rounds: 11 },
  );
  checks.push({
    name: 'validation after a 1-message edit of 10,000 messages vs full zod parse',
    measured: `${fmt(r.incremental)} vs ${fmt(r.fullParse)} (${((100 * r.incremental) / r.fullParse).toFixed(2)}%; identity walk without the tracker: ${fmt(r.untracked)})`,
    target: '≤ 5%',
    pass: r.incremental / r.fullParse <= 0.05,
  });
}

// 6. Streaming: per-part overhead of the stack (reference; no target in the issue).
{
  const parts: StreamPart[] = [
    ...Array.from({ length: 100 }, (_, i) => ({ type: 'text-delta' as const, text: `w${i} ` })),
    { type: 'finish', finishReason: 'stop' },
  ];
  const streaming: Executor = {
    name: 'bench-stream',
    generate: executor.generate,
    async *stream() {
      yield* parts;
    },
  };
  const s0 = pipeline(streaming);
  const s10 = pipeline(streaming);
  for (let i = 0; i < 10; i++)
    s10.use(async function pass(_ctx, next) {
      await next();
    });
  const drain = async (iterable: AsyncIterable<StreamPart>) => {
    for await (const _ of iterable);
  };
  const r = await compare(
    {
      direct: () => drain((streaming.stream as NonNullable<Executor['stream']>)(REQUEST)),
      layers0: () => drain(s0.stream(REQUEST)),
      layers10: () => drain(s10.stream(REQUEST)),
    },
    { iterations: 300 },
  );
  checks.push({
    name: 'stream of 100 parts: direct vs pipeline with 0 / 10 layers',
    measured: `${fmt(r.direct)} vs ${fmt(r.layers0)} / ${fmt(r.layers10)} (+${fmt((r.layers0 - r.direct) / 101)} per part)`,
    target: '(reference)',
    pass: true,
  });
}

printChecks('Core onion (issues 2 and 11)', checks);
