import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Message, MiddlewareError, type ModelEvent, type ModelRequest, pipeline, runAgent } from 'modelware';
import { summarize } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { USER, add, quarterTokenizer, transcriptArb } from '../fixtures/agent.js';

const SYSTEM: Message = { role: 'system', content: 'be brief' };
/** `n` user/assistant pairs of about 14 tokens each (40 characters plus the framing). */
function conversation(n: number, from = 0): Message[] {
  return Array.from({ length: n }, (_, i): Message[] => [
    { role: 'user', content: `question number ${String(i + from).padStart(4, '0')} about the weather?` },
    { role: 'assistant', content: `answer number ${String(i + from).padStart(4, '0')}: it is sunny today.` },
  ]).flat();
}
const roles = (messages: readonly Message[]) => messages.map((m) => m.role).join(',');

function setup(persist: 'view' | 'transcript', extra: Partial<Parameters<typeof summarize>[0]> = {}) {
  let n = 0;
  const summarizer = scriptedExecutor([() => `summary ${++n}`], { whenDone: 'cycle' });
  const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
  const layer = summarize({
    persist,
    threshold: 100,
    keepRecent: 2,
    executor: summarizer,
    tokenizer: quarterTokenizer,
    ...extra,
  });
  return { summarizer, model, app: pipeline(model).use(layer) };
}

const sent = (model: ReturnType<typeof scriptedExecutor>, i = -1) =>
  model.calls.at(i)?.request.messages as readonly Message[];

describe("summarize({ persist: 'view' })", () => {
  test('below the threshold: the request passes untouched and no summary is made', async () => {
    const { app, model, summarizer } = setup('view');
    const messages = [SYSTEM, ...conversation(2)];
    await app.generate({ model: 'm', messages });
    assert.deepEqual(sent(model), messages);
    assert.equal(summarizer.calls.length, 0);
  });

  test('over it: system messages, then the summary, then the latest messages', async () => {
    const { app, model, summarizer } = setup('view');
    const messages = [SYSTEM, ...conversation(10)];
    await app.generate({ model: 'm', messages });
    const view = sent(model);
    assert.equal(roles(view), 'system,user,user,assistant');
    assert.equal(view[0], SYSTEM);
    assert.equal(view[1]?.content, 'Summary of the earlier conversation:\nsummary 1');
    assert.equal(view[2], messages.at(-2));
    assert.equal(view[3], messages.at(-1));
    // The summary request: the summary model's own prompt and the older messages as text.
    const request = summarizer.calls[0]?.request as ModelRequest;
    assert.equal(request.model, 'm');
    assert.equal(request.messages[0]?.role, 'system');
    assert.match(String(request.messages[1]?.content), /\[user\]\nquestion number 0000/);
    assert.doesNotMatch(String(request.messages[1]?.content), /number 0009/);
    assert.deepEqual(request.options, { maxOutputTokens: 1024 });
  });

  test('memoised: the same or a longer conversation reuses the summary; it rolls once the threshold is crossed again', async () => {
    const { app, model, summarizer } = setup('view');
    const history = [SYSTEM, ...conversation(10)];
    await app.generate({ model: 'm', messages: history });
    await app.generate({ model: 'm', messages: [...history] });
    await app.generate({ model: 'm', messages: [...history, ...conversation(1, 10)] });
    assert.equal(summarizer.calls.length, 1);
    assert.equal(sent(model)[1]?.content, 'Summary of the earlier conversation:\nsummary 1');
    // Enough new messages to cross it again: one new summary, extending the first.
    await app.generate({ model: 'm', messages: [...history, ...conversation(6, 10)] });
    assert.equal(summarizer.calls.length, 2);
    assert.match(
      String(summarizer.calls[1]?.request.messages[1]?.content),
      /^\[user\]\nSummary of the earlier conversation:\nsummary 1/,
    );
    assert.equal(sent(model)[1]?.content, 'Summary of the earlier conversation:\nsummary 2');
    assert.equal(roles(sent(model)), 'system,user,user,assistant');
  });

  test('concurrent calls that need the same summary share one summary call', async () => {
    const { app, summarizer } = setup('view');
    const messages = [SYSTEM, ...conversation(10)];
    await Promise.all([app.generate({ model: 'm', messages }), app.generate({ model: 'm', messages })]);
    assert.equal(summarizer.calls.length, 1);
  });

  test('an edited earlier message is another conversation: a new summary', async () => {
    const { app, summarizer } = setup('view');
    const messages = [SYSTEM, ...conversation(10)];
    await app.generate({ model: 'm', messages });
    const edited = [...messages];
    edited[1] = { role: 'user', content: 'a different first question, of about the same size' };
    await app.generate({ model: 'm', messages: edited });
    assert.equal(summarizer.calls.length, 2);
  });

  test("the summary call is internal: out of the caller's events, with its own budget key and model", async () => {
    const { summarizer } = setup('view');
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const seen: unknown[] = [];
    const inner = pipeline(summarizer).use(async function spy(ctx, next) {
      seen.push(ctx.internal);
      await next();
    });
    const app = pipeline(model).use(
      summarize({
        persist: 'view',
        threshold: 100,
        keepRecent: 2,
        executor: inner,
        model: 'small',
        budgetKey: 'tenant:summary',
        tokenizer: quarterTokenizer,
      }),
    );
    const events: ModelEvent[] = [];
    app.on('requested', (e) => events.push(e));
    await app.generate({ model: 'm', messages: [SYSTEM, ...conversation(10)] });
    assert.equal(events.length, 1);
    assert.deepEqual(
      [
        (seen[0] as { by: string }).by,
        (seen[0] as { purpose: string }).purpose,
        (seen[0] as { budgetKey: string }).budgetKey,
      ],
      ['summarize', 'summary', 'tenant:summary'],
    );
    assert.equal(summarizer.calls[0]?.request.model, 'small');
  });

  test('the summarizer may be the same pipeline: its internal call passes the layer untouched', async () => {
    const model = scriptedExecutor([(r) => (r.messages[0]?.content === 'be brief' ? 'ok' : 'the summary')], {
      whenDone: 'cycle',
    });
    const app = pipeline(model);
    app.use(summarize({ persist: 'view', threshold: 100, keepRecent: 2, executor: app, tokenizer: quarterTokenizer }));
    await app.generate({ model: 'm', messages: [SYSTEM, ...conversation(10)] });
    assert.equal(model.calls.length, 2);
    assert.equal(sent(model)[1]?.content, 'Summary of the earlier conversation:\nthe summary');
  });

  test('never splits a tool call from its result', async () => {
    const { app, model } = setup('view', { keepRecent: 1 });
    const call: Message = {
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: 't1', toolName: 'add', input: { a: 1, b: 2 } }],
    };
    const result: Message = { role: 'tool', toolCallId: 't1', toolName: 'add', content: '3' };
    await app.generate({ model: 'm', messages: [SYSTEM, ...conversation(10), USER, call, result] });
    assert.equal(roles(sent(model)), 'system,user,assistant,tool');
  });

  test('property: the view keeps the system messages and a suffix, and no tool result loses its call', async () => {
    await fc.assert(
      fc.asyncProperty(
        transcriptArb,
        fc.integer({ min: 20, max: 400 }),
        fc.nat({ max: 8 }),
        async (messages, threshold, keepRecent) => {
          const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
          const summarizer = scriptedExecutor(['s'], { whenDone: 'repeat-last' });
          const app = pipeline(model).use(
            summarize({ persist: 'view', threshold, keepRecent, executor: summarizer, tokenizer: quarterTokenizer }),
          );
          // The pipeline validates every update: an orphan tool result would throw here.
          await app.generate({ model: 'm', messages });
          const view = sent(model);
          const head = messages.findIndex((m) => m.role !== 'system');
          const system = head < 0 ? messages.length : head;
          assert.deepEqual(view.slice(0, system), messages.slice(0, system));
          if (summarizer.calls.length === 0) {
            assert.deepEqual(view, messages);
            return;
          }
          const kept = view.slice(system + 1);
          assert.deepEqual(kept, messages.slice(messages.length - kept.length));
          const calls = new Set<string>();
          for (const m of view) {
            if (m.role === 'assistant' && typeof m.content !== 'string') {
              for (const p of m.content) if (p.type === 'tool-call') calls.add(p.toolCallId);
            }
            if (m.role === 'tool') assert.ok(calls.has(m.toolCallId), 'orphan tool result');
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("summarize({ persist: 'transcript' })", () => {
  test('replaces the older messages in the transcript, and the summary never reaches the stream or the run usage', async () => {
    const summarizer = scriptedExecutor([{ text: 'the summary', usage: { inputTokens: 500, outputTokens: 50 } }], {
      whenDone: 'repeat-last',
    });
    const model = scriptedExecutor([
      { toolCalls: [{ id: 'c1', name: 'add', input: { a: 1, b: 2 } }], usage: { inputTokens: 5, outputTokens: 1 } },
      { text: '3', usage: { inputTokens: 5, outputTokens: 1 } },
    ]);
    const app = pipeline(model).use(
      summarize({
        persist: 'transcript',
        threshold: 100,
        keepRecent: 2,
        executor: summarizer,
        tokenizer: quarterTokenizer,
      }),
    );
    const result = await runAgent({
      model: app,
      modelId: 'm',
      messages: [SYSTEM, ...conversation(10), USER],
      tools: [add],
    });
    assert.equal(summarizer.calls.length, 1);
    assert.equal(result.transcript[1]?.content, 'Summary of the earlier conversation:\nthe summary');
    assert.equal(roles(result.transcript as Message[]), 'system,user,assistant,user,assistant,tool,assistant');
    assert.deepEqual(result.usage.inputTokens, 10);
    // The model saw the compacted transcript on the first call already.
    assert.equal(roles(sent(model, 0)), 'system,user,assistant,user');
  });

  test('outside a run it refuses, naming the fix', async () => {
    const { app } = setup('transcript');
    const error = await app.generate({ model: 'm', messages: [SYSTEM, ...conversation(10)] }).catch((e: unknown) => e);
    assert.ok(MiddlewareError.isInstance(error));
    assert.match((error as Error).message, /needs a run \(runAgent\(\)\).*persist: 'view'/);
  });
});

describe('summarize() options', () => {
  test('persist is required and unknown keys are refused', () => {
    assert.throws(() => summarize({ threshold: 10 } as never), /expected `persist` to be 'view' or 'transcript'/);
    assert.throws(() => summarize({ persist: 'view', threshold: 0 }), /expected `threshold` to be a positive integer/);
    assert.throws(
      () => summarize({ persist: 'view', threshold: 10, keepRecnt: 2 } as never),
      /did you mean `keepRecent`/,
    );
    assert.throws(() => summarize({ persist: 'view', threshold: 10, executor: {} as never }), /expected `executor`/);
  });
});
