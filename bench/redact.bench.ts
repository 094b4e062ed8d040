// redactPii cost (issue 9). Run: npx tsx bench/redact.bench.ts (or npm run bench -- redact);
// STREAM=0 skips part 2.
// 1. Each built-in detector's throughput on 1 MB of natural text, of base64 and of every
//    adversarial input (test/security/redact-pii-adversarial.ts). An input is a near-miss for a
//    detector when it yields fewer than one accepted match per KB, and dense matches otherwise
//    (e.g. '4111 1111 1111x' holds a real phone number every 16 characters): the ≥ 20 MB/s target
//    applies to natural text, base64 and the worst near-miss; dense matches are reported apart.
//    Each input is timed round-robin with a same-run baseline (one charCodeAt pass over the same
//    text), and the ratio detector / baseline throughput is the median of per-round ratios, so a
//    loaded machine slows both sides of it alike.
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
import { type Check, compare, median, pairedRatio, printChecks, sample } from './harness.js';

const MB = 1 << 20;
const rounds = { iterations: 1, rounds: Number(process.env.ROUNDS ?? 7), warmup: 2 };
const mbps = (ns: number, chars: number) => chars / (ns / 1e9) / 1e6;

const inputs: Record<string, string> = { natural: natural(MB), base64: base64(MB) };
for (const [name, make] of Object.entries(ADVERSARIAL)) inputs[`adversarial ${name}`] = make(MB);

/** The same-run baseline: one pass over the text's char codes. */
function baseline(text: string): number {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
  }
  return digits;
}

const checks: Check[] = [];
const rows: string[] = [];
const detectors = [
  ...DEFAULT_DETECTORS.map((name) => [name, toDetectors([name as BuiltinPiiDetector])] as const),
  ['placeholder (with restore)', [PLACEHOLDER_LIKE]] as const,
];
interface Result {
  readonly rate: number;
  readonly ratio: number;
  readonly matches: number;
}
const results = new Map<string, Map<string, Result>>(detectors.map(([name]) => [name, new Map()]));
let baselineRates: number[] = [];
for (const [input, text] of Object.entries(inputs)) {
  const variants: Record<string, () => unknown> = { baseline: () => baseline(text) };
  for (const [name, list] of detectors) variants[name] = () => scanText(text, list);
  const samples = await sample(variants, rounds);
  const base = samples.baseline as number[];
  baselineRates.push(mbps(median(base), MB));
  for (const [name, list] of detectors) {
    const ns = samples[name] as number[];
    results.get(name)?.set(input, {
      rate: mbps(median(ns), MB),
      ratio: pairedRatio(base, ns),
      matches: scanText(text, list).matches.length,
    });
  }
}
baselineRates = baselineRates.sort((a, b) => a - b);
const kind = (input: string, matches: number) =>
  input === 'natural' || input === 'base64' ? input : matches * 1024 >= MB ? 'dense matches' : 'near-miss';
const show = (r: Result) => `${r.rate.toFixed(0)} MB/s (${r.ratio.toFixed(2)}× baseline)`;
for (const [name] of detectors) {
  const byInput = results.get(name) as Map<string, Result>;
  let worst: (Result & { input: string }) | undefined;
  let worstDense: (Result & { input: string }) | undefined;
  for (const [input, r] of byInput) {
    const k = kind(input, r.matches);
    rows.push(
      `| ${name} | ${input} | ${k} (${r.matches} matches) | ${r.rate.toFixed(0)} MB/s | ${r.ratio.toFixed(2)} |`,
    );
    if (k === 'near-miss' && (!worst || r.ratio < worst.ratio)) worst = { ...r, input };
    if (k === 'dense matches' && (!worstDense || r.ratio < worstDense.ratio)) worstDense = { ...r, input };
  }
  const nat = byInput.get('natural') as Result;
  const b64 = byInput.get('base64') as Result;
  const near = worst as Result & { input: string };
  checks.push({
    name: `\`${name}\` on 1 MB: natural / base64 / worst near-miss (${near.input.slice('adversarial '.length)})`,
    measured: [nat, b64, near].map(show).join(' / '),
    target: '≥ 20 MB/s each',
    pass: Math.min(nat.rate, b64.rate, near.rate) >= 20,
  });
  if (worstDense) {
    const { input, rate, ratio } = worstDense;
    rows.push(
      `| ${name} | worst dense matches (no target): ${input.slice('adversarial '.length)} | dense matches | ${rate.toFixed(0)} MB/s | ${ratio.toFixed(2)} |`,
    );
  }
}
console.log(
  `\nbaseline (one charCodeAt pass over 1 MB), per input: median ${median(baselineRates).toFixed(0)} MB/s, range ${baselineRates[0]?.toFixed(0)}–${baselineRates.at(-1)?.toFixed(0)} MB/s`,
);

// ---- 2. streamed redaction ----
const stream = process.env.STREAM !== '0';
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
if (stream) {
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
}

printChecks('redactPii (issue 9): detector throughput on 1 MB and streamed cost per character', checks);
console.log(
  '\n| detector | input (1 MB) | kind (accepted matches) | throughput | × baseline |\n| --- | --- | --- | --- | --- |',
);
for (const row of rows) console.log(row);
