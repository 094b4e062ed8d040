// Agent-loop benchmarks (issue 3). Run: npx tsx bench/agent.bench.ts
// Heap check (c) runs each scenario in a child process with --expose-gc.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type Executor,
  type Message,
  type ModelResponse,
  type ReadonlyModelRequest,
  type ToolCallPart,
  type ToolMessage,
  pipeline,
  runAgent,
  tool,
  toolCallsOf,
} from 'modelware';
import { compactToolResults, tokenBudget, transformContext } from 'modelware/middleware';
import { z } from 'zod';
import { type Check, fmt, median, pairedRatio, printChecks, sample } from './harness.js';

const TURNS = 1_000;
const KEEP_LAST = 3;
const MIN_CHARS = 100;
const STUB = '[result omitted]';
const SYSTEM = 'You are a research agent. Use the lookup tool.';
const START: Message[] = [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: 'Find everything about onions.' },
];

/**
 * A flat 500-character string per call, as parsed from a provider's JSON. (padEnd alone makes a
 * rope that V8 flattens on its first comparison, which would bill whoever compared it first.)
 */
const output = (q: number): string => JSON.parse(JSON.stringify(String(q).padEnd(500, '.')));
const lookup = tool({ name: 'lookup', input: z.object({ q: z.number() }), execute: ({ q }) => output(q) });

/** Calls `lookup` on every turn but the last: `turns` model calls in all. */
function loopExecutor(turns: number): Executor {
  let n = 0;
  return {
    name: 'bench',
    async generate(): Promise<ModelResponse> {
      n++;
      if (n >= turns) return { message: { role: 'assistant', content: 'done' }, finishReason: 'stop' };
      return {
        message: {
          role: 'assistant',
          content: [{ type: 'tool-call', toolCallId: `c${n}`, toolName: 'lookup', input: { q: n } }],
        },
        finishReason: 'tool-calls',
        usage: { inputTokens: 1, outputTokens: 1 },
      };
    },
  };
}

/** The per-turn edit both variants make: the system prompt names the turn. */
const systemFor = (turn: number): Message => ({ role: 'system', content: `${SYSTEM} Turn ${turn}.` });

function oursApp(turns: number) {
  return pipeline(loopExecutor(turns)).use(
    transformContext(function refreshSystem(draft, { turn }) {
      draft[0] = systemFor(turn);
    }),
    compactToolResults({ keepLast: KEEP_LAST, minChars: MIN_CHARS, replaceWith: STUB }),
  );
}

async function ours(turns = TURNS) {
  const app = oursApp(turns);
  return runAgent({ model: app, modelId: 'bench-model', messages: START, tools: [lookup], maxTurns: turns });
}

/** The same work written by hand with immutable updates: no middleware, no validation. */
async function handWritten(turns = TURNS) {
  const executor = loopExecutor(turns);
  const tools = [lookup.spec];
  const signal = new AbortController().signal;
  let transcript: readonly Message[] = START;
  for (let turn = 1; turn <= turns; turn++) {
    const view: Message[] = new Array(transcript.length);
    let kept = 0;
    for (let i = transcript.length - 1; i >= 0; i--) {
      const m = transcript[i] as Message;
      view[i] = m.role === 'tool' && ++kept > KEEP_LAST && m.content.length >= MIN_CHARS ? { ...m, content: STUB } : m;
    }
    view[0] = systemFor(turn);
    const request: ReadonlyModelRequest = { model: 'bench', messages: view, tools };
    const response = await executor.generate(request, { signal });
    transcript = [...transcript, response.message];
    const calls = toolCallsOf(response.message) as ToolCallPart[];
    if (calls.length === 0) break;
    const results = await Promise.all(
      calls.map(
        async (call): Promise<ToolMessage> => ({
          role: 'tool',
          toolCallId: call.toolCallId,
          toolName: call.toolName,
          content: String(
            await lookup.execute(lookup.input.parse(call.input), { signal, toolCallId: call.toolCallId } as never),
          ),
        }),
      ),
    );
    transcript = [...transcript, ...results];
  }
  return transcript;
}

/** Bytes retained by one of what a scenario builds: median of 7 builds after a warm-up. */
async function heapOf(scenario: string): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  const one = HEAP_SCENARIOS[scenario];
  if (!one) throw new Error(`unknown heap scenario ${scenario}`);
  // Several copies at once, so the few hundred KiB of unrelated heap noise (compiled code, caches)
  // is spread over them; the naive history is big enough alone.
  const copies = scenario === 'copying' ? 1 : 8;
  const build = async () => {
    const all: unknown[] = [];
    for (let i = 0; i < copies; i++) all.push(await one());
    return all;
  };
  const settle = async () => {
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return process.memoryUsage().heapUsed;
  };
  const samples: number[] = [];
  let value: unknown = await build();
  for (let i = 0; i < 7; i++) {
    value = undefined;
    const before = await settle();
    value = await build();
    samples.push((await settle()) - before);
  }
  void value;
  samples.sort((a, b) => a - b);
  return (samples[3] as number) / copies;
}

const HEAP_SCENARIOS: Record<string, () => Promise<unknown>> = {
  // Each message built once, in one array, nothing else kept.
  async floor() {
    const messages: Message[] = [...START];
    for (let n = 1; n < TURNS; n++) {
      const toolCallId = `c${n}`;
      messages.push(
        { role: 'assistant', content: [{ type: 'tool-call', toolCallId, toolName: 'lookup', input: { q: n } }] },
        { role: 'tool', toolCallId, toolName: 'lookup', content: output(n) },
      );
    }
    messages.push({ role: 'assistant', content: 'done' });
    return messages;
  },
  async history() {
    return (await ours()).transcript;
  },
  // The whole result (turns, responses) and the pipeline with its per-message caches.
  async everything() {
    const app = oursApp(TURNS);
    return [
      app,
      await runAgent({ model: app, modelId: 'bench-model', messages: START, tools: [lookup], maxTurns: TURNS }),
    ];
  },
  // A naive immutable history: every turn copies every message, and a turn log keeps each copy.
  async copying() {
    let transcript: Message[] = [...START];
    const turns: Message[][] = [];
    for (let n = 1; n < TURNS; n++) {
      const toolCallId = `c${n}`;
      transcript = [
        ...transcript.map((m) => ({ ...m }) as Message),
        { role: 'assistant', content: [{ type: 'tool-call', toolCallId, toolName: 'lookup', input: { q: n } }] },
        { role: 'tool', toolCallId, toolName: 'lookup', content: output(n) },
      ];
      turns.push(transcript);
    }
    return turns;
  },
};

if (process.argv[2] === '--heap') {
  console.log(await heapOf(process.argv[3] as string));
  process.exit(0);
}

const checks: Check[] = [];

// (a) 1,000-turn loop: transformContext + compactToolResults + validation vs hand-written immutable code.
{
  const s = await sample(
    { ours: () => ours(), handWritten: () => handWritten() },
    { iterations: 1, rounds: 21, warmup: 3 },
  );
  const ratio = pairedRatio(s.ours, s.handWritten);
  checks.push({
    name: '(a) 1,000 turns, transformContext + compactToolResults + validation, vs hand-written (median of 21 paired rounds)',
    measured: `${fmt(median(s.ours))} vs ${fmt(median(s.handWritten))} (${ratio.toFixed(2)}×)`,
    target: '≤ 1.5×',
    pass: ratio <= 1.5,
  });
}

// (b) tokenBudget over 1,000 turns: tokenizer calls vs counting every message once.
{
  // Longer results here (2,000 characters), so truncation has something to cut. Budgets that bite
  // for most of the run: drop-oldest from about turn 40, truncation from about turn 230.
  const lookupLong = tool({
    name: 'lookup',
    input: z.object({ q: z.number() }),
    execute: ({ q }) => JSON.parse(JSON.stringify(String(q).padEnd(2000, '.'))) as string,
  });
  for (const [strategy, maxInputTokens] of [
    ['drop-oldest', 20_000],
    ['truncate-tool-results', 120_000],
  ] as const) {
    let calls = 0;
    const counting = (text: string) => {
      calls++;
      return Math.ceil(text.length / 4);
    };
    // Every distinct message object any call sent, as the layer after tokenBudget sees them.
    const sent = new Set<object>();
    const app = pipeline(loopExecutor(TURNS)).use(
      tokenBudget({ maxInputTokens, strategy, tokenizer: counting }),
      function collect(ctx, next) {
        for (const m of ctx.request.messages) sent.add(m);
        return next();
      },
    );
    const started = performance.now();
    const result = await runAgent({
      model: app,
      modelId: 'bench-model',
      messages: START,
      tools: [lookupLong],
      maxTurns: TURNS,
    });
    const ms = performance.now() - started;
    // Counting every message once: every message object any call sent (the transcript's, and the
    // truncated copies 'truncate-tool-results' makes, one per cut result), plus the tool definitions.
    const once = sent.size + 1;
    const ratio = calls / once;
    const transcriptOnly = result.transcript.length - 1 + 1;
    checks.push({
      name: `(b) tokenBudget '${strategy}', 1,000 turns: tokenizer calls vs counting each message sent once (run: ${ms.toFixed(0)} ms)`,
      measured: `${calls} vs ${once} (${ratio.toFixed(2)}×)${once > transcriptOnly ? `; ${once - transcriptOnly} of them cut copies (${(calls / transcriptOnly).toFixed(2)}× the transcript's messages)` : ''}`,
      target: '≤ 1.2×',
      pass: ratio <= 1.2,
    });
  }
}

// (c) Heap retained by the history after 1,000 turns vs a structural-sharing floor. Each scenario
// runs in a fresh process, so module-level tables and compiled code of one do not count in another.
{
  const scenarios = ['floor', 'history', 'everything', 'copying'] as const;
  const bytes: Record<string, number> = {};
  for (const scenario of scenarios) {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--heap', scenario],
      {
        encoding: 'utf8',
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      },
    );
    const value = Number(child.stdout.trim().split('\n').at(-1));
    if (child.status !== 0 || !Number.isFinite(value))
      throw new Error(`heap scenario ${scenario} failed: ${child.stderr}`);
    bytes[scenario] = value;
  }
  const { floor = 1, history = 0, everything = 0, copying = 0 } = bytes;
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  checks.push({
    name: '(c) heap retained by the transcript after 1,000 turns vs a floor (each message once, one array)',
    measured: `${kb(history)} vs ${kb(floor)} (${(history / floor).toFixed(2)}×)`,
    target: '≤ 1.1×',
    pass: history / floor <= 1.1,
  });
  checks.push({
    name: '(c) info: the whole result and pipeline caches; a history copying every message each turn',
    measured: `${kb(everything)} (${(everything / floor).toFixed(2)}×); ${kb(copying)} (${(copying / floor).toFixed(1)}×)`,
    target: '—',
    pass: true,
  });
}

printChecks('Agent loop (bench/agent.bench.ts)', checks);
