// ctx.update, the transformContext idiom and entry validation (issue 11, performance bullets 2-4).
// Run: npx tsx bench/update.bench.ts
import { Immer } from 'immer';
import {
  type Executor,
  type Message,
  ModelRequestSchema,
  type ModelResponse,
  type ReadonlyModelRequest,
  pipeline,
} from 'modelware';
import { transformContext } from 'modelware/middleware';
import { CallCore } from '../lib/core/call-core.js';
import { EventHub } from '../lib/core/events.js';
import { findRequestProblem } from '../lib/core/validate.js';
import { type Check, fmt, median, pairedRatio, printChecks, sample } from './harness.js';

const checks: Check[] = [];
/** `BENCH_ONLY=1,3` runs only those sections (1: transformContext, 2: entry validation, 3: ctx.update). */
const only = process.env.BENCH_ONLY?.split(',');
const runs = (section: string) => !only || only.includes(section);
const RESPONSE: ModelResponse = { message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' };
const executor: Executor = { name: 'bench', generate: async () => RESPONSE };
/** A flat string, as parsed from a provider's JSON (padEnd alone makes a rope). */
const flat = (text: string): string => JSON.parse(JSON.stringify(text));

/** An agent's history: system, user, then per turn an assistant tool call and its 500-character result. */
function agentHistory(turns: number): Message[] {
  const m: Message[] = [
    { role: 'system', content: 'You are a research agent.' },
    { role: 'user', content: 'Find everything about onions.' },
  ];
  for (let t = 1; t <= turns; t++) {
    m.push({
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: `c${t}`, toolName: 'lookup', input: { q: t } }],
    });
    m.push({ role: 'tool', toolCallId: `c${t}`, toolName: 'lookup', content: flat(String(t).padEnd(500, '.')) });
  }
  return m;
}

/** A chat: system, then alternating user and assistant text (core.bench.ts's transcript). */
function chat(n: number): Message[] {
  const messages: Message[] = [{ role: 'system', content: 'You are terse.' }];
  for (let i = 1; i < n; i++) {
    messages.push(i % 2 ? { role: 'user', content: `question ${i}` } : { role: 'assistant', content: `answer ${i}` });
  }
  return messages;
}

const ratioOf = (s: Record<string, number[]>, a: string, b: string) => pairedRatio(s[a] as number[], s[b] as number[]);
const med = (s: Record<string, number[]>, k: string) => median(s[k] as number[]);

// 1. The README's transformContext idiom at 200 turns: read `original`, write `draft[i]`.
if (runs('1')) {
  const request = { model: 'bench-model', messages: agentHistory(200) };
  function shortenOldResults(draft: Message[], { original }: { readonly original: readonly Message[] }) {
    const newest = original.findLastIndex((m) => m.role === 'tool');
    original.forEach((m, i) => {
      if (m.role === 'tool' && i !== newest) draft[i] = { ...m, content: `${m.content.slice(0, 12)}…` };
    });
  }
  /** The same view, written by hand with immutable updates. */
  function handWritten(original: readonly Message[]): Message[] {
    const newest = original.findLastIndex((m) => m.role === 'tool');
    return original.map((m, i) =>
      m.role === 'tool' && i !== newest ? { ...m, content: `${m.content.slice(0, 12)}…` } : m,
    );
  }
  const sync = pipeline(executor).use(transformContext(shortenOldResults as never));
  const bare = pipeline(executor);
  const immer = new Immer({ autoFreeze: false });
  const variants: Record<string, () => unknown> = {
    hand: () => executor.generate({ ...request, messages: handWritten(request.messages) }),
    sync: () => sync.generate(request),
    bare: () => bare.generate(request),
    // What an Immer draft of the array alone costs for the same writes (no pipeline, no validation).
    immerDraft: () =>
      immer.produce(request.messages, (draft) => shortenOldResults(draft, { original: request.messages })),
  };
  // The memoised idiom (absent from trees before it was added): the same view, one mapping per message object.
  const middleware = (await import('modelware/middleware')) as Record<string, unknown>;
  if (typeof middleware.mapMessages === 'function') {
    const mapMessages = middleware.mapMessages as (fn: (m: Message) => Message | undefined, o: object) => never;
    const memo = pipeline(executor).use(
      mapMessages((m) => (m.role === 'tool' ? { ...m, content: `${m.content.slice(0, 12)}…` } : undefined), {
        exceptLast: 1,
      }),
    );
    variants.mapMessages = () => memo.generate(request);
  }
  const s = await sample(variants, { iterations: 200, rounds: 15 });
  const ratio = ratioOf(s, 'sync', 'hand');
  checks.push({
    name: 'transformContext `shortenOldResults` (README idiom, 199 draft writes) at 200 turns vs hand-written (paired)',
    measured: `${fmt(med(s, 'sync'))} vs ${fmt(med(s, 'hand'))} (${ratio.toFixed(2)}×; the pipeline alone: ${fmt(med(s, 'bare'))}; an Immer draft of the array alone: ${fmt(med(s, 'immerDraft'))}, ${ratioOf(s, 'immerDraft', 'hand').toFixed(2)}×)`,
    target: '≤ 2×',
    pass: ratio <= 2,
  });
  if (s.mapMessages) {
    const memo = ratioOf(s, 'mapMessages', 'hand');
    checks.push({
      name: 'the same view with `mapMessages` (memoised per message object) at 200 turns vs hand-written (paired)',
      measured: `${fmt(med(s, 'mapMessages'))} vs ${fmt(med(s, 'hand'))} (${memo.toFixed(2)}×)`,
      target: '≤ 2×',
      pass: memo <= 2,
    });
  }
}

// 2. Entry validation of a caller's plain array: 10,000 messages, each call appends one message.
for (const [label, history] of runs('2')
  ? ([
      ['a chat', chat(10_000)],
      ['an agent history', agentHistory(4_999)],
    ] as const)
  : []) {
  const messages: Message[] = [...history];
  findRequestProblem({ model: 'bench-model', messages });
  let k = 0;
  const s = await sample(
    {
      append: () => {
        messages.push({ role: 'user', content: `follow-up ${k++}` });
        return findRequestProblem({ model: 'bench-model', messages });
      },
      fullParse: () => ModelRequestSchema.parse({ model: 'bench-model', messages }),
    },
    { iterations: 50, rounds: 15 },
  );
  const ratio = ratioOf(s, 'append', 'fullParse');
  checks.push({
    name: `entry validation, ${label} of 10,000 messages, one appended per call, vs a full zod parse (paired)`,
    measured: `${fmt(med(s, 'append'))} vs ${fmt(med(s, 'fullParse'))} (${(100 * ratio).toFixed(1)}%)`,
    target: '≤ 5%',
    pass: ratio <= 0.05,
  });
}

// 3. ctx.update's fixed cost vs a bare Immer produce making the same edit.
if (runs('3')) {
  const immer = new Immer({ autoFreeze: false });
  for (const validate of [true, false]) {
    const settings = { validate, inspect: false, strict: false, events: new EventHub() };
    for (const n of [10, 1_000]) {
      const request: ReadonlyModelRequest = { model: 'bench-model', messages: chat(n) };
      findRequestProblem(request);
      const core = new CallCore(settings, request, 'generate', undefined, undefined, undefined);
      const base = core.request;
      const at = n >> 1;
      const replacement: Message = { role: 'user', content: 'edited' };
      const s = await sample(
        {
          update: () => {
            core.request = base;
            core.update((draft) => {
              draft.messages[at] = replacement;
            }, 'bench');
            return core.request;
          },
          produce: () =>
            immer.produce(base, (draft) => {
              draft.messages[at] = replacement;
            }),
        },
        { iterations: n >= 1_000 ? 5_000 : 20_000 },
      );
      const ratio = ratioOf(s, 'update', 'produce');
      checks.push({
        name: `ctx.update replacing 1 of ${n.toLocaleString('en')} messages, validation ${validate ? 'on' : 'off'}, vs bare Immer produce (paired)`,
        measured: `${fmt(med(s, 'update'))} vs ${fmt(med(s, 'produce'))} (${ratio.toFixed(2)}×)`,
        target: '≤ 1.25×',
        pass: ratio <= 1.25,
      });
    }
  }
}

printChecks('ctx.update, transformContext and entry validation (issue 11)', checks);
