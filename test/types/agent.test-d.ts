// Type tests for the agent loop: checked by `npx tsc --noEmit`. Nothing here runs; each
// `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import {
  type AgentError,
  type AgentErrorReason,
  type AgentEvent,
  type AgentResult,
  type Message,
  type RunContext,
  type StopCondition,
  type ToolResult,
  defineMiddleware,
  hasToolCall,
  pipeline,
  runAgent,
  stepCountIs,
  streamAgent,
  tool,
} from 'modelware';
import {
  type TokenBudgetStrategy,
  compactToolResults,
  mapMessages,
  tokenBudget,
  transformContext,
} from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

declare module 'modelware' {
  interface RunState {
    /** Declared by the type tests only: run state is typed through declaration merging. */
    typeTestSteps?: number;
  }
  interface ToolCallState {
    typeTestAttempt?: number;
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

const model = scriptedExecutor(['ok']);
const app = pipeline(model);

// ---- tools: execute's input is the schema's output type ----
const weather = tool({
  name: 'weather',
  input: z.object({ city: z.string(), days: z.number().default(1) }),
  execute: ({ city, days }, { signal, toolCallId, run }) => {
    assertTrue<Equal<typeof city, string>>();
    assertTrue<Equal<typeof days, number>>();
    assertTrue<Equal<typeof signal, AbortSignal>>();
    assertTrue<Equal<typeof toolCallId, string>>();
    assertTrue<Equal<typeof run, RunContext>>();
    return { city, tempC: 21 };
  },
});
tool({
  name: 'bad',
  input: z.object({ city: z.string() }),
  // @ts-expect-error `country` is not in the input schema
  execute: ({ country }) => country,
});

// ---- runAgent / streamAgent ----
async function runs() {
  const result = await runAgent({
    model: app,
    modelId: 'test-model',
    messages: [{ role: 'user', content: 'hi' }],
    tools: [weather],
    stopWhen: [stepCountIs(3), hasToolCall('weather'), ({ turns }) => turns.length > 5],
    state: { typeTestSteps: 0 },
  });
  assertTrue<Equal<typeof result, AgentResult>>();
  assertTrue<Equal<typeof result.stopReason, 'no-tool-calls' | 'stop-when' | 'max-turns' | 'interrupted'>>();
  // @ts-expect-error the transcript is read-only
  result.transcript.push({ role: 'user', content: 'x' });

  // @ts-expect-error `model` is required
  await runAgent({ messages: [] });
  // @ts-expect-error onMaxTurns is 'throw' or 'stop'
  await runAgent({ model, modelId: 'test-model', messages: [], onMaxTurns: 'ignore' });
  // @ts-expect-error a stop condition returns a boolean
  await runAgent({ model, modelId: 'test-model', messages: [], stopWhen: () => 'yes' });

  for await (const event of streamAgent({ model, modelId: 'test-model', messages: [] })) {
    if (event.type === 'text-delta') assertTrue<Equal<typeof event.text, string>>();
    if (event.type === 'done') assertTrue<Equal<typeof event.result, AgentResult>>();
    // @ts-expect-error not an event type
    if (event.type === 'finish') break;
  }
}
void runs;

// ---- transcript vs view: the difference is in the types ----
app.use(async (ctx, next) => {
  // @ts-expect-error the request's messages are read-only: use ctx.update (this call only)
  ctx.request.messages.push({ role: 'user', content: 'x' });
  // @ts-expect-error the transcript is read-only: use ctx.run.updateTranscript (persists)
  ctx.run?.transcript.push({ role: 'user', content: 'x' });
  // ctx.update's draft is the whole request; updateTranscript's draft is the message list.
  ctx.update((draft) => void draft.messages.push({ role: 'user', content: 'view only' }));
  ctx.run?.updateTranscript((draft) => void draft.push({ role: 'user', content: 'persisted' }));
  // @ts-expect-error updateTranscript's draft is a message array, not a request
  ctx.run?.updateTranscript((draft) => void draft.messages.push({ role: 'user', content: 'x' }));
  const steps: number | undefined = ctx.run?.state.typeTestSteps;
  void steps;
  await next();
});

// ---- tool, run and turn layers are typed ----
defineMiddleware({
  name: 'typed',
  async tool(ctx, next) {
    const id: string = ctx.toolCallId;
    ctx.state.typeTestAttempt = 1;
    await next();
    const result: ToolResult | undefined = ctx.result;
    ctx.updateResult((draft) => void (draft.content = `${id}:${result?.content}`));
    // @ts-expect-error content must be a string
    ctx.result = { content: 1 };
  },
  async run(ctx, next) {
    await next();
    const reason: AgentResult['stopReason'] | undefined = ctx.result?.stopReason;
    void reason;
  },
  async turn(ctx, next) {
    const turn: number = ctx.turn;
    void turn;
    await next();
    void ctx.record?.toolResults;
  },
});

// ---- built-ins ----
transformContext((draft, { original, turn, countTokens }) => {
  const n: number = turn;
  void n;
  void countTokens(original);
  draft.push({ role: 'user', content: 'x' });
  // @ts-expect-error `original` is read-only: write to the draft
  original.push({ role: 'user', content: 'x' });
});
transformContext(async (_draft, { original }) => original.slice(1) as Message[]);
compactToolResults({ keepLast: 2, replaceWith: (m) => `${m.toolName} omitted` });
// @ts-expect-error keepLast is a number
compactToolResults({ keepLast: '2' });
const keepTail: TokenBudgetStrategy = (messages) => messages.slice(-4);
tokenBudget({ maxInputTokens: 8000, strategy: keepTail });
// @ts-expect-error maxInputTokens is required
tokenBudget({ reserveOutputTokens: 10 });

const always: StopCondition = () => true;
void always;
const events: AgentEvent['type'][] = [
  'turn-start',
  'text-delta',
  'reasoning-delta',
  'tool-call',
  'tool-result',
  'turn-end',
  'done',
];
void events;

// AgentError: `turnCount` is the number of turns; `turns` means the records, on AgentResult only.
declare const failure: AgentError;
const turnCount: number = failure.turnCount;
void turnCount;
// @ts-expect-error renamed to turnCount (AgentResult.turns holds the turn records)
void failure.turns;
const reasons: AgentErrorReason[] = [
  'aborted',
  'max-turns',
  'model-call-failed',
  'invalid-response',
  'tool-call-failed',
  'failed',
];
void reasons;
// @ts-expect-error a tool's timeoutMs is a number of milliseconds
tool({ name: 'slow', input: z.object({}), execute: () => 1, timeoutMs: '5s' });

// mapMessages: a mapper of one read-only message; returns a message or undefined.
mapMessages((m) => (m.role === 'tool' ? { ...m, content: m.content.slice(0, 10) } : undefined), { exceptLast: 1 });
mapMessages(function keep() {
  return undefined;
});
// @ts-expect-error the message is read-only: return a replacement instead
mapMessages((m) => void (m.content = 'x'));
// @ts-expect-error exceptLast is a number
mapMessages(() => undefined, { exceptLast: '1' });
// @ts-expect-error a mapper returns a message, not a string
mapMessages(() => 'x');
