import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Executor,
  type Middleware,
  type ModelResponse,
  type StreamObserver,
  type StreamPart,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { type ScriptStep, scriptedExecutor } from 'modelware/testing';
import { assemble } from '../../../lib/core/stream.js';
import { BASE_REQUEST, activeResources, flush, providerError } from '../../fixtures/core.js';

/** A layer that taps the stream and logs every callback as `<name>:<callback>[:<detail>]`. */
function tapLayer(name: string, log: string[], extra: StreamObserver = {}): Middleware {
  return defineMiddleware({
    name,
    async call(ctx, next) {
      await next();
      await ctx.tapStream({
        onPart: (part) => {
          log.push(`${name}:part:${part.type === 'text-delta' ? part.text : part.type}`);
          return extra.onPart?.(part);
        },
        onFinish: (response) => {
          log.push(`${name}:finish`);
          return extra.onFinish?.(response);
        },
        onError: (error) => {
          log.push(`${name}:error`);
          return extra.onError?.(error);
        },
        onClose: () => {
          log.push(`${name}:close`);
          extra.onClose?.();
        },
      });
    },
  });
}

const closes = (log: readonly string[]) => log.filter((l) => l.endsWith(':close'));

describe('stream: parts', () => {
  test('parts arrive in order: text deltas in chunks, then finish', async () => {
    const model = scriptedExecutor([{ text: 'hello world', usage: { inputTokens: 1, outputTokens: 2 } }], {
      chunkSize: 4,
    });
    const parts: StreamPart[] = [];
    for await (const part of pipeline(model).stream(BASE_REQUEST)) parts.push(part);
    assert.deepEqual(parts, [
      { type: 'text-delta', text: 'hell' },
      { type: 'text-delta', text: 'o wo' },
      { type: 'text-delta', text: 'rld' },
      { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 2 }, model: 'test-model' },
    ]);
  });

  test('tapStream callbacks run innermost layer first for each part, before the consumer sees it', async () => {
    const log: string[] = [];
    const model = scriptedExecutor(['abcd'], { chunkSize: 2 });
    const app = pipeline(model).use(tapLayer('a', log), tapLayer('b', log));
    for await (const part of app.stream(BASE_REQUEST)) {
      log.push(`consumer:${part.type === 'text-delta' ? part.text : part.type}`);
    }
    assert.deepEqual(log, [
      'b:part:ab',
      'a:part:ab',
      'consumer:ab',
      'b:part:cd',
      'a:part:cd',
      'consumer:cd',
      'b:part:finish',
      'a:part:finish',
      'consumer:finish',
      'b:finish',
      'b:close',
      'a:finish',
      'a:close',
    ]);
  });

  test('mapStream and tapStream compose in layer order: an outer tap sees the inner mapping', async () => {
    const log: string[] = [];
    const upper = defineMiddleware({
      name: 'upper',
      async call(ctx, next) {
        await next();
        ctx.mapStream((part) => (part.type === 'text-delta' ? { ...part, text: part.text.toUpperCase() } : part));
      },
    });
    const dropFinishUsage = defineMiddleware({
      name: 'split',
      async call(ctx, next) {
        await next();
        ctx.mapStream((part) =>
          part.type === 'text-delta' ? [...part.text].map((c) => ({ ...part, text: c })) : part,
        );
      },
    });
    const model = scriptedExecutor(['ab'], { chunkSize: 10 });
    const app = pipeline(model).use(tapLayer('outer', log), upper, dropFinishUsage, tapLayer('inner', log));
    const text = await app.stream(BASE_REQUEST).text();
    assert.equal(text, 'AB');
    assert.deepEqual(
      log.filter((l) => l.includes(':part:')),
      ['inner:part:ab', 'outer:part:A', 'outer:part:B', 'inner:part:finish', 'outer:part:finish'],
    );
  });

  test('mapStream returning null drops a part', async () => {
    const model = scriptedExecutor(['abcdef'], { chunkSize: 2 });
    const app = pipeline(model).use(async (ctx, next) => {
      await next();
      ctx.mapStream((part) => (part.type === 'text-delta' && part.text === 'cd' ? null : part));
    });
    assert.equal(await app.stream(BASE_REQUEST).text(), 'abef');
  });

  test('a generate-only executor is replayed as parts', async () => {
    const model = scriptedExecutor(['replayed'], { streaming: false });
    const parts: StreamPart[] = [];
    for await (const part of pipeline(model)
      .use((_ctx, next) => next())
      .stream(BASE_REQUEST))
      parts.push(part);
    assert.deepEqual(
      parts.map((p) => p.type),
      ['text-delta', 'finish'],
    );
    assert.equal(model.calls[0]?.mode, 'generate');
  });
});

describe('stream: the assembled response', () => {
  const scripts: readonly [string, ScriptStep][] = [
    ['plain text', 'hello there, general'],
    ['reasoning then text', { reasoning: 'thinking hard', text: 'the answer' }],
    [
      'tool calls',
      {
        toolCalls: [
          { id: 'c1', name: 'search', input: { q: 'weather in Oslo' } },
          { id: 'c2', name: 'clock' },
        ],
      },
    ],
    ['text and a tool call', { text: 'let me check', toolCalls: [{ id: 'c9', name: 'search', input: { q: 'x' } }] }],
    ['an empty reply', { text: '' }],
    ['a full response object', { message: { role: 'assistant', content: 'full' }, finishReason: 'length' }],
  ];

  for (const [label, step] of scripts) {
    test(`${label}: one observer sees the same response in generate and stream mode, equal to generate()'s result`, async () => {
      const finished: Record<string, ModelResponse[]> = { generate: [], stream: [] };
      const observer = defineMiddleware({
        name: 'observer',
        async call(ctx, next) {
          await next();
          await ctx.tapStream({ onFinish: (response) => void finished[ctx.mode]?.push(response) });
        },
      });
      const model = scriptedExecutor([step, step], { chunkSize: 3 });
      const app = pipeline(model).use(observer);
      const generated = await app.generate(BASE_REQUEST);
      const stream = app.stream(BASE_REQUEST);
      for await (const _ of stream);
      assert.deepEqual(finished.generate, [generated]);
      assert.deepEqual(finished.stream, [generated]);
      assert.deepEqual(await stream.response, generated);
    });
  }

  test('assemble() of a response’s parts is the response', async () => {
    const model = scriptedExecutor([{ reasoning: 'r', text: 't', toolCalls: [{ name: 'x' }] }]);
    const response = await model.generate(BASE_REQUEST);
    const parts: StreamPart[] = [];
    for await (const part of scriptedExecutor([response]).stream(BASE_REQUEST)) parts.push(part);
    assert.deepEqual(assemble(parts), response);
  });

  test('awaiting stream.response without iterating runs the call and resolves with the response', async () => {
    const model = scriptedExecutor(['only the response']);
    const stream = pipeline(model).stream(BASE_REQUEST);
    assert.equal(model.calls.length, 0);
    const response = await stream.response;
    assert.equal(response.message.content, 'only the response');
    assert.equal(model.closedStreams, 1);
  });

  test('a stream is consumed once', async () => {
    const stream = pipeline(scriptedExecutor(['x'])).stream(BASE_REQUEST);
    await stream.text();
    assert.throws(() => stream[Symbol.asyncIterator](), {
      name: 'TypeError',
      message: /already consumed/,
    });
  });
});

describe('stream: stopping early', () => {
  test('breaking out of for await cancels the executor stream and closes every layer once', async () => {
    const before = activeResources();
    const log: string[] = [];
    const model = scriptedExecutor(['a long answer that streams slowly'], { chunkSize: 2, chunkDelayMs: 1 });
    const app = pipeline(model).use(tapLayer('a', log), tapLayer('b', log), tapLayer('c', log));
    let seen = 0;
    for await (const _ of app.stream(BASE_REQUEST)) {
      if (++seen === 2) break;
    }
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 1);
    assert.deepEqual(closes(log), ['c:close', 'b:close', 'a:close']);
    assert.equal(model.calls[0]?.signal?.aborted, true);
    assert.ok(!log.some((l) => l.endsWith(':finish') || l.endsWith(':error')));
    await flush();
    assert.deepEqual(activeResources(), before);
  });

  test('breaking out of a nested pipeline’s stream closes both pipelines’ layers and the executor once', async () => {
    const log: string[] = [];
    const model = scriptedExecutor(['abcdefgh'], { chunkSize: 1 });
    const inner = pipeline(model).use(tapLayer('inner', log));
    const outer = pipeline(inner).use(tapLayer('outer', log));
    for await (const _ of outer.stream(BASE_REQUEST)) break;
    assert.deepEqual(closes(log), ['inner:close', 'outer:close']);
    assert.deepEqual([model.openStreams, model.closedStreams], [0, 1]);
    assert.equal(model.calls[0]?.signal?.aborted, true);
  });

  test('after breaking out, stream.response rejects with an AbortError', async () => {
    const stream = pipeline(scriptedExecutor(['abcdef'], { chunkSize: 1 })).stream(BASE_REQUEST);
    for await (const _ of stream) break;
    await assert.rejects(stream.response, { name: 'AbortError' });
  });

  const reasons: readonly [string, () => unknown][] = [
    ['an Error', () => new Error('user pressed stop')],
    ['the default AbortError', () => undefined],
    ['a string', () => 'stop now'],
  ];
  for (const [label, makeReason] of reasons) {
    test(`aborting the caller signal mid-stream with ${label} rejects with the reason and cleans up`, async () => {
      const before = activeResources();
      const log: string[] = [];
      const controller = new AbortController();
      const model = scriptedExecutor(['a long answer'], { chunkSize: 1, chunkDelayMs: 5 });
      const app = pipeline(model).use(tapLayer('a', log), tapLayer('b', log));
      const stream = app.stream(BASE_REQUEST, { signal: controller.signal });
      const reason = makeReason();
      let caught: unknown;
      try {
        for await (const _ of stream) controller.abort(reason);
      } catch (error) {
        caught = error;
      }
      assert.equal(caught, controller.signal.reason);
      await assert.rejects(stream.response, (error) => error === controller.signal.reason);
      assert.equal(model.openStreams, 0);
      assert.equal(model.closedStreams, 1);
      assert.deepEqual(closes(log), ['b:close', 'a:close']);
      await flush();
      assert.deepEqual(activeResources(), before);
    });
  }

  test('a signal aborted before the call rejects at once without calling the executor', async () => {
    const model = scriptedExecutor(['x']);
    const reason = new Error('too late');
    const stream = pipeline(model).stream(BASE_REQUEST, { signal: AbortSignal.abort(reason) });
    await assert.rejects(stream.text(), (error) => error === reason);
    assert.equal(model.calls.length, 0);
  });

  test('the caller signal has no listener left after the stream ends', async () => {
    const controller = new AbortController();
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((type: string, fn: EventListener, options?: AddEventListenerOptions) => {
      added.push(fn);
      add(type, fn, options);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((type: string, fn: EventListener) => {
      removed.push(fn);
      remove(type, fn);
    }) as typeof signal.removeEventListener;
    await pipeline(scriptedExecutor(['x']))
      .stream(BASE_REQUEST, { signal })
      .text();
    assert.ok(added.length > 0);
    assert.ok(added.every((fn) => removed.includes(fn)));
  });
});

describe('stream: failures', () => {
  test('an executor failing mid-stream rejects the consumer and runs onError then onClose once per layer', async () => {
    const log: string[] = [];
    const boom = new Error('connection reset');
    const executor = {
      name: 'flaky',
      generate: () => Promise.reject(new Error('unused')),
      async *stream() {
        yield { type: 'text-delta', text: 'par' } as StreamPart;
        throw boom;
      },
    };
    const app = pipeline(executor).use(tapLayer('a', log), tapLayer('b', log));
    await assert.rejects(app.stream(BASE_REQUEST).text(), (error) => error === boom);
    assert.deepEqual(log, ['b:part:par', 'a:part:par', 'b:error', 'b:close', 'a:error', 'a:close']);
  });

  test('a layer that throws after next() closes the executor stream it abandoned', async () => {
    const model = scriptedExecutor(['never read'], { chunkSize: 1 });
    const app = pipeline(model).use(async function guard(_ctx, next) {
      await next();
      throw new Error('blocked after dispatch');
    });
    await assert.rejects(app.stream(BASE_REQUEST).text(), { message: 'blocked after dispatch' });
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 1);
  });

  test('a layer that throws after next() still runs the onClose of the taps inside it, once each', async () => {
    const log: string[] = [];
    const model = scriptedExecutor(['never read'], { chunkSize: 1 });
    const app = pipeline(model).use(
      tapLayer('outside', log),
      async function guard(_ctx, next) {
        await next();
        throw new Error('blocked after dispatch');
      },
      tapLayer('a', log),
      tapLayer('b', log),
    );
    await assert.rejects(app.stream(BASE_REQUEST).text(), { message: 'blocked after dispatch' });
    assert.deepEqual(log, ['b:close', 'a:close']);
    assert.equal(model.openStreams, 0);
  });

  test('an outer layer that catches a refusal and answers with ctx.response streams that answer, not the refused stream', async () => {
    const log: string[] = [];
    const model = scriptedExecutor(['SECRET'], { chunkSize: 2 });
    const app = pipeline(model).use(
      async function safeAnswer(ctx, next) {
        try {
          await next();
        } catch {
          ctx.response = { message: { role: 'assistant', content: 'I cannot help with that.' }, finishReason: 'stop' };
        }
      },
      async function guard(_ctx, next) {
        await next();
        throw new Error('refused');
      },
      tapLayer('inner', log),
    );
    const stream = app.stream(BASE_REQUEST);
    assert.equal(await stream.text(), 'I cannot help with that.');
    assert.equal((await stream.response).message.content, 'I cannot help with that.');
    await flush();
    assert.deepEqual(log, ['inner:close']);
    assert.equal(model.openStreams, 0);
  });

  test('a layer that sets ctx.response after next() in stream mode replaces the stream, as in generate mode', async () => {
    const model = scriptedExecutor(['from the model'], { chunkSize: 2, whenDone: 'repeat-last' });
    const app = pipeline(model).use(async function override(ctx, next) {
      await next();
      ctx.response = { message: { role: 'assistant', content: 'overridden' }, finishReason: 'stop' };
    });
    assert.equal(await app.generate(BASE_REQUEST).then((r) => r.message.content), 'overridden');
    assert.equal(await app.stream(BASE_REQUEST).text(), 'overridden');
    await flush();
    assert.equal(model.openStreams, 0);
  });

  test('a retried attempt that was abandoned after dispatch closes its taps; the winning attempt finishes', async () => {
    const log: string[] = [];
    let attempts = 0;
    const model = scriptedExecutor(['one', 'two'], { chunkSize: 10 });
    const app = pipeline(model).use(
      defineMiddleware({
        name: 'again',
        replay: true,
        async call(_ctx, next) {
          await next().catch(() => {});
          await next();
        },
      }),
      async function failFirst(_ctx, next) {
        await next();
        if (++attempts === 1) throw providerError('bad first attempt');
      },
      tapLayer('tap', log),
    );
    assert.equal(await app.stream(BASE_REQUEST).text(), 'two');
    assert.deepEqual(log, ['tap:close', 'tap:part:two', 'tap:part:finish', 'tap:finish', 'tap:close']);
  });

  test('a replay layer that calls next() again after a success closes the first attempt’s stream', async () => {
    const log: string[] = [];
    const model = scriptedExecutor(['first', 'second'], { chunkSize: 10 });
    const app = pipeline(model).use(
      defineMiddleware({
        name: 'repair',
        replay: true,
        async call(_ctx, next) {
          await next();
          await next();
        },
      }),
      tapLayer('tap', log),
    );
    assert.equal(await app.stream(BASE_REQUEST).text(), 'second');
    assert.equal(log[0], 'tap:close');
    assert.deepEqual(closes(log), ['tap:close', 'tap:close']);
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 2);
  });

  test('a retry around a layer that fails after next() closes each abandoned attempt', async () => {
    let attempts = 0;
    const model = scriptedExecutor(['one', 'two'], { chunkSize: 1 });
    const app = pipeline(model).use(
      defineMiddleware({
        name: 'again',
        replay: true,
        async call(_ctx, next) {
          await next().catch(() => {});
          await next();
        },
      }),
      async function failFirst(_ctx, next) {
        await next();
        if (++attempts === 1) throw providerError('bad first attempt');
      },
    );
    assert.equal(await app.stream(BASE_REQUEST).text(), 'two');
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 2);
  });
});

describe('stream cleanup when the pipeline itself stops reading', () => {
  test('closes an executor that ignores its signal, and runs every tap onClose once, after an abort', async () => {
    let executorCleanup = 0;
    let onClose = 0;
    const deaf: Executor = {
      name: 'deaf',
      async generate() {
        throw new Error('unused');
      },
      async *stream() {
        try {
          for (let i = 0; i < 20; i++) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            yield { type: 'text-delta', text: 'x' } as StreamPart;
          }
          yield { type: 'finish', finishReason: 'stop' } as StreamPart;
        } finally {
          executorCleanup++;
        }
      },
    };
    const app = pipeline(deaf).use(async function tap(ctx, next) {
      await next();
      await ctx.tapStream({ onClose: () => void onClose++ });
    });
    const controller = new AbortController();
    const reason = new Error('user abort');
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(async () => {
      for await (const _ of app.stream(
        { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
        { signal: controller.signal },
      ));
    }, reason);
    assert.equal(executorCleanup, 1);
    assert.equal(onClose, 1);
  });
});
