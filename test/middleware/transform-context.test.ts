import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError, type Message, pipeline, runAgent } from 'modelware';
import { retry, transformContext } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { USER, add, recordingExecutor, summary } from '../fixtures/agent.js';

const threeTurns = () =>
  scriptedExecutor([
    { toolCalls: [{ id: 'a', name: 'add', input: { a: 1, b: 1 } }] },
    { toolCalls: [{ id: 'b', name: 'add', input: { a: 2, b: 2 } }] },
    'done',
  ]);

describe('transformContext', () => {
  test('fires once per model call: N turns, N calls, each with its turn and the messages it received', async () => {
    const seen: string[] = [];
    const model = threeTurns();
    const app = pipeline(model).use(
      transformContext((_draft, { turn, original, run, model: effective }) => {
        seen.push(`turn ${turn}: ${original.length} messages, run ${run ? 'yes' : 'no'}, ${effective.requested}`);
      }),
    );
    const result = await runAgent({ model: app, messages: [USER], tools: [add], modelId: 'm1' });
    assert.equal(model.calls.length, 3);
    assert.deepEqual(seen, [
      'turn 1: 1 messages, run yes, m1',
      'turn 2: 3 messages, run yes, m1',
      'turn 3: 5 messages, run yes, m1',
    ]);
    assert.equal(result.turns.length, 3);
  });

  test('several chain in use() order, each seeing the previous output; the transcript keeps none of it', async () => {
    const saw: string[][] = [];
    const model = threeTurns();
    const app = pipeline(model).use(
      transformContext(function first(draft, { original }) {
        saw.push(['first', ...summary(original)]);
        draft.push({ role: 'user', content: 'from first' });
      }),
      transformContext(function second(draft, { original }) {
        saw.push(['second', ...summary(original)]);
        draft.push({ role: 'user', content: 'from second' });
      }),
      transformContext(function third(_draft, { original }) {
        // A replacement, touching nothing: only the last two messages.
        return original.slice(-2) as Message[];
      }),
    );
    const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.deepEqual(saw.slice(0, 2), [
      ['first', 'user:What is 1 + 2?'],
      ['second', 'user:What is 1 + 2?', 'user:from first'],
    ]);
    assert.deepEqual(summary(model.calls[0]?.request.messages ?? []), ['user:from first', 'user:from second']);
    assert.deepEqual(summary(model.calls[2]?.request.messages ?? []), ['user:from first', 'user:from second']);
    assert.deepEqual(summary(result.transcript), [
      'user:What is 1 + 2?',
      'assistant:call(a)',
      'tool(a):2',
      'assistant:call(b)',
      'tool(b):4',
      'assistant:done',
    ]);
  });

  test('an invalid result throws InvalidRequestError naming the layer, by option or by function name', async () => {
    const orphan = (draft: Message[]) =>
      void draft.push({ role: 'tool', toolCallId: 'x', toolName: 'add', content: '1' });
    const cases = [
      { mw: transformContext(orphan, { name: 'custom' }), layer: 'custom' },
      { mw: transformContext(orphan), layer: 'orphan' },
      { mw: transformContext((d) => orphan(d as Message[])), layer: 'transformContext' },
    ];
    for (const { mw, layer } of cases) {
      const error = await pipeline(recordingExecutor())
        .use(mw)
        .generate({ model: 'm', messages: [USER] })
        .catch((e) => e);
      assert.ok(InvalidRequestError.isInstance(error), layer);
      assert.equal(error.layer, layer);
      assert.match(
        error.message,
        new RegExp(`^\`${layer}\` produced an invalid request: messages\\[1\\]\\.toolCallId`),
      );
    }
  });

  test('inside a retry it runs again on each attempt, from the snapshot', async () => {
    const seen: number[] = [];
    const model = scriptedExecutor([Object.assign(new Error('503'), { retryable: true }), 'ok']);
    const app = pipeline(model).use(
      retry({ initialDelayMs: 0 }),
      transformContext((draft, { original }) => {
        seen.push(original.length);
        draft.push({ role: 'user', content: 'added' });
      }),
    );
    await app.generate({ model: 'm', messages: [USER] });
    assert.deepEqual(seen, [1, 1]);
    assert.deepEqual(
      model.calls.map((c) => c.request.messages.length),
      [2, 2],
    );
  });

  test('an async recipe can count tokens with the configured tokenizer', async () => {
    const counted: number[] = [];
    const executor = recordingExecutor();
    const app = pipeline(executor).use(
      transformContext(
        async (draft, { original, countTokens }) => {
          counted.push(await countTokens(original), await countTokens('abcd'));
          draft.push({ role: 'user', content: 'after await' });
        },
        { tokenizer: (text) => text.length },
      ),
    );
    await app.generate({ model: 'm', messages: [USER] });
    // 4 framing tokens + 14 characters.
    assert.deepEqual(counted, [18, 4]);
    assert.deepEqual(summary(executor.requests[0]?.messages ?? []), ['user:What is 1 + 2?', 'user:after await']);
  });

  test('a replacement built from the draft (draft.filter) is finalised, not left with revoked proxies', async () => {
    const executor = recordingExecutor();
    await pipeline(executor)
      .use(transformContext((draft) => draft.filter((m) => m.role !== 'system')))
      .generate({ model: 'm', messages: [{ role: 'system', content: 's' }, USER] });
    const sent = executor.requests[0]?.messages ?? [];
    assert.deepEqual(summary(sent), ['user:What is 1 + 2?']);
    assert.equal(sent[0], USER);
  });

  test('changing the draft and returning a replacement is a MiddlewareError naming the layer', async () => {
    const both = transformContext(function both(draft) {
      draft.push({ role: 'user', content: 'x' });
      return [USER];
    });
    const error = await pipeline(recordingExecutor())
      .use(both)
      .generate({ model: 'm', messages: [USER] })
      .catch((e) => e);
    assert.equal(error.name, 'MiddlewareError');
    assert.match(error.message, /`both` both changed the draft and returned a replacement/);
  });

  test('a recipe that returns a promise without being declared async is a MiddlewareError', async () => {
    const later = (draft: Message[]) => Promise.resolve().then(() => void draft.push(USER));
    const error = await pipeline(recordingExecutor())
      .use(transformContext((draft) => later(draft) as never, { name: 'later' }))
      .generate({ model: 'm', messages: [USER] })
      .catch((e) => e);
    assert.equal(error.name, 'MiddlewareError');
    assert.match(error.message, /`later` returned a promise but is not declared `async`/);
  });

  test('outside a run: turn 0 and no run', async () => {
    let info: unknown;
    await pipeline(recordingExecutor())
      .use(transformContext((_d, { turn, run }) => void (info = { turn, run })))
      .generate({ model: 'm', messages: [USER] });
    assert.deepEqual(info, { turn: 0, run: undefined });
  });

  test('with inspection on, the patches name the layer and the message index it changed', async () => {
    let patches: unknown;
    const app = pipeline({ executor: recordingExecutor(), inspect: true }).use(
      transformContext(function shout(draft, { original }) {
        draft[1] = { role: 'user', content: String(original[1]?.content).toUpperCase() };
      }),
      async function read(ctx, next) {
        patches = ctx.patches?.map((p) => ({ layer: p.layer, paths: p.patches.map((x) => x.path.join('.')) }));
        await next();
      },
    );
    await app.generate({ model: 'm', messages: [{ role: 'system', content: 's' }, USER] });
    assert.deepEqual(patches, [{ layer: 'shout', paths: ['messages.1'] }]);
  });

  test('rejects a non-function recipe and a bad name at factory time', () => {
    assert.throws(() => transformContext(42 as never), /expected a recipe \(draft, info\) => void, got number/);
    assert.throws(() => transformContext(() => {}, { name: '' }), /`name` to be a non-empty string/);
  });
});
