// The public primitives the built-ins are written with: ctx.withSignal, ctx.wrapStream, ctx.signalIfAny.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Executor,
  MiddlewareError,
  type ModelResponse,
  type StreamPart,
  defineMiddleware,
  pipeline,
  textOf,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, flush } from '../../fixtures/core.js';

const ANSWER: ModelResponse = { message: { role: 'assistant', content: 'late' }, finishReason: 'stop' };

/** A generate-only executor that ignores its signal and answers when the test calls `release()`. */
function deafExecutor() {
  let release: () => void = () => {};
  const state = {
    signal: undefined as AbortSignal | undefined,
    started: false,
    release: () => release(),
    executor: {
      name: 'deaf',
      async generate(_request, options) {
        state.signal = options?.signal;
        state.started = true;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return ANSWER;
      },
    } satisfies Executor,
  };
  return state;
}

describe('ctx.withSignal', () => {
  test('gives the layers inside and the executor its signal, rejects at once when it aborts, and drops the late answer naming the layer', async () => {
    const deaf = deafExecutor();
    const own = new AbortController();
    const reason = new Error('deadline passed');
    const seen: unknown[] = [];
    let restored: AbortSignal | undefined;
    let insideSignal: AbortSignal | undefined;
    const app = pipeline(deaf.executor).use(
      defineMiddleware({
        name: 'deadline',
        async call(ctx, next) {
          const outer = ctx.signal;
          try {
            await ctx.withSignal(AbortSignal.any([outer, own.signal]), next);
          } finally {
            restored = ctx.signal === outer ? outer : undefined;
          }
        },
      }),
      defineMiddleware({
        name: 'inner',
        async call(ctx, next) {
          insideSignal = ctx.signal;
          try {
            await next();
          } catch (error) {
            seen.push(error);
            throw error;
          }
        },
      }),
    );
    const call = app.generate(BASE_REQUEST);
    while (!deaf.started) await flush();
    assert.equal(deaf.signal, insideSignal);
    own.abort(reason);
    await assert.rejects(call, (error) => error === reason);
    assert.ok(restored, 'ctx.signal is the layer’s own again after withSignal');
    // The executor answers late: the dispatch refuses the result, naming the layer that gave up.
    deaf.release();
    while (seen.length === 0) await flush();
    assert.ok(seen[0] instanceof MiddlewareError);
    assert.equal((seen[0] as MiddlewareError).layer, 'deadline');
  });

  test('a signal that is already aborted rejects before anything inside runs', async () => {
    const model = scriptedExecutor(['never']);
    const own = new AbortController();
    own.abort(new Error('already'));
    const app = pipeline(model).use(async function deadline(ctx, next) {
      await ctx.withSignal(own.signal, next);
    });
    await assert.rejects(app.generate(BASE_REQUEST), /already/);
    assert.equal(model.calls.length, 0);
  });
});

describe('ctx.wrapStream', () => {
  const holdAll = defineMiddleware({
    name: 'holdAll',
    async call(ctx, next) {
      await next();
      await ctx.wrapStream(async function* (source) {
        const held: StreamPart[] = [];
        for await (const part of source) {
          // An async step per part: what ctx.mapStream cannot do.
          await Promise.resolve();
          held.push(part.type === 'text-delta' ? { ...part, text: part.text.toUpperCase() } : part);
        }
        yield* held;
      });
    },
  });

  test('an async transform that holds parts back and flushes them at the end', async () => {
    const app = pipeline(scriptedExecutor(['abcd'], { chunkSize: 2 })).use(holdAll);
    const texts: string[] = [];
    for await (const part of app.stream(BASE_REQUEST)) if (part.type === 'text-delta') texts.push(part.text);
    assert.deepEqual(texts, ['AB', 'CD']);
  });

  test('in generate mode the response runs through the same transform', async () => {
    const app = pipeline(scriptedExecutor(['hello'])).use(holdAll);
    assert.equal(textOf((await app.generate(BASE_REQUEST)).message), 'HELLO');
  });

  test('an unread stream that is discarded runs the transform’s cleanup once and closes the executor stream', async () => {
    const model = scriptedExecutor(['ab'], { chunkSize: 1 });
    let cleanups = 0;
    const app = pipeline(model).use(
      async function refuseAfter(ctx, next) {
        await next();
        ctx.response = { message: { role: 'assistant', content: 'refused' }, finishReason: 'stop' };
      },
      async function wrapper(ctx, next) {
        await next();
        await ctx.wrapStream(async function* (source) {
          try {
            yield* source;
          } finally {
            cleanups++;
          }
        });
      },
    );
    const texts: string[] = [];
    for await (const part of app.stream(BASE_REQUEST)) if (part.type === 'text-delta') texts.push(part.text);
    assert.deepEqual(texts, ['refused']);
    await flush();
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 1);
    // Never started, so its finally had nothing to run; the source was closed for it, once.
    assert.equal(cleanups, 0);
  });

  test('a consumer that breaks runs the transform’s cleanup exactly once', async () => {
    const model = scriptedExecutor(['abc'], { chunkSize: 1 });
    let cleanups = 0;
    const app = pipeline(model).use(async function wrapper(ctx, next) {
      await next();
      await ctx.wrapStream(async function* (source) {
        try {
          yield* source;
        } finally {
          cleanups++;
        }
      });
    });
    for await (const part of app.stream(BASE_REQUEST)) if (part.type === 'text-delta') break;
    await flush();
    assert.equal(cleanups, 1);
    assert.equal(model.openStreams, 0);
  });

  test('a transform returning a plain iterator: discarding it unread calls its return() and closes the source', async () => {
    const model = scriptedExecutor(['a']);
    let returns = 0;
    const app = pipeline(model).use(
      async function refuseAfter(ctx, next) {
        await next();
        ctx.response = { message: { role: 'assistant', content: 'no' }, finishReason: 'stop' };
      },
      async function wrapper(ctx, next) {
        await next();
        await ctx.wrapStream((source) => {
          const inner = source[Symbol.asyncIterator]();
          return {
            [Symbol.asyncIterator]: () => ({
              next: () => inner.next(),
              async return() {
                returns++;
                return { done: true, value: undefined };
              },
            }),
          };
        });
      },
    );
    for await (const _ of app.stream(BASE_REQUEST));
    await flush();
    assert.equal(returns, 1);
    assert.equal(model.closedStreams, 1);
  });
});

describe('ctx.signalIfAny', () => {
  test('is undefined when nothing can abort the call, and the caller’s signal when there is one', async () => {
    const seen: (AbortSignal | undefined)[] = [];
    const app = pipeline(scriptedExecutor(['a', 'b'])).use(async function look(ctx, next) {
      seen.push(ctx.signalIfAny);
      await next();
    });
    await app.generate(BASE_REQUEST);
    const controller = new AbortController();
    await app.generate(BASE_REQUEST, { signal: controller.signal });
    assert.equal(seen[0], undefined);
    assert.ok(seen[1]);
    controller.abort();
    assert.equal(seen[1]?.aborted, true);
  });
});
