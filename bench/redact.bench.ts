// redactPii cost (issue 9). Run: npx tsx bench/redact.bench.ts (or npm run bench -- redact)
// 1. Each built-in detector's throughput on 1 MB of natural text, of base64 and of every
//    adversarial near-miss input (test/security/redact-pii-adversarial.ts); the worst one counts.
// 2. Streamed redaction (scope 'response', 32-character deltas of natural text): cost per output
//    character at 1 KB, 16 KB, 256 KB and 1 MB; flat means linear.
import { type Executor, type StreamPart, pipeline } from 'modelware';
import {
  type BuiltinPiiDetector,
  DEFAULT_DETECTORS,
  PLACEHOLDER_LIKE,
  scanText,
  toDetectors,
} from '../middleware/redact-pii/detectors.js';
import { redactPii } from '../middleware/redact-pii/index.js';
import { ADVERSARIAL, base64, natural } from '../test/security/redact-pii-adversarial.js';
import { type Check, compare, printChecks } from './harness.js';

const MB = 1 << 20;
const rounds = { iterations: 1, rounds: Number(process.env.ROUNDS ?? 7), warmup: 2 };
const mbps = (ns: number, chars: number) => chars / (ns / 1e9) / 1e6;

const inputs: Record<string, string> = { natural: natural(MB), base64: base64(MB) };
for (const [name, make] of Object.entries(ADVERSARIAL)) inputs[`adversarial ${name}`] = make(MB);

const checks: Check[] = [];
const rows: string[] = [];
const detectors = [
  ...DEFAULT_DETECTORS.map((name) => [name, toDetectors([name as BuiltinPiiDetector])] as const),
  ['placeholder (with restore)', [PLACEHOLDER_LIKE]] as const,
];
for (const [name, list] of detectors) {
  const times = await compare(
    Object.fromEntries(Object.entries(inputs).map(([input, text]) => [input, () => scanText(text, list)])),
    rounds,
  );
  let worst = Number.POSITIVE_INFINITY;
  let worstInput = '';
  for (const [input, ns] of Object.entries(times)) {
    const rate = mbps(ns, MB);
    rows.push(`| ${name} | ${input} | ${rate.toFixed(0)} MB/s |`);
    if (input.startsWith('adversarial') && !input.includes('dense') && rate < worst) {
      worst = rate;
      worstInput = input.slice('adversarial '.length);
    }
  }
  const naturalRate = mbps(times.natural as number, MB);
  const base64Rate = mbps(times.base64 as number, MB);
  checks.push({
    name: `\`${name}\` on 1 MB: natural / base64 / worst near-miss (${worstInput}); dense matches in the table below`,
    measured: `${naturalRate.toFixed(0)} / ${base64Rate.toFixed(0)} / ${worst.toFixed(0)} MB/s`,
    target: '≥ 20 MB/s each',
    pass: Math.min(naturalRate, base64Rate, worst) >= 20,
  });
}

// ---- 2. streamed redaction ----
function streaming(text: string): Executor {
  return {
    name: 'bench',
    generate: async () => {
      throw new Error('stream only');
    },
    async *stream(): AsyncGenerator<StreamPart> {
      for (let i = 0; i < text.length; i += 32) yield { type: 'text-delta', text: text.slice(i, i + 32) };
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
}
const sizes = [1 << 10, 1 << 14, 1 << 18, MB];
const perChar: number[] = [];
for (const size of sizes) {
  const app = pipeline(streaming(natural(size))).use(redactPii({ scope: ['response'] }));
  const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
  const iterations = Math.max(1, Math.round(MB / size / 16));
  const { run } = await compare(
    {
      run: async () => {
        for await (const _ of app.stream(request));
      },
    },
    { iterations, rounds: Number(process.env.ROUNDS ?? 7), warmup: 2 },
  );
  perChar.push(run / size);
}
// The slope ratio: cost per character at 1 MB over the cheapest per-character cost at any smaller
// size (fixed per-call costs make small streams dearer per character, never cheaper).
const slope = (perChar.at(-1) as number) / Math.min(...perChar.slice(0, -1));
checks.push({
  name: 'streamed redaction, ns per output character at 1 KB / 16 KB / 256 KB / 1 MB (32-char deltas)',
  measured: `${perChar.map((n) => n.toFixed(0)).join(' / ')}; slope ratio ${slope.toFixed(2)}`,
  target: 'slope ratio ≤ 1.2',
  pass: slope <= 1.2,
});

printChecks('redactPii (issue 9): detector throughput on 1 MB and streamed cost per character', checks);
console.log('\n| detector | input (1 MB) | throughput |\n| --- | --- | --- |');
for (const row of rows) console.log(row);
