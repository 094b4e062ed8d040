// guard({ streaming: 'incremental' }) cost per output character (issue 9). Run: npx tsx bench/guard.bench.ts
// Each size streams that many characters in 4-character text deltas (the adversarial case: the
// old guard re-checked the whole text on every delta) through a pipeline with the guard and,
// round-robin in the same run, through the same pipeline without it. The check reads the whole
// text, as real checks do. Linear means the guarded call's cost per character is flat from 1 KB to
// 1 MB (the old guard's grew with the text: 256 KB took 67 s). The guard releases each checked
// batch of text as one delta, so the layers and the consumer past it handle ~40 parts instead of
// 262,144: the guarded call can be cheaper than the plain one, whose per-character cost is shown
// for reference.
import { type Executor, type StreamPart, pipeline, textOf } from 'modelware';
import { guard } from 'modelware/middleware';
import { type Check, fmt, median, printChecks, sample } from './harness.js';

const DELTA = 4;
const SIZES = [1024, 16 * 1024, 256 * 1024, 1024 * 1024] as const;
const REQUEST = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'go' }] };

/** Parts made on the fly, as a provider's would be: a prebuilt array of 262,144 parts would load the GC. */
function executorOf(chars: number): Executor {
  return {
    name: 'bench',
    generate: () => Promise.reject(new Error('stream only')),
    async *stream() {
      for (let i = 0; i < chars; i += DELTA) yield { type: 'text-delta', text: 'abcd'.slice(0, DELTA) };
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
}

async function drain(stream: AsyncIterable<StreamPart>): Promise<void> {
  for await (const _ of stream);
}

const perChar: Record<number, { guard: number; guarded: number; plain: number; checks: number }> = {};
for (const chars of SIZES) {
  const executor = executorOf(chars);
  let checks = 0;
  const guarded = pipeline(executor).use(
    guard({
      streaming: 'incremental',
      output: (response) => {
        checks++;
        return textOf(response.message).includes('SECRET') ? 'secret' : true;
      },
    }),
  );
  const plain = pipeline(executor);
  await drain(guarded.stream(REQUEST));
  const checksPerCall = checks;
  const iterations = Math.max(1, Math.round((64 * 1024) / chars));
  const big = chars >= 256 * 1024;
  const ns = await sample(
    { guarded: () => drain(guarded.stream(REQUEST)), plain: () => drain(plain.stream(REQUEST)) },
    { iterations, rounds: big ? 7 : 15, warmup: big ? 1 : 3 },
  );
  const guardNs = median(ns.guarded.map((g, i) => g - (ns.plain[i] as number)));
  perChar[chars] = { guard: guardNs, guarded: median(ns.guarded), plain: median(ns.plain), checks: checksPerCall };
  console.log(
    `${chars / 1024} KB: guarded ${fmt(median(ns.guarded))}, plain ${fmt(median(ns.plain))}, paired difference ${fmt(guardNs)}, ${checksPerCall} checks`,
  );
}

const at = (chars: number) => perChar[chars] as { guard: number; guarded: number; plain: number; checks: number };
const guarded = (chars: number) => at(chars).guarded / chars;
const plain = (chars: number) => at(chars).plain / chars;
const ratio = guarded(1024 * 1024) / guarded(1024);
const checks: Check[] = [
  {
    name: "pipeline + guard 'incremental', cost per output char, 1 KB vs 1 MB (4-char deltas)",
    measured: `${fmt(guarded(1024))} vs ${fmt(guarded(1024 * 1024))} (${ratio.toFixed(2)}×; 16 KB ${fmt(guarded(16 * 1024))}, 256 KB ${fmt(guarded(256 * 1024))})`,
    target: '≤ 1.2×',
    pass: ratio <= 1.2,
  },
  {
    name: 'same pipeline without the guard, per char, 1 KB / 16 KB / 256 KB / 1 MB',
    measured: SIZES.map((size) => fmt(plain(size))).join(' / '),
    target: '(reference)',
    pass: true,
  },
  {
    name: 'checks per call: 1 KB / 16 KB / 256 KB / 1 MB',
    measured: SIZES.map((size) => at(size).checks).join(' / '),
    target: '(reference; was one per delta: 256 / 4,096 / 65,536 / 262,144)',
    pass: true,
  },
];
printChecks("guard({ streaming: 'incremental' }) — issue 9", checks);
