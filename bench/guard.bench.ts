// guard({ streaming: 'incremental' }) cost per output character (issue 9). Run: npx tsx bench/guard.bench.ts
// Each size streams that many characters in 4-character text deltas (the adversarial case: the
// old guard re-checked the whole text on every delta) through a pipeline with the guard and,
// round-robin in the same run, through the same pipeline without it; the guard's cost is the
// median of the per-round differences (both sides of one difference ran back to back). The check
// reads the whole text, as real checks do. Linear means the guard's cost per character is flat
// from 1 KB to 1 MB (the old guard's grew with the text: 256 KB took 67 s).
import { type Executor, type StreamPart, pipeline, textOf } from 'modelware';
import { guard } from 'modelware/middleware';
import { type Check, fmt, median, printChecks, sample } from './harness.js';

const DELTA = 4;
const SIZES = [1024, 16 * 1024, 256 * 1024, 1024 * 1024] as const;
const REQUEST = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'go' }] };

function executorOf(chars: number): Executor {
  const parts: StreamPart[] = [];
  const chunk = 'abcd'.slice(0, DELTA);
  for (let i = 0; i < chars; i += DELTA) parts.push({ type: 'text-delta', text: chunk });
  parts.push({ type: 'finish', finishReason: 'stop' });
  return {
    name: 'bench',
    generate: () => Promise.reject(new Error('stream only')),
    async *stream() {
      yield* parts;
    },
  };
}

async function drain(stream: AsyncIterable<StreamPart>): Promise<void> {
  for await (const _ of stream);
}

const perChar: Record<number, { guard: number; guarded: number; checks: number }> = {};
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
  perChar[chars] = { guard: guardNs, guarded: median(ns.guarded), checks: checksPerCall };
  console.log(
    `${chars / 1024} KB: guarded ${fmt(median(ns.guarded))}, plain ${fmt(median(ns.plain))}, guard ${fmt(guardNs / chars)}/char, ${checksPerCall} checks`,
  );
}

const at = (chars: number) => perChar[chars] as { guard: number; guarded: number; checks: number };
const guardPerChar = (chars: number) => at(chars).guard / chars;
const ratio = guardPerChar(1024 * 1024) / guardPerChar(1024);
const totalSmall = at(1024).guarded / 1024;
const totalLarge = at(1024 * 1024).guarded / (1024 * 1024);
const checks: Check[] = [
  {
    name: "guard 'incremental' cost per output char, 1 KB vs 1 MB (4-char deltas)",
    measured: `${fmt(guardPerChar(1024))} vs ${fmt(guardPerChar(1024 * 1024))} (${ratio.toFixed(2)}×; 16 KB ${fmt(guardPerChar(16 * 1024))}, 256 KB ${fmt(guardPerChar(256 * 1024))})`,
    target: '≤ 1.2×',
    pass: ratio <= 1.2,
  },
  {
    name: 'whole call (pipeline + guard) per char, 1 KB vs 1 MB',
    measured: `${fmt(totalSmall)} vs ${fmt(totalLarge)} (${(totalLarge / totalSmall).toFixed(2)}×)`,
    target: '(reference)',
    pass: true,
  },
  {
    name: 'checks per call: 1 KB / 16 KB / 256 KB / 1 MB',
    measured: SIZES.map((s) => at(s).checks).join(' / '),
    target: '(reference; was one per delta: 256 / 4,096 / 65,536 / 262,144)',
    pass: true,
  },
];
printChecks("guard({ streaming: 'incremental' }) — issue 9", checks);
