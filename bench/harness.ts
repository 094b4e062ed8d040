// Benchmark helpers. Variants are timed round-robin (A, B, C, A, B, C, ...) so that noise on this
// shared machine hits every variant alike; each result is the median over the rounds.

export type Variant = () => unknown;

export interface CompareOptions {
  /** Operations per timed batch. */
  readonly iterations: number;
  /** Timed batches per variant; the median is reported. @default 15 */
  readonly rounds?: number;
  /** Untimed batches per variant first, for the JIT. @default 3 */
  readonly warmup?: number;
}

async function batch(fn: Variant, iterations: number): Promise<number> {
  const first = fn();
  const async = first instanceof Promise;
  if (async) await first;
  const start = process.hrtime.bigint();
  if (async) for (let i = 0; i < iterations; i++) await fn();
  else for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - start) / iterations;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nanoseconds per operation, median over the rounds, for each variant. */
export async function compare<K extends string>(
  variants: Record<K, Variant>,
  options: CompareOptions,
): Promise<Record<K, number>> {
  const samples = await sample(variants, options);
  return Object.fromEntries(Object.entries(samples).map(([n, s]) => [n, median(s as number[])])) as Record<K, number>;
}

/** Every round's nanoseconds per operation, for each variant, in round order. */
export async function sample<K extends string>(
  variants: Record<K, Variant>,
  options: CompareOptions,
): Promise<Record<K, number[]>> {
  const { iterations, rounds = 15, warmup = 3 } = options;
  const names = Object.keys(variants) as K[];
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as unknown as Record<K, number[]>;
  for (let r = 0; r < warmup + rounds; r++) {
    for (const name of names) {
      const ns = await batch(variants[name], iterations);
      if (r >= warmup) samples[name].push(ns);
    }
  }
  return samples;
}

/**
 * The median of per-round ratios `a / b`. Each round times `a` and `b` back to back, so a slow
 * spell on a shared machine hits both sides of one ratio: steadier than a ratio of two medians.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(a.map((x, i) => x / (b[i] as number)));
}

export function fmt(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export interface Check {
  readonly name: string;
  readonly measured: string;
  readonly target: string;
  readonly pass: boolean;
}

export function printChecks(title: string, checks: readonly Check[]): void {
  console.log(`\n### ${title}\n`);
  console.log('| check | measured | target | result |');
  console.log('| --- | --- | --- | --- |');
  for (const c of checks) console.log(`| ${c.name} | ${c.measured} | ${c.target} | ${c.pass ? 'pass' : 'FAIL'} |`);
}
