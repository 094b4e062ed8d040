// Misuse is caught where it happens, with the fix in the message (issue 10, item 6).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Middleware,
  MiddlewareError,
  ProviderError,
  RetryError,
  defineMiddlewareFactory,
  pipeline,
} from 'modelware';
import { fallback, retry, timeout, usage } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, logLayer } from '../../fixtures/core.js';

describe('misuse: a middleware factory passed uncalled', () => {
  for (const [name, factory] of [
    ['retry', retry],
    ['fallback', fallback],
    ['timeout', timeout],
    ['usage', usage],
  ] as const) {
    test(`use(${name}) throws a TypeError at use() saying ${name}()`, () => {
      const app = pipeline(scriptedExecutor(['x']));
      assert.throws(
        () => app.use(factory as unknown as Middleware),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.ok(error.message.includes(`\`${name}\` is a middleware factory`), error.message);
          assert.ok(error.message.includes(`app.use(${name}())`), error.message);
          return true;
        },
      );
    });
  }

  test('a third-party factory marked with defineMiddlewareFactory is caught the same way', () => {
    const audit = defineMiddlewareFactory(function audit(): Middleware {
      return async function audit(_ctx, next) {
        await next();
      };
    });
    assert.throws(() => pipeline(scriptedExecutor(['x']), audit as unknown as Middleware), /app\.use\(audit\(\)\)/);
    // Called, it mounts normally.
    assert.deepEqual(pipeline(scriptedExecutor(['x']), audit()).layers, ['audit']);
  });

  test('an unmarked factory used as a layer fails at request time naming it, not "returned without calling next()"', async () => {
    function logger(): Middleware {
      return async function logger(_ctx, next) {
        await next();
      };
    }
    const app = pipeline(scriptedExecutor(['x'])).use(logger as unknown as Middleware);
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.equal(error.layer, 'logger');
      assert.match(error.message, /middleware factory.*app\.use\(logger\(\)\)/);
      return true;
    });
  });
});

describe('misuse: an SDK client where an executor belongs', () => {
  // Shapes only: the SDKs are not needed to recognise their clients.
  const cases = [
    [
      'an OpenAI client',
      { chat: { completions: { create() {} } }, responses: { create() {} } },
      /OpenAI SDK client: use `openaiExecutor\(\{ client \}\)`/,
    ],
    [
      'an Anthropic client',
      { messages: { create() {} } },
      /Anthropic SDK client: use `anthropicExecutor\(\{ client \}\)`/,
    ],
    [
      'an AI SDK model',
      { specificationVersion: 'v4', provider: 'openai.chat', modelId: 'gpt', doGenerate() {}, doStream() {} },
      /AI SDK language model: use `aiSdkExecutor\(model\)`/,
    ],
  ] as const;
  for (const [label, client, expected] of cases) {
    test(`pipeline(${label}) names the adapter to use`, () => {
      assert.throws(
        () => pipeline(client as never),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, expected);
          return true;
        },
      );
      assert.throws(() => pipeline({ executor: client as never }), expected);
    });
  }
});

describe('misuse: breaking the draft rule in ctx.update', () => {
  const recipes: readonly [string, (draft: Record<string, unknown>) => unknown, RegExp][] = [
    [
      'mutate and return',
      (draft) => {
        draft.model = 'other';
        return { ...draft };
      },
      /changed the draft and also returned a value/,
    ],
    [
      'Object.defineProperty',
      (draft) => void Object.defineProperty(draft, 'model', { value: 'other' }),
      /Object\.defineProperty\(\) on the draft/,
    ],
    [
      'Object.setPrototypeOf',
      (draft) => void Object.setPrototypeOf(draft, null),
      /Object\.setPrototypeOf\(\) on the draft/,
    ],
  ];
  for (const [label, recipe, expected] of recipes) {
    test(`${label} throws a MiddlewareError naming the layer, with Immer's error as cause`, async () => {
      const app = pipeline(scriptedExecutor(['x'])).use(async function rewriter(ctx, next) {
        ctx.update(recipe as never);
        await next();
      });
      await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
        assert.ok(MiddlewareError.isInstance(error), String(error));
        assert.equal(error.layer, 'rewriter');
        assert.match(error.message, /^`rewriter` broke the draft rule in ctx\.update\(\)/);
        assert.match(error.message, expected);
        assert.match(String((error.cause as Error).message), /^\[Immer\]/);
        return true;
      });
    });
  }

  test('in ctx.updateResponse too', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(async function outbound(ctx, next) {
      await next();
      ctx.updateResponse((draft) => {
        draft.finishReason = 'length';
        return { ...draft };
      });
    });
    await assert.rejects(app.generate(BASE_REQUEST), /`outbound` broke the draft rule in ctx\.updateResponse\(\)/);
  });

  test('an error the recipe throws itself passes through unchanged', async () => {
    const own = new Error('mine');
    const app = pipeline(scriptedExecutor(['x'])).use(async function thrower(ctx, next) {
      ctx.update(() => {
        throw own;
      });
      await next();
    });
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => error === own);
  });
});

describe('misuse: a non-Error thrown names its layer', () => {
  test('a layer deep in the stack', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(logLayer('outer', []), async function auth() {
      throw 'token expired';
    });
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.equal(error.layer, 'auth');
      assert.match(error.message, /^`auth` threw a non-Error value/);
      assert.equal(error.cause, 'token expired');
      return true;
    });
  });

  test('after next(), on the way out', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(
      async function audit(_ctx, next) {
        await next();
        throw { code: 1 };
      },
      logLayer('inner', []),
    );
    // Named without a per-layer promise handler (docs/decisions.md §22): the innermost layer
    // reached, and the message says the throw came on the way out, from it or a layer outside it.
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.equal(error.layer, 'inner');
      assert.match(error.message, /^`inner` or a layer outside it, on the way out, threw a non-Error value/);
      return true;
    });
  });

  test('the executor, behind layers, is named as the executor (not the innermost layer)', async () => {
    const app = pipeline({ name: 'flaky', generate: () => Promise.reject('boom') }).use(logLayer('inner', []));
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.equal(error.layer, 'flaky');
      assert.match(error.message, /^the executor `flaky` threw/);
      return true;
    });
  });

  test('a replay layer (retry) throwing a non-Error is named too', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(
      defineMiddlewareFactory(() => ({
        name: 'again',
        replay: true,
        async call() {
          throw 7;
        },
      }))(),
    );
    await assert.rejects(
      app.generate(BASE_REQUEST),
      (error: unknown) => MiddlewareError.isInstance(error) && error.layer === 'again',
    );
  });

  test('an abort reason that is not an Error is still rejected as is', async () => {
    const controller = new AbortController();
    const app = pipeline({
      generate: (_r, o) =>
        new Promise((_, reject) => o?.signal?.addEventListener('abort', () => reject(o.signal?.reason))),
    }).use(logLayer('a', []));
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    controller.abort('stop');
    await assert.rejects(pending, (error: unknown) => error === 'stop');
  });
});

describe('misuse: abort reasons in stream mode', () => {
  test('a non-Error abort reason is rejected as is in stream mode too', async () => {
    const controller = new AbortController();
    const app = pipeline({
      generate: (_r, o) =>
        new Promise((_, reject) => o?.signal?.addEventListener('abort', () => reject(o.signal?.reason))),
    }).use(logLayer('a', []));
    const pending = app.stream(BASE_REQUEST, { signal: controller.signal }).text();
    setImmediate(() => controller.abort('stop'));
    await assert.rejects(pending, (error: unknown) => error === 'stop');
  });
});

describe('misuse: fallback and retry wording', () => {
  test("fallback(['a', 'b']) means fallback({ models: ['a', 'b'] })", async () => {
    const seen: string[] = [];
    const app = pipeline({
      async generate(request) {
        seen.push(request.model);
        if (request.model !== 'b') throw new ProviderError({ provider: 'p', message: 'down', retryable: true });
        return { message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' };
      },
    }).use(fallback(['a', 'b']));
    const response = await app.generate({ ...BASE_REQUEST, model: 'a' });
    assert.equal(response.message.content, 'ok');
    assert.deepEqual(seen, ['a', 'b']);
  });

  test('a bad fallback argument shows the options form', () => {
    assert.throws(() => fallback({ models: [] }), /fallback\(\{ models: \['gpt-5-mini', 'claude-haiku-4-5'\] \}\)/);
  });

  test('retry giving up does not advise adding retry()', async () => {
    const app = pipeline({
      generate: () =>
        Promise.reject(
          new ProviderError({
            provider: 'openai',
            message: 'openai: 503 overloaded. Retryable: add retry() to try again.',
            retryable: true,
          }),
        ),
    }).use(retry({ retries: 1, initialDelayMs: 0 }));
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(RetryError.isInstance(error));
      assert.match(error.message, /all 2 attempts failed; the last error: openai: 503 overloaded\. Raise `retries`/);
      assert.ok(!error.message.includes('add retry()'), error.message);
      return true;
    });
  });

  test('fallback giving up does not advise adding retry() either', async () => {
    const app = pipeline({
      generate: () =>
        Promise.reject(
          new ProviderError({
            provider: 'p',
            message: 'p: 503 busy. Retryable: add retry() to try again.',
            retryable: true,
          }),
        ),
    }).use(fallback(['b']));
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(RetryError.isInstance(error));
      assert.equal(error.message, 'fallback: every model failed (test-model, b); the last error: p: 503 busy.');
      return true;
    });
  });
});
