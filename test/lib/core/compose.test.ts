// koa-compose's contract list, ported as the conformance suite of the composition layer
// (https://github.com/koajs/compose/blob/master/test/test.js), with exact logs instead of sorted ones.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Context,
  type Middleware,
  MiddlewareError,
  type ModelResponse,
  compose,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, TEXT_RESPONSE, logLayer } from '../../fixtures/core.js';

function loggingExecutor(log: string[], name = 'executor') {
  return scriptedExecutor(
    [
      () => {
        log.push(name);
        return TEXT_RESPONSE;
      },
    ],
    { whenDone: 'repeat-last', name },
  );
}

describe('compose: zero middleware', () => {
  test('a pipeline with no middleware returns the executor response', async () => {
    const model = scriptedExecutor(['hello']);
    const response = await pipeline(model).generate(BASE_REQUEST);
    assert.equal(response.message.content, 'hello');
    assert.equal(model.calls.length, 1);
  });

  test('compose() with no arguments adds no layer', async () => {
    const log: string[] = [];
    const app = pipeline(loggingExecutor(log)).use(compose());
    assert.deepEqual(app.layers, []);
    await app.generate(BASE_REQUEST);
    assert.deepEqual(log, ['executor']);
  });

  test('use() with no arguments adds no layer', () => {
    const app = pipeline(scriptedExecutor([]));
    assert.deepEqual(app.use().layers, []);
  });
});

describe('compose: rejects what is not middleware', () => {
  const cases: readonly { readonly label: string; readonly value: unknown; readonly says: RegExp }[] = [
    { label: 'a number', value: 42, says: /got number `42`/ },
    { label: 'a string', value: 'retry', says: /got string `retry`/ },
    { label: 'null', value: null, says: /got `null`/ },
    { label: 'undefined', value: undefined, says: /got `undefined`/ },
    { label: 'an array', value: [() => {}], says: /got an array of length 1/ },
    { label: 'a definition without a name', value: { call: () => {} }, says: /non-empty string `name`/ },
    { label: 'a definition with an empty name', value: { name: '', call: () => {} }, says: /got string ``/ },
    { label: 'a definition whose call is not a function', value: { name: 'x', call: 5 }, says: /`call` of .*`x`/ },
    { label: 'a definition whose tool is not a function', value: { name: 'x', tool: 'no' }, says: /`tool` of .*`x`/ },
    { label: 'a definition with neither call nor tool', value: { name: 'x' }, says: /neither `call` nor `tool`/ },
  ];

  for (const { label, value, says } of cases) {
    test(`use() rejects ${label} with a TypeError saying what it got`, () => {
      const app = pipeline(scriptedExecutor([]));
      assert.throws(
        () => app.use(value as Middleware),
        (error: unknown) => error instanceof TypeError && error.message.startsWith('use()') && says.test(error.message),
      );
    });

    test(`compose() rejects ${label} with a TypeError naming the argument`, () => {
      assert.throws(
        () => compose(() => {}, value as Middleware),
        (error: unknown) =>
          error instanceof TypeError && error.message.startsWith('compose() argument 1') && says.test(error.message),
      );
    });
  }

  test('a rejected use() leaves the stack unchanged', () => {
    const app = pipeline(scriptedExecutor([])).use(defineMiddleware({ name: 'kept', call: (_ctx, next) => next() }));
    assert.throws(
      () => app.use(defineMiddleware({ name: 'also', call: (_c, n) => n() }), 7 as unknown as Middleware),
      TypeError,
    );
    assert.deepEqual(app.layers, ['kept']);
  });
});

describe('compose: errors', () => {
  test('an error thrown downstream is caught upstream', async () => {
    const app = pipeline(scriptedExecutor([])).use(
      async function catcher(ctx, next) {
        try {
          await next();
        } catch (error) {
          ctx.response = {
            message: { role: 'assistant', content: `caught ${(error as Error).message}` },
            finishReason: 'stop',
          };
        }
      },
      () => {
        throw new Error('inner');
      },
    );
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'caught inner');
  });

  test('an executor error is caught upstream', async () => {
    const seen: unknown[] = [];
    const boom = new Error('provider down');
    const app = pipeline(scriptedExecutor([boom])).use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        seen.push(error);
        ctx.response = TEXT_RESPONSE;
      }
    });
    await app.generate(BASE_REQUEST);
    assert.deepEqual(seen, [boom]);
  });

  test('a synchronous throw in a layer becomes a rejection, not a synchronous throw', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(function syncThrow() {
      throw new Error('sync');
    });
    let promise: Promise<ModelResponse> | undefined;
    assert.doesNotThrow(() => {
      promise = app.generate(BASE_REQUEST);
    });
    await assert.rejects(promise as Promise<ModelResponse>, { message: 'sync' });
  });

  test('a synchronous throw in a replay layer becomes a rejection', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(
      defineMiddleware({
        name: 'syncReplay',
        replay: true,
        call() {
          throw new Error('sync replay');
        },
      }),
    );
    await assert.rejects(app.generate(BASE_REQUEST), { message: 'sync replay' });
  });

  test('a rejection from an inner layer that is not awaited-at-the-end still reaches the caller', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(
      (_ctx, next) => next(),
      async () => {
        await Promise.resolve();
        throw new Error('late');
      },
    );
    await assert.rejects(app.generate(BASE_REQUEST), { message: 'late' });
  });
});

describe('compose: next() called multiple times', () => {
  test('a plain layer calling next() twice is rejected with a MiddlewareError naming it', async () => {
    const app = pipeline(scriptedExecutor(['x'], { whenDone: 'repeat-last' })).use(async function twice(_ctx, next) {
      await next();
      await next();
    });
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.equal(error.layer, 'twice');
      assert.match(error.message, /next\(\) called multiple times/);
      assert.match(error.message, /`twice`/);
      return true;
    });
  });

  test('the second next() does not run the inner layers or the executor again', async () => {
    const log: string[] = [];
    const model = loggingExecutor(log);
    const app = pipeline(model).use(
      async function twice(_ctx, next) {
        await next();
        await next().catch(() => log.push('rejected'));
      },
      logLayer('inner', log),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(log, ['inner:in', 'executor', 'inner:out', 'rejected']);
    assert.equal(model.calls.length, 1);
  });

  test('a layer inside a composed bundle calling next() twice is named by its own name', async () => {
    const bundle = compose(
      defineMiddleware({ name: 'outerOk', call: (_c, next) => next() }),
      async function doubleCaller(_c, next) {
        await next();
        await next();
      },
    );
    const app = pipeline(scriptedExecutor(['x'], { whenDone: 'repeat-last' })).use(bundle);
    await assert.rejects(app.generate(BASE_REQUEST), { name: 'MiddlewareError', layer: 'doubleCaller' });
  });
});

// koa-compose itself rejects the second next() (the call stack adds no closure per layer for it);
// the error is named where the stack settles, after the layer whose promise carried it out.
describe('compose: next() twice is named after the layer that called it, wherever it sits', () => {
  const twice = (name: string): Middleware =>
    defineMiddleware({
      name,
      call: async (_ctx, next) => {
        await next();
        await next();
      },
    });
  const isTwice = (name: string) => (error: unknown) => {
    assert.ok(MiddlewareError.isInstance(error));
    assert.equal(error.layer, name);
    assert.match(error.message, new RegExp(`^next\\(\\) called multiple times in \`${name}\``));
    return true;
  };
  const repeat = () => scriptedExecutor(['x'], { whenDone: 'repeat-last' });
  const plain = (name: string): Middleware => defineMiddleware({ name, call: (_ctx, next) => next() });
  const awaiting = (name: string): Middleware =>
    defineMiddleware({
      name,
      call: async (_ctx, next) => {
        await next();
      },
    });

  test('an outer layer, with layers inside it that had finished', async () => {
    const app = pipeline(repeat()).use(awaiting('first'), twice('greedy'), awaiting('inner'), plain('innermost'));
    await assert.rejects(app.generate(BASE_REQUEST), isTwice('greedy'));
  });

  test('the outermost layer, around a pass-through that returns next() as is', async () => {
    const app = pipeline(repeat()).use(twice('greedy'), plain('passes'), awaiting('inner'));
    await assert.rejects(app.generate(BASE_REQUEST), isTwice('greedy'));
  });

  test('inside a pass-through layer that returns next() as is', async () => {
    const app = pipeline(repeat()).use(plain('outer'), twice('greedy'), awaiting('inner'));
    await assert.rejects(app.generate(BASE_REQUEST), isTwice('greedy'));
  });

  test('a second next() while the first is still running (the layers inside it still pending)', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let first: Promise<void> | undefined;
    const eager = defineMiddleware({
      name: 'eager',
      call: async (_ctx, next) => {
        first = next();
        await next();
      },
    });
    const slow = defineMiddleware({
      name: 'slow',
      call: async (_ctx, next) => {
        await gate;
        await next();
      },
    });
    const app = pipeline(repeat()).use(awaiting('outer'), eager, slow);
    await assert.rejects(app.generate(BASE_REQUEST), isTwice('eager'));
    release();
    await first;
  });

  test('a synchronous layer that returns the second next()', async () => {
    const sync = defineMiddleware({
      name: 'sync',
      call: (_ctx, next) => {
        void next();
        return next();
      },
    });
    await assert.rejects(pipeline(repeat()).use(awaiting('outer'), sync).generate(BASE_REQUEST), isTwice('sync'));
  });

  test('inside a replay layer: its next() rejects with the named error, and so does the call', async () => {
    const seen: unknown[] = [];
    const replay = defineMiddleware({
      name: 'again',
      replay: true,
      call: async (_ctx, next) => {
        try {
          await next();
        } catch (error) {
          seen.push(error);
          throw error;
        }
      },
    });
    const app = pipeline(repeat()).use(awaiting('outer'), replay, awaiting('middle'), twice('greedy'), plain('inner'));
    await assert.rejects(app.generate(BASE_REQUEST), isTwice('greedy'));
    assert.equal(seen.length, 1);
    isTwice('greedy')(seen[0]);
  });

  test("in a replay layer's second attempt, after a first attempt that failed", async () => {
    let attempt = 0;
    const again = defineMiddleware({
      name: 'again',
      replay: true,
      call: async (_ctx, next) => {
        try {
          await next();
        } catch {
          await next();
        }
      },
    });
    const flaky = defineMiddleware({
      name: 'flaky',
      call: async (_ctx, next) => {
        attempt++;
        await next();
        if (attempt === 1) throw new Error('first attempt fails');
        await next();
      },
    });
    const app = pipeline(repeat()).use(awaiting('outer'), again, awaiting('middle'), flaky, plain('inner'));
    await assert.rejects(app.generate(BASE_REQUEST), isTwice('flaky'));
    assert.equal(attempt, 2);
  });

  test('in stream mode', async () => {
    const app = pipeline(repeat()).use(awaiting('outer'), twice('greedy'), awaiting('inner'));
    await assert.rejects(async () => {
      for await (const _ of app.stream(BASE_REQUEST));
    }, isTwice('greedy'));
  });

  test('the same error thrown by a layer itself is not renamed', async () => {
    const mimic = defineMiddleware({
      name: 'mimic',
      call: async () => {
        throw new TypeError('next() called multiple times');
      },
    });
    await assert.rejects(pipeline(repeat()).use(mimic).generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.equal(MiddlewareError.isInstance(error), false);
      return true;
    });
  });

  test('an observed layer (ctx.observe) reports the named error on its way out', async () => {
    const events: string[] = [];
    const watcher = defineMiddleware({
      name: 'watcher',
      call: async (ctx, next) => {
        const stop = ctx.observe({
          onLayer: (e) => {
            if (e.phase === 'exit' && e.error !== undefined) {
              events.push(`${e.layer}:${MiddlewareError.isInstance(e.error) ? e.error.layer : 'other'}`);
            }
          },
        });
        try {
          await next();
        } finally {
          stop();
        }
      },
    });
    const app = pipeline(repeat()).use(watcher, awaiting('outer'), twice('greedy'), awaiting('inner'));
    await assert.rejects(app.generate(BASE_REQUEST), isTwice('greedy'));
    assert.deepEqual(events, ['greedy:greedy', 'outer:greedy']);
  });
});

describe('compose: nesting', () => {
  test('compose() inside compose() keeps the exact onion order', async () => {
    const log: string[] = [];
    const inner = compose(logLayer('b', log), logLayer('c', log));
    const outer = compose(logLayer('a', log), inner, logLayer('d', log));
    const app = pipeline(loggingExecutor(log)).use(outer);
    await app.generate(BASE_REQUEST);
    assert.deepEqual(log, ['a:in', 'b:in', 'c:in', 'd:in', 'executor', 'd:out', 'c:out', 'b:out', 'a:out']);
    assert.deepEqual(app.layers, ['a', 'b', 'c', 'd']);
  });

  test('a pipeline used as the executor of another pipeline runs inside it, with an exact log across both', async () => {
    const log: string[] = [];
    const inner = pipeline(loggingExecutor(log)).use(logLayer('inner1', log), logLayer('inner2', log));
    const outer = pipeline(inner).use(logLayer('outer1', log), logLayer('outer2', log));
    await outer.generate(BASE_REQUEST);
    assert.deepEqual(log, [
      'outer1:in',
      'outer2:in',
      'inner1:in',
      'inner2:in',
      'executor',
      'inner2:out',
      'inner1:out',
      'outer2:out',
      'outer1:out',
    ]);
  });

  test('a nested pipeline sees the outer call id as its parentId', async () => {
    const ids: { outer?: string; innerParent?: string | undefined } = {};
    const inner = pipeline(scriptedExecutor(['x'])).use((ctx, next) => {
      ids.innerParent = ctx.parentId;
      return next();
    });
    const outer = pipeline(inner).use((ctx, next) => {
      ids.outer = ctx.id;
      return next();
    });
    await outer.generate(BASE_REQUEST);
    assert.equal(typeof ids.outer, 'string');
    assert.equal(ids.innerParent, ids.outer);
  });

  test('a composed bundle keeps each layer name, so errors name the inner layer', async () => {
    const bundle = compose(
      defineMiddleware({ name: 'first', call: (_c, next) => next() }),
      defineMiddleware({
        name: 'breaker',
        call: (ctx, next) => {
          ctx.update((draft) => {
            draft.model = '';
          });
          return next();
        },
      }),
    );
    const app = pipeline(scriptedExecutor(['x'])).use(bundle);
    assert.equal(bundle.name, 'compose(first, breaker)');
    await assert.rejects(app.generate(BASE_REQUEST), { name: 'InvalidRequestError', layer: 'breaker' });
  });
});

describe('compose: inputs are untouched', () => {
  test('the array spread into use() and compose() is not modified, before or after a call', async () => {
    const log: string[] = [];
    const stack = [logLayer('a', log), logLayer('b', log)] as const;
    const copy = [...stack];
    const bundle = compose(...stack);
    const app = pipeline(loggingExecutor(log)).use(...stack, bundle);
    await app.generate(BASE_REQUEST);
    assert.equal(stack.length, 2);
    assert.ok(stack.every((mw, i) => mw === copy[i]));
    assert.deepEqual(log, ['a:in', 'b:in', 'a:in', 'b:in', 'executor', 'b:out', 'a:out', 'b:out', 'a:out']);
  });

  test('a definition passed to use() is not modified', () => {
    const definition = { name: 'plain', call: (_c: Context, next: () => Promise<void>) => next() };
    const before = { ...definition };
    pipeline(scriptedExecutor([])).use(definition);
    assert.deepEqual(Object.keys(definition), Object.keys(before));
    assert.equal(definition.call, before.call);
    assert.equal(Object.isFrozen(definition), false);
  });

  test('use() after a call rebuilds the stack (layers added later run too)', async () => {
    const log: string[] = [];
    const app = pipeline(loggingExecutor(log)).use(logLayer('a', log));
    await app.generate(BASE_REQUEST);
    app.use(logLayer('b', log));
    await app.generate(BASE_REQUEST);
    assert.deepEqual(log, ['a:in', 'executor', 'a:out', 'a:in', 'b:in', 'executor', 'b:out', 'a:out']);
  });
});

describe('compose: context and return values', () => {
  test('every layer sees the same call (same id, shared state)', async () => {
    const ids: string[] = [];
    const app = pipeline(scriptedExecutor(['x'])).use(
      (ctx, next) => {
        ids.push(ctx.id);
        (ctx.state as Record<string, unknown>).mark = 'from-a';
        return next();
      },
      (ctx, next) => {
        ids.push(ctx.id);
        ids.push(String((ctx.state as Record<string, unknown>).mark));
        return next();
      },
    );
    await app.generate(BASE_REQUEST);
    assert.equal(ids[0], ids[1]);
    assert.equal(ids[2], 'from-a');
  });

  test('each layer sees its own name on ctx.layer', async () => {
    const names: string[] = [];
    const app = pipeline(scriptedExecutor(['x'])).use(
      function alpha(ctx, next) {
        names.push(ctx.layer);
        return next();
      },
      defineMiddleware({
        name: 'beta',
        call(ctx, next) {
          names.push(ctx.layer);
          return next();
        },
      }),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(names, ['alpha', 'beta']);
  });

  test("a layer's return value is ignored: the response is ctx.response", async () => {
    const app = pipeline(scriptedExecutor(['from executor'])).use(async (_ctx, next) => {
      await next();
      return 'ignored' as unknown as undefined;
    });
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'from executor');
  });

  test('short-circuit: setting ctx.response without next() skips inner layers and the executor', async () => {
    const log: string[] = [];
    const model = loggingExecutor(log);
    const app = pipeline(model).use(
      logLayer('outer', log),
      function cacheHit(ctx) {
        log.push('cacheHit');
        ctx.response = { message: { role: 'assistant', content: 'cached' }, finishReason: 'stop' };
      },
      logLayer('inner', log),
    );
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'cached');
    assert.deepEqual(log, ['outer:in', 'cacheHit', 'outer:out']);
    assert.equal(model.calls.length, 0);
  });

  test('a layer that neither calls next() nor sets a response fails with a MiddlewareError', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(function forgetful() {});
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.match(error.message, /No response/);
      assert.match(error.message, /forgetful/);
      return true;
    });
  });

  for (const mode of ['generate', 'stream'] as const) {
    test(`${mode}: the MiddlewareError for a missing response names the layer that skipped next(), not the last one`, async () => {
      const log: string[] = [];
      const app = pipeline(scriptedExecutor(['x'])).use(
        logLayer('outer', log),
        function forgetful() {},
        logLayer('neverReached', log),
      );
      const call = mode === 'generate' ? app.generate(BASE_REQUEST) : app.stream(BASE_REQUEST).text();
      await assert.rejects(call, (error: unknown) => {
        assert.ok(MiddlewareError.isInstance(error));
        assert.equal(error.layer, 'forgetful');
        assert.match(error.message, /^No response: `forgetful` /);
        return true;
      });
      assert.deepEqual(log, ['outer:in', 'outer:out']);
    });
  }

  test('a layer that returns without awaiting next() still gets the inner result before the caller', async () => {
    const log: string[] = [];
    const app = pipeline(loggingExecutor(log)).use(logLayer('a', log), (_ctx, next) => next(), logLayer('c', log));
    await app.generate(BASE_REQUEST);
    assert.deepEqual(log, ['a:in', 'c:in', 'executor', 'c:out', 'a:out']);
  });
});
