import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Executor,
  InvalidRequestError,
  InvalidResponseError,
  type Middleware,
  MiddlewareError,
  type ModelResponse,
  type StreamPart,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, TEXT_RESPONSE, flush, freshRequest, logLayer } from '../../fixtures/core.js';

const MODES = ['generate', 'stream'] as const;
type Mode = (typeof MODES)[number];

function loggingExecutor(log: string[], text = 'raw') {
  return scriptedExecutor(
    [
      () => {
        log.push('executor');
        return text;
      },
    ],
    { whenDone: 'repeat-last', chunkSize: 1000 },
  );
}

/** Runs one call in either mode and returns the final response. */
async function call(app: Executor, mode: Mode, request: Parameters<Executor['generate']>[0] = BASE_REQUEST) {
  if (mode === 'generate') return app.generate(request);
  const parts: StreamPart[] = [];
  const stream = app.stream?.(request) as AsyncIterable<StreamPart> & { response: Promise<ModelResponse> };
  for await (const part of stream) parts.push(part);
  return stream.response;
}

function wrapText(name: string): Middleware {
  return defineMiddleware({
    name,
    async call(ctx, next) {
      await next();
      ctx.updateResponse((draft) => {
        draft.message.content = `${name}(${draft.message.content as string})`;
      });
    },
  });
}

function wrapDeltas(name: string): Middleware {
  return defineMiddleware({
    name,
    async call(ctx, next) {
      await next();
      ctx.mapStream((part) => (part.type === 'text-delta' ? { ...part, text: `${name}(${part.text})` } : part));
    },
  });
}

describe('pipeline: onion order', () => {
  for (const mode of MODES) {
    test(`${mode}: use() order on the way in, reverse on the way out, executor innermost`, async () => {
      const log: string[] = [];
      const app = pipeline(loggingExecutor(log)).use(logLayer('a', log), logLayer('b', log), logLayer('c', log));
      await call(app, mode);
      assert.deepEqual(log, ['a:in', 'b:in', 'c:in', 'executor', 'c:out', 'b:out', 'a:out']);
    });

    test(`${mode}: layers see ctx.mode === '${mode}'`, async () => {
      const modes: string[] = [];
      const app = pipeline(scriptedExecutor(['x'])).use((ctx, next) => {
        modes.push(ctx.mode);
        return next();
      });
      await call(app, mode);
      assert.deepEqual(modes, [mode]);
    });

    test(`${mode}: mapStream transforms nest as a(b(raw))`, async () => {
      const app = pipeline(loggingExecutor([])).use(wrapDeltas('a'), wrapDeltas('b'));
      const response = await call(app, mode);
      assert.equal(response.message.content, 'a(b(raw))');
    });

    test(`${mode}: a short-circuit answer reaches the caller`, async () => {
      const model = scriptedExecutor([]);
      const app = pipeline(model).use((ctx) => {
        ctx.response = { message: { role: 'assistant', content: 'cached' }, finishReason: 'stop' };
      });
      const response = await call(app, mode);
      assert.equal(response.message.content, 'cached');
      assert.equal(model.calls.length, 0);
    });
  }

  test('generate: updateResponse transforms nest as a(b(raw))', async () => {
    const app = pipeline(loggingExecutor([])).use(wrapText('a'), wrapText('b'));
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'a(b(raw))');
  });

  test('stream: updateResponse after next() is a MiddlewareError pointing to mapStream and tapStream', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(async function rewriter(ctx, next) {
      await next();
      ctx.updateResponse(() => {});
    });
    await assert.rejects(app.stream(BASE_REQUEST).text(), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.equal(error.layer, 'rewriter');
      assert.match(error.message, /in stream mode/);
      assert.match(error.message, /ctx\.mapStream\(\)/);
      assert.match(error.message, /ctx\.tapStream\(\{ onFinish \}\)/);
      return true;
    });
  });

  test('updateResponse before next() is a MiddlewareError naming the layer', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(function early(ctx, next) {
      ctx.updateResponse(() => {});
      return next();
    });
    await assert.rejects(app.generate(BASE_REQUEST), { name: 'MiddlewareError', layer: 'early' });
  });
});

describe('pipeline: creation', () => {
  const bad: readonly [string, unknown][] = [
    ['undefined', undefined],
    ['a string', 'gpt'],
    ['an object without generate', { stream() {} }],
    ['an executor whose stream is not a function', { generate: async () => TEXT_RESPONSE, stream: 1 }],
  ];
  for (const [label, value] of bad) {
    test(`pipeline(${label}) is a TypeError saying what it got`, () => {
      assert.throws(
        () => pipeline(value as Executor),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /^pipeline\(\)/);
          return true;
        },
      );
    });
  }

  test('pipeline({ executor, name }) names the pipeline', () => {
    const app = pipeline({ executor: scriptedExecutor([]), name: 'chat' });
    assert.equal(app.name, 'chat');
  });

  test('pipeline(executor, ...middleware) mounts the middleware in order', () => {
    const app = pipeline(scriptedExecutor([]), logLayer('a', []), logLayer('b', []));
    assert.deepEqual(app.layers, ['a', 'b']);
  });
});

describe('pipeline: caller input validation', () => {
  const malformed: readonly [string, unknown, readonly PropertyKey[]][] = [
    ['an empty model', { model: '', messages: [] }, ['model']],
    ['a missing model', { messages: [] }, ['model']],
    ['messages that are not an array', { model: 'm', messages: 'hi' }, ['messages']],
    [
      'a message with a wrong role',
      { model: 'm', messages: [{ role: 'robot', content: 'x' }] },
      ['messages', 0, 'role'],
    ],
    [
      'a tool result without a tool call',
      { model: 'm', messages: [{ role: 'tool', toolCallId: 'c1', toolName: 't', content: '1' }] },
      ['messages', 0, 'toolCallId'],
    ],
    ['bad options', { model: 'm', messages: [], options: { temperature: -1 } }, ['options', 'temperature']],
  ];

  for (const mode of MODES) {
    for (const [label, request, path] of malformed) {
      test(`${mode}: ${label} is an InvalidRequestError from 'caller' before any layer runs`, async () => {
        const log: string[] = [];
        const model = loggingExecutor(log);
        const app = pipeline(model).use(logLayer('a', log));
        await assert.rejects(call(app, mode, request as typeof BASE_REQUEST), (error: unknown) => {
          assert.ok(InvalidRequestError.isInstance(error));
          assert.equal(error.layer, 'caller');
          assert.deepEqual(error.path, path);
          assert.ok(error.issues.length > 0);
          assert.match(error.message, /^Invalid request: /);
          return true;
        });
        assert.deepEqual(log, []);
      });
    }
  }

  test('the zero-middleware fast path validates the request too', async () => {
    const model = scriptedExecutor(['x']);
    await assert.rejects(pipeline(model).generate({ model: '', messages: [] }), { layer: 'caller' });
    assert.equal(model.calls.length, 0);
  });

  test('validate: false lets a malformed request through to the executor', async () => {
    const model = scriptedExecutor(['x']);
    const app = pipeline({ executor: model, validate: false });
    await app.generate({ model: '', messages: [] });
    assert.equal(model.calls.length, 1);
  });
});

describe('pipeline: executor output validation', () => {
  const broken = { message: { role: 'user', content: 'x' }, finishReason: 'stop' } as unknown as ModelResponse;
  const brokenExecutor = (streaming: boolean): Executor => {
    const base = { name: 'brokenProvider', generate: async () => broken };
    return streaming
      ? {
          ...base,
          async *stream() {
            yield { type: 'text-delta', text: 'x' } as StreamPart;
            yield { type: 'finish', finishReason: 'nope' } as unknown as StreamPart;
          },
        }
      : base;
  };

  const cases: readonly [string, Mode, boolean, Middleware[]][] = [
    ['generate, no layers', 'generate', false, []],
    ['generate, with a layer', 'generate', false, [logLayer('a', [])]],
    ['stream, generate-only executor', 'stream', false, [logLayer('a', [])]],
    ['stream, streaming executor', 'stream', true, [logLayer('a', [])]],
  ];
  for (const [label, mode, streaming, layers] of cases) {
    test(`${label}: a malformed response is an InvalidResponseError naming the executor`, async () => {
      const app = pipeline(brokenExecutor(streaming)).use(...layers);
      await assert.rejects(call(app, mode), (error: unknown) => {
        assert.ok(InvalidResponseError.isInstance(error));
        assert.equal(error.source, 'brokenProvider');
        assert.ok(error.path.length > 0);
        assert.ok(error.issues.length > 0);
        assert.match(error.message, /`brokenProvider` returned an invalid response/);
        return true;
      });
    });
  }

  test('a layer setting a malformed ctx.response is an InvalidResponseError naming the layer', async () => {
    const app = pipeline(scriptedExecutor([])).use(function faker(ctx) {
      ctx.response = broken;
    });
    await assert.rejects(app.generate(BASE_REQUEST), { name: 'InvalidResponseError', source: 'faker' });
  });

  test('updateResponse producing a malformed response is an InvalidResponseError naming the layer', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(async function breaker(ctx, next) {
      await next();
      ctx.updateResponse((draft) => {
        (draft as { finishReason: string }).finishReason = 'whatever';
      });
    });
    await assert.rejects(app.generate(BASE_REQUEST), { name: 'InvalidResponseError', source: 'breaker' });
  });
});

describe('pipeline: concurrent calls', () => {
  test('calls in flight at the same time keep their own request, state and response', async () => {
    const model = scriptedExecutor([(request) => `echo ${request.messages.map((m) => m.content).join('+')}`], {
      whenDone: 'repeat-last',
      delayMs: 1,
    });
    const app = pipeline(model).use(async function tagger(ctx, next) {
      const tag = ctx.request.model;
      (ctx.state as Record<string, unknown>).tag = tag;
      await new Promise((resolve) => setImmediate(resolve));
      ctx.update((draft) => void draft.messages.push({ role: 'user', content: tag }));
      await next();
      assert.equal((ctx.state as Record<string, unknown>).tag, tag);
    });
    const [one, two] = await Promise.all([
      app.generate({ ...BASE_REQUEST, model: 'one' }),
      app.generate({ ...BASE_REQUEST, model: 'two' }),
    ]);
    assert.equal(one.message.content, 'echo hi+one');
    assert.equal(two.message.content, 'echo hi+two');
  });
});

describe('pipeline: aborting a generate() call', () => {
  const reasons: readonly [string, unknown][] = [
    ['an Error', new Error('user cancelled')],
    ['a string', 'user cancelled'],
    ['an object', { code: 'CANCELLED' }],
  ];
  const stacks: readonly [string, Middleware[]][] = [
    ['no layers', []],
    ['a layer', [logLayer('a', [])]],
  ];
  for (const [reasonLabel, reason] of reasons) {
    for (const [stackLabel, layers] of stacks) {
      test(`with ${stackLabel}, aborting with ${reasonLabel} rejects with exactly that reason`, async () => {
        const controller = new AbortController();
        const model = scriptedExecutor(['late'], { delayMs: 60_000 });
        const result = pipeline(model)
          .use(...layers)
          .generate(BASE_REQUEST, { signal: controller.signal });
        await flush();
        controller.abort(reason);
        await assert.rejects(result, (error) => error === reason);
      });
    }
  }
});

describe('pipeline: the caller’s objects are never touched', () => {
  const layers: Middleware[] = [
    function addSystem(ctx, next) {
      ctx.update((draft) => {
        draft.messages.push({ role: 'system', content: 'appended' });
        draft.options = { ...draft.options, temperature: 0 };
        if (draft.metadata) draft.metadata.tenant = 't2';
      });
      return next();
    },
    function rewriteFirst(ctx, next) {
      ctx.update((draft) => {
        draft.messages[0] = { role: 'system', content: 'replaced' };
        draft.model = 'other-model';
      });
      return next();
    },
    async function rewriteResponse(ctx, next) {
      await next();
      if (ctx.mode === 'stream')
        ctx.mapStream((part) => (part.type === 'text-delta' ? { ...part, text: 'changed' } : part));
      else {
        ctx.updateResponse((draft) => {
          draft.message.content = 'changed';
        });
      }
    },
  ];

  for (const mode of MODES) {
    test(`${mode}: the request passed in is deep-equal to its clone and nothing in it is frozen`, async () => {
      const request = freshRequest();
      const clone = structuredClone(request);
      const app = pipeline(scriptedExecutor(['x'])).use(...layers);
      await call(app, mode, request);
      assert.deepEqual(request, clone);
      for (const value of [request, request.messages, ...request.messages, request.options, request.metadata]) {
        assert.equal(Object.isFrozen(value), false);
      }
    });
  }

  test('the response an executor returns is not modified by updateResponse', async () => {
    const original: ModelResponse = { message: { role: 'assistant', content: 'raw' }, finishReason: 'stop' };
    const clone = structuredClone(original);
    const app = pipeline(scriptedExecutor([original])).use(...layers);
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'changed');
    assert.deepEqual(original, clone);
    assert.equal(Object.isFrozen(original), false);
  });

  test('the executor receives the updated request while the caller keeps the original', async () => {
    const request = freshRequest();
    const model = scriptedExecutor(['x']);
    await pipeline(model)
      .use(...layers)
      .generate(request);
    const sent = model.calls[0]?.request;
    assert.equal(sent?.model, 'other-model');
    assert.deepEqual(
      sent?.messages.map((m) => m.content),
      ['replaced', 'hi', 'appended'],
    );
    assert.equal(request.model, 'test-model');
    assert.equal(request.messages.length, 2);
  });

  test('unchanged messages keep their identity in what the executor receives', async () => {
    const request = freshRequest();
    const model = scriptedExecutor(['x']);
    await pipeline(model)
      .use(...layers)
      .generate(request);
    assert.equal(model.calls[0]?.request.messages[1], request.messages[1]);
  });
});
