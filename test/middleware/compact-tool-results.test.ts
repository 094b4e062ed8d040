import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { type Message, type ToolMessage, pipeline, runAgent, tool } from 'modelware';
import { compactToolResults } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { checkToolPairing } from '../../lib/core/validate.js';
import { USER, newestUser, recordingExecutor, summary, transcriptArb } from '../fixtures/agent.js';

const fetchPage = tool({
  name: 'fetch',
  input: z.object({ page: z.number() }),
  execute: ({ page }) => `page ${page} `.repeat(10),
});

describe('compactToolResults', () => {
  test('stubs older results, keeps the newest keepLast and short ones; the transcript keeps everything', async () => {
    const model = scriptedExecutor([
      { toolCalls: [{ id: 'p1', name: 'fetch', input: { page: 1 } }] },
      { toolCalls: [{ id: 'p2', name: 'fetch', input: { page: 2 } }] },
      { toolCalls: [{ id: 'p3', name: 'fetch', input: { page: 3 } }] },
      'done',
    ]);
    const app = pipeline(model).use(compactToolResults({ keepLast: 1, minChars: 10, replaceWith: '[old]' }));
    const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [fetchPage] });
    const tools = (messages: readonly unknown[]) =>
      summary(messages.filter((m) => (m as Message).role === 'tool')).map((s) => s.slice(0, 19));
    assert.deepEqual(tools(model.calls[3]?.request.messages ?? []), [
      'tool(p1):[old]',
      'tool(p2):[old]',
      'tool(p3):page 3 pag',
    ]);
    assert.deepEqual(tools(model.calls[2]?.request.messages ?? []), ['tool(p1):[old]', 'tool(p2):page 2 pag']);
    assert.deepEqual(tools(result.transcript), ['tool(p1):page 1 pag', 'tool(p2):page 2 pag', 'tool(p3):page 3 pag']);
  });

  test('never stubs a result the model has not seen: every result of the latest tool turn is sent whole', async () => {
    const model = scriptedExecutor([
      {
        toolCalls: [
          { id: 'w1', name: 'fetch', input: { page: 1 } },
          { id: 'w2', name: 'fetch', input: { page: 2 } },
        ],
      },
      { toolCalls: [{ id: 'w3', name: 'fetch', input: { page: 3 } }] },
      'done',
    ]);
    const app = pipeline(model).use(compactToolResults({ keepLast: 1, minChars: 10, replaceWith: '[old]' }));
    await runAgent({ modelId: 'test-model', model: app, messages: [USER], tools: [fetchPage] });
    const tools = (messages: readonly unknown[]) =>
      summary(messages.filter((m) => (m as Message).role === 'tool')).map((s) => s.slice(0, 19));
    // The call right after the parallel turn sends both results it asked for.
    assert.deepEqual(tools(model.calls[1]?.request.messages ?? []), ['tool(w1):page 1 pag', 'tool(w2):page 2 pag']);
    // Once a later call has seen them, they are eligible like any other.
    assert.deepEqual(tools(model.calls[2]?.request.messages ?? []), [
      'tool(w1):[old]',
      'tool(w2):[old]',
      'tool(w3):page 3 pag',
    ]);
  });

  test('results after the last assistant message stay whole even with a user message after them', async () => {
    const executor = recordingExecutor();
    const call = (id: string) => ({ type: 'tool-call' as const, toolCallId: id, toolName: 't', input: {} });
    const messages: Message[] = [
      USER,
      { role: 'assistant', content: [call('a')] },
      { role: 'tool', toolCallId: 'a', toolName: 't', content: 'seen by the next answer' },
      { role: 'assistant', content: [call('b'), call('c')] },
      { role: 'tool', toolCallId: 'b', toolName: 't', content: 'not seen yet, first' },
      { role: 'tool', toolCallId: 'c', toolName: 't', content: 'not seen yet, second' },
      { role: 'user', content: 'and?' },
    ];
    await pipeline(executor)
      .use(compactToolResults({ keepLast: 0, minChars: 0, replaceWith: '[old]' }))
      .generate({ model: 'm', messages });
    assert.deepEqual(summary(executor.requests[0]?.messages ?? []).slice(2, 6), [
      'tool(a):[old]',
      'assistant:call(b),call(c)',
      'tool(b):not seen yet, first',
      'tool(c):not seen yet, second',
    ]);
  });

  test('results shorter than minChars are sent as they are; replaceWith may be a function', async () => {
    const executor = recordingExecutor();
    const messages: Message[] = [
      USER,
      {
        role: 'assistant',
        content: [1, 2, 3].map((i) => ({ type: 'tool-call' as const, toolCallId: `c${i}`, toolName: 't', input: {} })),
      },
      { role: 'tool', toolCallId: 'c1', toolName: 't', content: 'short' },
      { role: 'tool', toolCallId: 'c2', toolName: 't', content: 'a long enough result' },
      { role: 'tool', toolCallId: 'c3', toolName: 't', content: 'newest' },
      // The model has answered after them: all three are eligible.
      { role: 'assistant', content: 'noted' },
    ];
    await pipeline(executor)
      .use(
        compactToolResults({ keepLast: 1, minChars: 6, replaceWith: (m) => `<${m.toolCallId}: ${m.content.length}>` }),
      )
      .generate({ model: 'm', messages });
    const sent = executor.requests[0]?.messages ?? [];
    assert.deepEqual(summary(sent).slice(2, 5), ['tool(c1):short', 'tool(c2):<c2: 20>', 'tool(c3):newest']);
    // Structural sharing: unchanged messages keep their identity, the stub keeps every other field.
    assert.equal(sent[2], messages[2]);
    assert.equal(sent[4], messages[4]);
    assert.deepEqual({ ...(sent[3] as ToolMessage), content: '' }, { ...(messages[3] as ToolMessage), content: '' });
  });

  test('a stub is made once per message and reused by later calls (same object)', async () => {
    const executor = recordingExecutor();
    const app = pipeline(executor).use(compactToolResults({ keepLast: 0, minChars: 0 }));
    const messages: Message[] = [
      USER,
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: {} }] },
      { role: 'tool', toolCallId: 'c', toolName: 't', content: 'result' },
      { role: 'assistant', content: 'noted' },
    ];
    await app.generate({ model: 'm', messages });
    await app.generate({ model: 'm', messages: [...messages, { role: 'user', content: 'again' }] });
    const [first, second] = executor.requests.map((r) => r.messages[2]);
    assert.notEqual(first, messages[2]);
    assert.equal(first, second);
    assert.ok(Object.isFrozen(first));
  });

  test('property: never orphans a call or a result, keeps system and newest user, stubs exactly the older results', async () => {
    await fc.assert(
      fc.asyncProperty(
        transcriptArb,
        fc.nat({ max: 4 }),
        fc.nat({ max: 2000 }),
        async (messages, keepLast, minChars) => {
          const executor = recordingExecutor();
          await pipeline(executor)
            .use(compactToolResults({ keepLast, minChars, replaceWith: '[stub]' }))
            .generate({ model: 'm', messages });
          const sent = (executor.requests[0]?.messages ?? []) as readonly Message[];
          assert.equal(checkToolPairing(sent), undefined);
          assert.equal(sent.length, messages.length);
          const toolIndices = messages.flatMap((m, i) => (m.role === 'tool' ? [i] : []));
          const kept = new Set(toolIndices.slice(Math.max(0, toolIndices.length - keepLast)));
          // Results after the last assistant message: the model has not seen them yet.
          const lastAssistant = messages.findLastIndex((m) => m.role === 'assistant');
          for (const i of toolIndices) if (i > lastAssistant) kept.add(i);
          messages.forEach((original, i) => {
            const out = sent[i] as Message;
            if (original.role !== 'tool') {
              assert.equal(out, original);
              return;
            }
            assert.equal((out as ToolMessage).toolCallId, original.toolCallId);
            const stubbed = !kept.has(i) && original.content.length >= minChars;
            assert.equal(out.content, stubbed ? '[stub]' : original.content);
          });
          const user = newestUser(messages);
          if (user >= 0) assert.equal(sent[user], messages[user]);
          if (messages[0]?.role === 'system') assert.equal(sent[0], messages[0]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('property: reusing the previous call across calls of any prefixes gives what a fresh instance gives', async () => {
    await fc.assert(
      fc.asyncProperty(
        transcriptArb,
        fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
        fc.nat({ max: 3 }),
        async (messages, cuts, keepLast) => {
          const options = { keepLast, minChars: 10, replaceWith: '[stub]' };
          const shared = recordingExecutor();
          const app = pipeline(shared).use(compactToolResults(options));
          for (const cut of cuts) {
            // Prefixes in any order, as turns, retries and other runs would send them.
            const prefix = messages.slice(0, cut % (messages.length + 1));
            const fresh = recordingExecutor();
            await pipeline(fresh).use(compactToolResults(options)).generate({ model: 'm', messages: prefix });
            await app.generate({ model: 'm', messages: prefix });
            assert.deepEqual(shared.requests.at(-1)?.messages, fresh.requests[0]?.messages);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('property: in an agent loop with edits before it, each call sends what a fresh instance would', async () => {
    // The reuse follows provenance (which indices changed since the last call); edits of every
    // kind must still give exactly what compacting the same input from scratch gives.
    type Edit = 'none' | 'system' | 'shorten' | 'lengthen' | 'push' | 'persist' | 'replace-all';
    const edit = fc.constantFrom<Edit>('none', 'system', 'shorten', 'lengthen', 'push', 'persist', 'replace-all');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 300 }), edit, fc.nat()), { minLength: 1, maxLength: 12 }),
        fc.nat({ max: 3 }),
        async (turns, keepLast) => {
          const options = { keepLast, minChars: 100, replaceWith: '[stub]' };
          let n = 0;
          const model = {
            name: 'loop',
            async generate() {
              n++;
              if (n > turns.length)
                return { message: { role: 'assistant' as const, content: 'done' }, finishReason: 'stop' as const };
              const call = { type: 'tool-call' as const, toolCallId: `c${n}`, toolName: 'fetch', input: { page: n } };
              return { message: { role: 'assistant' as const, content: [call] }, finishReason: 'tool-calls' as const };
            },
          };
          const sized = tool({
            name: 'fetch',
            input: z.object({ page: z.number() }),
            execute: ({ page }) => 'r'.repeat(turns[page - 1]?.[0] ?? 0),
          });
          let input: readonly Message[] = [];
          const app = pipeline(model).use(
            function editor(ctx, next) {
              const [, kind, pick] = turns[(ctx.run?.turn ?? 1) - 1] ?? [0, 'none', 0];
              const messages = ctx.request.messages;
              const tools = messages.flatMap((m, i) => (m.role === 'tool' ? [i] : []));
              const at = tools.length > 0 ? (tools[pick % tools.length] as number) : -1;
              const resized = (content: string) => ({ ...(messages[at] as ToolMessage), content });
              if (kind === 'system')
                ctx.update((d) => void (d.messages[0] = { role: 'user', content: `turn ${pick}` }));
              if (kind === 'shorten' && at >= 0) ctx.update((d) => void (d.messages[at] = resized('s')));
              if (kind === 'lengthen' && at >= 0) ctx.update((d) => void (d.messages[at] = resized('L'.repeat(150))));
              if (kind === 'push') ctx.update((d) => void d.messages.push({ role: 'user', content: 'more' }));
              if (kind === 'replace-all') ctx.update((d) => void (d.messages = [...messages] as Message[]));
              if (kind === 'persist' && at >= 0) ctx.run?.updateTranscript((d) => void (d[at] = resized('p')));
              return next();
            },
            function recordInput(ctx, next) {
              input = ctx.request.messages as readonly Message[];
              return next();
            },
            compactToolResults(options),
            async function check(ctx, next) {
              const fresh = recordingExecutor();
              await pipeline(fresh)
                .use(compactToolResults(options))
                .generate({ model: 'm', messages: [...input] });
              assert.deepEqual(ctx.request.messages, fresh.requests[0]?.messages);
              // Nothing to stub: no update at all, the layer's input goes on as it is.
              if (isDeepStrictEqual(fresh.requests[0]?.messages, input)) assert.equal(ctx.request.messages, input);
              return next();
            },
          );
          await runAgent({
            model: app,
            modelId: 'test-model',
            messages: [USER],
            tools: [sized],
            maxTurns: turns.length + 1,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  const cases: { label: string; options: Record<string, unknown>; says: RegExp }[] = [
    { label: 'keepLast', options: { keepLast: -1 }, says: /`keepLast` to be a non-negative integer, got number `-1`/ },
    {
      label: 'minChars',
      options: { minChars: Number.NaN },
      says: /`minChars` to be a non-negative number, got number `NaN`/,
    },
    { label: 'replaceWith', options: { replaceWith: 3 }, says: /`replaceWith` to be a string or a function/ },
    { label: 'option name', options: { keeplast: 2 }, says: /keeplast/ },
  ];
  for (const { label, options, says } of cases) {
    test(`rejects a bad ${label} at factory time`, () => {
      assert.throws(() => compactToolResults(options as never), { name: 'TypeError', message: says });
    });
  }
});
