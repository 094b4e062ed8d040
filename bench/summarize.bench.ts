// summarize() over a 1,000-turn agent run (issue 15). Run: npx tsx bench/summarize.bench.ts
// Counts the summary model calls (against the turns / threshold-window bound), checks no summary is
// computed twice (each summary request is distinct, and a second pass over the same run makes no
// new call), and times the run with and without the layer (paired rounds, medians).
import { createHash } from 'node:crypto';
import {
  type Executor,
  type Message,
  type ModelResponse,
  type ReadonlyModelRequest,
  pipeline,
  runAgent,
  tool,
} from 'modelware';
import { summarize } from 'modelware/middleware';
import { z } from 'zod';
import { type Check, fmt, median, printChecks, sample } from './harness.js';

const TURNS = 1_000;
const THRESHOLD = 2_000;
const KEEP_RECENT = 10;
/** A deterministic tokenizer (one token per 4 characters), so the counts do not depend on a vocabulary. */
const tokenizer = (text: string) => Math.ceil(text.length / 4);
const START: Message[] = [
  { role: 'system', content: 'You are a research agent. Use the lookup tool.' },
  { role: 'user', content: 'Find everything about onions.' },
];

const lookup = tool({
  name: 'lookup',
  input: z.object({ q: z.string() }),
  execute: ({ q }) => `Result for ${q}: onions are layered bulbs; this note is padded to a realistic size. `.repeat(2),
});

/** Calls the tool every turn: the run lasts `maxTurns`. */
function agentModel(): Executor {
  let n = 0;
  return {
    name: 'bench-model',
    async generate(): Promise<ModelResponse> {
      n++;
      return {
        message: {
          role: 'assistant',
          content: [
            { type: 'text', text: `Step ${n}: looking up the next fact.` },
            { type: 'tool-call', toolCallId: `c${n}`, toolName: 'lookup', input: { q: `fact ${n}` } },
          ],
        },
        finishReason: 'tool-calls',
      };
    },
  };
}

function summaryModel() {
  const inputs = new Set<string>();
  let calls = 0;
  const executor: Executor = {
    name: 'summary-model',
    async generate(request: ReadonlyModelRequest): Promise<ModelResponse> {
      calls++;
      inputs.add(createHash('sha256').update(JSON.stringify(request.messages)).digest('hex'));
      return {
        message: { role: 'assistant', content: `Summary #${calls}: the agent looked up many onion facts.` },
        finishReason: 'stop',
      };
    },
  };
  return { executor, inputs, calls: () => calls };
}

async function run(withSummary: boolean, layer?: ReturnType<typeof summarize>) {
  const app = pipeline(agentModel());
  if (withSummary && layer) app.use(layer);
  return runAgent({ model: app, modelId: 'm', messages: START, tools: [lookup], maxTurns: TURNS, onMaxTurns: 'stop' });
}

// 1. Count the calls.
const counter = summaryModel();
const layer = summarize({
  persist: 'view',
  threshold: THRESHOLD,
  keepRecent: KEEP_RECENT,
  executor: counter.executor,
  tokenizer,
});
const result = await run(true, layer);
const transcript = result.transcript as readonly Message[];
const callsFirstPass = counter.calls();
// Tokens one turn adds (assistant message + tool result, with the 4-token framing each).
const perTurn = (() => {
  const text = (m: Message) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));
  const turnMessages = transcript.slice(START.length, START.length + 2);
  return turnMessages.reduce((sum, m) => sum + 4 + tokenizer(text(m as Message)), 0);
})();
// The threshold-window: the turns whose messages fill the threshold.
const idealWindow = Math.floor(THRESHOLD / perTurn);

// 2. A second pass over the same conversation: every summary comes from the memo.
const app2 = pipeline(agentModel()).use(layer);
const before = counter.calls();
for (let i = START.length; i <= transcript.length; i += 50)
  await app2.generate({ model: 'm', messages: transcript.slice(0, i) });
const secondPass = counter.calls() - before;

// 3. Time: the run without the layer vs with it (a fresh layer each round: the memo is cold).
const times = await sample(
  {
    without: () => run(false),
    with: () =>
      run(
        true,
        summarize({
          persist: 'view',
          threshold: THRESHOLD,
          keepRecent: KEEP_RECENT,
          executor: summaryModel().executor,
          tokenizer,
        }),
      ),
  },
  { iterations: 1, rounds: 5, warmup: 1 },
);

console.log(`\n## summarize() over a ${TURNS}-turn run (threshold ${THRESHOLD} tokens, keepRecent ${KEEP_RECENT})`);
console.log(`tokens per turn: ${perTurn}; transcript: ${transcript.length} messages`);
console.log(`summary calls: ${callsFirstPass}; distinct summary requests: ${counter.inputs.size}`);
console.log(`threshold-window (threshold / tokens per turn): ${idealWindow} turns`);
console.log(
  `second pass over the same run (${Math.ceil((transcript.length - START.length + 1) / 50)} calls): ${secondPass} summary calls`,
);
console.log(
  `run without summarize: ${fmt(median(times.without))}; with: ${fmt(median(times.with))} (median of 5, loaded machine)`,
);
const bound = TURNS / idealWindow;
const checks: Check[] = [
  {
    name: 'summary calls <= turns / threshold-window',
    measured: `${callsFirstPass}`,
    target: `<= ${bound.toFixed(1)} (${TURNS} / ${idealWindow})`,
    pass: callsFirstPass <= bound,
  },
  {
    name: 'no summary computed twice: distinct summary requests',
    measured: `${counter.inputs.size} of ${callsFirstPass}`,
    target: 'all distinct',
    pass: counter.inputs.size === callsFirstPass,
  },
  {
    name: 'second pass over the same run: summary calls',
    measured: `${secondPass}`,
    target: '0',
    pass: secondPass === 0,
  },
];
printChecks('summarize', checks);
