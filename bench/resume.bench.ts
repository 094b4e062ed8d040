// Resume benchmark (issue 12): loading and validating the snapshot of a 1,000-turn run must cost
// at most 2x a plain JSON.parse of the same text. Run: npx tsx bench/resume.bench.ts
import { loadRunSnapshot, runAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { type Check, fmt, median, pairedRatio, printChecks, sample } from './harness.js';

const TURNS = 1_000;

/** A real run: turn n looks up topic n (a ~300-character result); turn 1,000 asks to publish, which needs approval. */
async function snapshotJson(): Promise<string> {
  const lookup = tool({
    name: 'lookup',
    input: z.object({ topic: z.string() }),
    execute: ({ topic }) => `Notes on ${topic}: ${'layers wrap each call, outermost first. '.repeat(7)}`,
  });
  const publish = tool({
    name: 'publish',
    input: z.object({ title: z.string() }),
    needsApproval: true,
    execute: () => 'ok',
  });
  const model = scriptedExecutor(
    [
      (_request, n) =>
        n < TURNS - 1
          ? {
              text: `Turn ${n}: looking up more.`,
              toolCalls: [{ id: `l${n}`, name: 'lookup', input: { topic: `topic ${n}` } }],
            }
          : { toolCalls: [{ id: 'p', name: 'publish', input: { title: 'Onions' } }] },
    ],
    { whenDone: 'repeat-last' },
  );
  const result = await runAgent({
    model,
    modelId: 'bench',
    messages: [
      { role: 'system', content: 'You are a research agent.' },
      { role: 'user', content: 'Write about onions.' },
    ],
    tools: [lookup, publish],
    maxTurns: TURNS + 1,
  });
  if (result.stopReason !== 'interrupted' || result.snapshot?.turn !== TURNS) {
    throw new Error(
      `the run did not interrupt at turn 1,000: ${result.stopReason} at ${result.snapshot?.turn ?? result.turns.length}`,
    );
  }
  return JSON.stringify(result.snapshot);
}

const json = await snapshotJson();
const snapshot = loadRunSnapshot(json);
const samples = await sample(
  { parse: () => JSON.parse(json), load: () => loadRunSnapshot(json) },
  { iterations: 5, rounds: 31, warmup: 5 },
);
const ratio = pairedRatio(samples.load, samples.parse);
console.log(
  `\nsnapshot: ${snapshot.transcript.length} messages, ${(json.length / 1024).toFixed(0)} KiB; JSON.parse ${fmt(median(samples.parse))}, loadRunSnapshot ${fmt(median(samples.load))}`,
);
const checks: Check[] = [
  {
    name: 'load + validate a 1,000-turn snapshot vs JSON.parse (median of paired ratios)',
    measured: `${ratio.toFixed(2)}x`,
    target: '≤ 2x',
    pass: ratio <= 2,
  },
];
printChecks('resume (issue 12)', checks);
