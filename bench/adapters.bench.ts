// Provider adapter overhead (issue 5). Run: npx tsx bench/adapters.bench.ts
//
// Two measurements per provider and mode, both against the SDK called directly with a prebuilt
// wire body, with the same client, in the same run:
// 1. End to end over a loopback HTTP server: SDK directly, the adapter, and a 0-layer pipeline
//    around the adapter (which adds request/response validation), in paired rotating rounds. A
//    loopback call costs about a millisecond, and on a shared machine the SDK-vs-SDK control pair
//    alone differs by several percent, so this shows the order of magnitude.
// 2. The adapter's own cost: the same calls against a client that replays the SDK objects the
//    loopback server produced, so only the mapping in and out (and the stream wrapper) is timed.
//    Added µs ÷ the loopback SDK call time is the overhead checked against the ≤ 5% target; on a
//    real provider (100 ms or more per call) it is far smaller.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { type Executor, type ModelRequest, pipeline } from 'modelware';
import { anthropicExecutor } from 'modelware/anthropic';
import { openaiExecutor } from 'modelware/openai';
import { toMessageParams } from '../lib/adapters/anthropic-wire.js';
import { toChatParams } from '../lib/adapters/openai-wire.js';
import { type FakeTurn, startAnthropicServer, startOpenAIServer } from '../test/fixtures/servers/index.js';
import { type Check, compare, fmt, median, printChecks } from './harness.js';

/** A realistic agent turn: a system prompt, history with a tool round trip, two tools. */
const REQUEST: ModelRequest = {
  model: 'bench-model',
  messages: [
    { role: 'system', content: 'You are a concise travel assistant. Use tools when facts are needed.' },
    ...Array.from({ length: 3 }, (_, i) => [
      { role: 'user' as const, content: `Question ${i}: what should I see in city number ${i}?` },
      { role: 'assistant' as const, content: `For city ${i}: the old town, the river walk and the market hall.` },
    ]).flat(),
    { role: 'user', content: 'And the weather in Paris tomorrow?' },
    {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'call_1', toolName: 'weather', input: { city: 'Paris', day: 'tomorrow' } },
      ],
    },
    { role: 'tool', toolCallId: 'call_1', toolName: 'weather', content: '{"high":18,"low":9,"rain":0.4}' },
  ],
  tools: [
    {
      name: 'weather',
      description: 'Forecast for a city',
      inputSchema: { type: 'object', properties: { city: { type: 'string' }, day: { type: 'string' } } },
    },
    {
      name: 'search',
      description: 'Web search',
      inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
    },
  ],
  options: { temperature: 0.3, maxOutputTokens: 400 },
};

// ~230 characters in 8-character deltas: about 30 stream events per call.
const TURN: FakeTurn = {
  text:
    'Tomorrow in Paris: a high of 18°C and a low of 9°C, with a 40% chance of rain in the afternoon. ' +
    'Take a light jacket and an umbrella; mornings are the best time for the river walk.',
  chunkSize: 8,
};

const ITERATIONS = 40;
const ROUNDS = 25;
const checks: Check[] = [];

type Call = () => Promise<unknown>;
interface Scenario {
  readonly provider: string;
  readonly mode: 'generate' | 'stream';
  /** Over loopback HTTP. */
  readonly http: { readonly sdk: Call; readonly adapter: Call; readonly pipeline: Call };
  /** Against a client replaying recorded SDK objects. */
  readonly replay: { readonly sdk: Call; readonly adapter: Call; readonly pipeline: Call };
}

/**
 * Runs batches of each variant in rotating order and compares within each round: the median of
 * per-round ratios to the SDK-direct batch resists the load drifting. `sdkAgain` is the SDK once
 * more, a control whose ratio is the noise of the measurement itself.
 */
async function paired(variants: Record<string, Call>): Promise<Record<string, { ns: number; ratio: number }>> {
  const names = Object.keys(variants);
  const ns: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const ratios: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -3; round < ROUNDS; round++) {
    const times: Record<string, number> = {};
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + Math.max(round, 0)) % names.length] as string;
      const call = variants[name] as Call;
      const start = process.hrtime.bigint();
      for (let i = 0; i < ITERATIONS; i++) await call();
      times[name] = Number(process.hrtime.bigint() - start) / ITERATIONS;
    }
    if (round < 0) continue; // warm-up
    for (const name of names) {
      ns[name]?.push(times[name] as number);
      ratios[name]?.push((times[name] as number) / (times.sdk as number));
    }
  }
  return Object.fromEntries(names.map((n) => [n, { ns: median(ns[n] ?? []), ratio: median(ratios[n] ?? []) }]));
}

async function measure({ provider, mode, http, replay }: Scenario): Promise<void> {
  const e2e = await paired({ sdk: http.sdk, sdkAgain: http.sdk, adapter: http.adapter, pipeline: http.pipeline });
  const own = await compare(replay, { iterations: 2000, rounds: 11 });
  const addedNs = own.adapter - own.sdk;
  const overhead = addedNs / (e2e.sdk?.ns as number);
  checks.push({
    name: `${provider} ${mode}: adapter's own cost ÷ loopback SDK call`,
    measured:
      `+${fmt(addedNs)} per call ÷ ${fmt(e2e.sdk?.ns as number)} = ${pct(overhead)}` +
      ` (with a 0-layer pipeline around it: +${fmt(own.pipeline - own.sdk)})`,
    target: '≤ +5%',
    pass: overhead <= 0.05,
  });
  checks.push({
    name: `${provider} ${mode}: end to end over loopback (informational)`,
    measured:
      `adapter ${pct((e2e.adapter?.ratio as number) - 1)}, 0-layer pipeline ${pct((e2e.pipeline?.ratio as number) - 1)}` +
      ` vs SDK directly; control SDK vs SDK ${pct((e2e.sdkAgain?.ratio as number) - 1)}`,
    target: 'noise-bound',
    pass: true,
  });
}

function pct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable);
}

async function* replayed<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

function scenarios(
  provider: string,
  http: { executor: Executor; generate: Call; stream: Call },
  replay: { executor: Executor; generate: Call; stream: Call },
): Scenario[] {
  const app = pipeline(http.executor);
  const replayApp = pipeline(replay.executor);
  const adapterStream = (executor: Executor) => () => drain(executor.stream?.(REQUEST) ?? replayed([]));
  return [
    {
      provider,
      mode: 'generate',
      http: {
        sdk: http.generate,
        adapter: () => http.executor.generate(REQUEST),
        pipeline: () => app.generate(REQUEST),
      },
      replay: {
        sdk: replay.generate,
        adapter: () => replay.executor.generate(REQUEST),
        pipeline: () => replayApp.generate(REQUEST),
      },
    },
    {
      provider,
      mode: 'stream',
      http: { sdk: http.stream, adapter: adapterStream(http.executor), pipeline: () => drain(app.stream(REQUEST)) },
      replay: {
        sdk: replay.stream,
        adapter: adapterStream(replay.executor),
        pipeline: () => drain(replayApp.stream(REQUEST)),
      },
    },
  ];
}

const openaiServer = await startOpenAIServer([TURN], { whenDone: 'repeat-last', record: false });
const anthropicServer = await startAnthropicServer([TURN], { whenDone: 'repeat-last', record: false });
try {
  // OpenAI Chat Completions.
  const openai = new OpenAI({ baseURL: openaiServer.baseURL, apiKey: 'bench', maxRetries: 0 });
  const chat = toChatParams(REQUEST, { systemRole: 'system', maxTokensField: 'max_completion_tokens' });
  const chatStream = { ...chat, stream: true as const, stream_options: { include_usage: true } };
  const completion = await openai.chat.completions.create({ ...chat, stream: false });
  const chunks: unknown[] = [];
  for await (const chunk of await openai.chat.completions.create(chatStream)) chunks.push(chunk);
  const openaiReplay = {
    chat: {
      completions: { create: async (p: { stream?: boolean | null }) => (p.stream ? replayed(chunks) : completion) },
    },
  };
  const openaiScenarios = scenarios(
    'openai',
    {
      executor: openaiExecutor({ client: openai }),
      generate: async () => (await openai.chat.completions.create({ ...chat, stream: false })).choices[0],
      stream: async () => drain(await openai.chat.completions.create(chatStream)),
    },
    {
      executor: openaiExecutor({ client: openaiReplay as never }),
      generate: async () => (await openaiReplay.chat.completions.create({ ...chat, stream: false })) as unknown,
      stream: async () => drain((await openaiReplay.chat.completions.create(chatStream)) as AsyncIterable<unknown>),
    },
  );

  // Anthropic Messages.
  const anthropic = new Anthropic({ baseURL: anthropicServer.baseURL, apiKey: 'bench', maxRetries: 0 });
  const body = toMessageParams(REQUEST, 4096);
  const message = await anthropic.messages.create({ ...body, stream: false });
  const events: unknown[] = [];
  for await (const event of await anthropic.messages.create({ ...body, stream: true })) events.push(event);
  const anthropicReplay = {
    messages: { create: async (p: { stream?: boolean }) => (p.stream ? replayed(events) : message) },
  };
  const anthropicScenarios = scenarios(
    'anthropic',
    {
      executor: anthropicExecutor({ client: anthropic }),
      generate: async () => (await anthropic.messages.create({ ...body, stream: false })).content[0],
      stream: async () => drain(await anthropic.messages.create({ ...body, stream: true })),
    },
    {
      executor: anthropicExecutor({ client: anthropicReplay as never }),
      generate: async () => (await anthropicReplay.messages.create({ ...body, stream: false })) as unknown,
      stream: async () =>
        drain((await anthropicReplay.messages.create({ ...body, stream: true })) as AsyncIterable<unknown>),
    },
  );

  console.log(`stream events per call: openai ${chunks.length}, anthropic ${events.length}`);
  for (const scenario of [...openaiScenarios, ...anthropicScenarios]) await measure(scenario);
} finally {
  await openaiServer.close();
  await anthropicServer.close();
}

printChecks(
  `Provider adapters (issue 5): ${ROUNDS} paired rounds of ${ITERATIONS} loopback calls per variant; own cost over 11 × 2000 replayed calls`,
  checks,
);
