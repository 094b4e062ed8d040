import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type InternalCall,
  MiddlewareError,
  type ModelEvent,
  type ModelRequest,
  defineMiddleware,
  pipeline,
  runAgent,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { USER, add } from '../../fixtures/agent.js';

const ASK: ModelRequest = { model: 'small', messages: [{ role: 'user', content: 'summarise this' }] };
const REQUEST: ModelRequest = { model: 'big', messages: [USER] };

/** A layer that asks the model something of its own before each user call, and keeps the answer. */
function asker(answers: string[], options: Parameters<import('modelware').Context['callModel']>[1] = {}) {
  return defineMiddleware({
    name: 'asker',
    async call(ctx, next) {
      if (!ctx.internal) answers.push((await ctx.callModel(ASK, options)).message.content as string);
      await next();
    },
  });
}

describe('ctx.callModel()', () => {
  test('calls the pipeline executor without its layers, tagged internal', async () => {
    const model = scriptedExecutor(['the summary', 'the answer']);
    const log: string[] = [];
    const answers: string[] = [];
    const app = pipeline(model).use(async function outer(ctx, next) {
      log.push(`outer:${ctx.internal ? 'internal' : 'user'}`);
      await next();
    }, asker(answers));
    const response = await app.generate(REQUEST);
    assert.equal(response.message.content, 'the answer');
    assert.deepEqual(answers, ['the summary']);
    // The layers ran once, for the user's call only.
    assert.deepEqual(log, ['outer:user']);
    assert.deepEqual(
      model.calls.map((c) => c.request.model),
      ['small', 'big'],
    );
  });

  test('a pipeline given as executor sees ctx.internal and reports it on its events', async () => {
    const seen: (InternalCall | undefined)[] = [];
    const events: ModelEvent[] = [];
    const inner = pipeline(scriptedExecutor(['the summary'])).use(async function spy(ctx, next) {
      seen.push(ctx.internal);
      await next();
    });
    inner.on('completed', (e) => events.push(e));
    const outerEvents: ModelEvent[] = [];
    const app = pipeline(scriptedExecutor(['the answer'])).use(
      asker([], { executor: inner, purpose: 'summary', budgetKey: 'tenant-a:summaries' }),
    );
    app.on('completed', (e) => outerEvents.push(e));
    app.on('requested', (e) => outerEvents.push(e));
    await app.generate(REQUEST);
    const internal = seen[0] as InternalCall;
    assert.equal(internal.by, 'asker');
    assert.equal(internal.purpose, 'summary');
    assert.equal(internal.budgetKey, 'tenant-a:summaries');
    assert.equal(internal.depth, 1);
    assert.equal(internal.runId, undefined);
    assert.match(internal.parentCallId, /^call_/);
    assert.equal(events[0]?.internal, internal);
    // The caller's pipeline reports only the caller's call, never the internal one.
    assert.deepEqual(
      outerEvents.map((e) => [e.type, e.internal]),
      [
        ['requested', undefined],
        ['completed', undefined],
      ],
    );
    assert.equal(outerEvents[0]?.callId, internal.parentCallId);
  });

  test('defaults: purpose is the layer name, budget key internal:<purpose>', async () => {
    let seen: InternalCall | undefined;
    const inner = {
      name: 'spy',
      generate: async (_r: unknown, o?: { internal?: InternalCall }) => {
        seen = o?.internal;
        return { message: { role: 'assistant' as const, content: 'x' }, finishReason: 'stop' as const };
      },
    };
    await pipeline(scriptedExecutor(['a']))
      .use(asker([], { executor: inner }))
      .generate(REQUEST);
    assert.equal(seen?.purpose, 'asker');
    assert.equal(seen?.budgetKey, 'internal:asker');
  });

  test('inside a run: never in the transcript, the stream or the run usage; carries run id and turn', async () => {
    const inner = scriptedExecutor([{ text: 'the summary', usage: { inputTokens: 1000, outputTokens: 1000 } }], {
      whenDone: 'repeat-last',
    });
    let seen: InternalCall | undefined;
    const spy = pipeline(inner).use(async function spy(ctx, next) {
      seen = ctx.internal;
      await next();
    });
    const model = scriptedExecutor([
      { toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }], usage: { inputTokens: 5, outputTokens: 1 } },
      { text: '3', usage: { inputTokens: 7, outputTokens: 1 } },
    ]);
    const answers: string[] = [];
    const app = pipeline(model).use(asker(answers, { executor: spy }));
    const result = await runAgent({ model: app, modelId: 'big', messages: [USER], tools: [add] });
    assert.deepEqual(answers, ['the summary', 'the summary']);
    assert.equal(seen?.turn, 2);
    assert.equal(seen?.runId, result.runId);
    assert.ok(!JSON.stringify(result.transcript).includes('the summary'));
    assert.equal(result.usage.inputTokens, 12);
  });

  test('follows the caller signal and its own', async () => {
    const slow = scriptedExecutor(['late'], { delayMs: 1_000_000, whenDone: 'repeat-last' });
    const own = new AbortController();
    const app = pipeline(scriptedExecutor(['a'])).use(async function asks(ctx, next) {
      const pending = ctx.callModel(ASK, { executor: slow, signal: own.signal });
      own.abort(new Error('stop'));
      await assert.rejects(pending, /stop/);
      await next();
    });
    await app.generate(REQUEST);
    const caller = new AbortController();
    const app2 = pipeline(scriptedExecutor(['a'])).use(async function asks(ctx, next) {
      const pending = ctx.callModel(ASK, { executor: slow });
      caller.abort(new Error('caller gone'));
      await pending;
      await next();
    });
    await assert.rejects(app2.generate(REQUEST, { signal: caller.signal }), /caller gone/);
  });

  test('rejects unknown options and bad values, without printing them', async () => {
    const run = (options: unknown) =>
      pipeline(scriptedExecutor(['a']))
        .use(async function asks(ctx, next) {
          await ctx.callModel(ASK, options as never);
          await next();
        })
        .generate(REQUEST);
    await assert.rejects(run({ purpse: 'x' }), /unknown option `purpse` \(did you mean `purpose`\?\)/);
    await assert.rejects(run({ executor: {} }), /expected an executor/);
    await assert.rejects(run({ purpose: '' }), /expected `purpose` to be a non-empty string/);
  });

  test('internal calls nest at most 4 deep', async () => {
    // A pipeline whose layer calls the pipeline itself, unguarded: bounded, with a MiddlewareError.
    const app = pipeline(scriptedExecutor(['a'], { whenDone: 'repeat-last' }));
    app.use(async function recurse(ctx, next) {
      await ctx.callModel(ASK, { executor: app });
      await next();
    });
    const error = await app.generate(REQUEST).catch((e: unknown) => e);
    assert.ok(MiddlewareError.isInstance(error));
    assert.match((error as Error).message, /5 levels deep \(at most 4\)/);
  });
});
