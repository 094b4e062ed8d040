import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  InvalidRequestError,
  type Middleware,
  MiddlewareError,
  PolicyViolationError,
  type ReadonlyModelRequest,
  RetryError,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { type RetryOptions, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, activeResources, flush, logLayer, providerError } from '../fixtures/core.js';

const FAST = { initialDelayMs: 0 } as const satisfies RetryOptions;

function appendLayer(name: string, content: string): Middleware {
  return defineMiddleware({
    name,
    call(ctx, next) {
      ctx.update((draft) => void draft.messages.push({ role: 'user', content }));
      return next();
    },
  });
}

const contents = (request: ReadonlyModelRequest | undefined) => request?.messages.map((m) => m.content);

describe('retry: replay', () => {
  test('re-runs the inner layers and the executor on each attempt, with an exact log', async () => {
    const log: string[] = [];
    const model = scriptedExecutor([
      () => {
        log.push('executor');
        return providerError('503');
      },
      () => {
        log.push('executor');
        return 'ok';
      },
    ]);
    const app = pipeline(model).use(logLayer('outer', log), retry(FAST), logLayer('inner', log));
    await app.generate(BASE_REQUEST);
    assert.deepEqual(log, ['outer:in', 'inner:in', 'executor', 'inner:in', 'executor', 'inner:out', 'outer:out']);
  });

  test('each attempt starts from the snapshot: an inner append is not duplicated', async () => {
    const model = scriptedExecutor([providerError('503'), providerError('503'), 'ok']);
    const app = pipeline(model).use(retry(FAST), appendLayer('appender', 'appended'));
    await app.generate(BASE_REQUEST);
    assert.equal(model.calls.length, 3);
    for (const recorded of model.calls) assert.deepEqual(contents(recorded.request), ['hi', 'appended']);
  });

  test('changes made outside retry are kept on every attempt', async () => {
    const model = scriptedExecutor([providerError('503'), 'ok']);
    const app = pipeline(model).use(appendLayer('before', 'outside'), retry(FAST), appendLayer('after', 'inside'));
    await app.generate(BASE_REQUEST);
    assert.deepEqual(
      model.calls.map((c) => contents(c.request)),
      [
        ['hi', 'outside', 'inside'],
        ['hi', 'outside', 'inside'],
      ],
    );
  });

  test('after a failed attempt, the layer outside sees the request without the inner changes', async () => {
    let seen: ReadonlyModelRequest | undefined;
    let entered: ReadonlyModelRequest | undefined;
    const model = scriptedExecutor([providerError('503')]);
    const app = pipeline(model).use(
      async (ctx, next) => {
        entered = ctx.request;
        await next().catch(() => {});
        seen = ctx.request;
        ctx.response = { message: { role: 'assistant', content: 'fallback' }, finishReason: 'stop' };
      },
      retry({ retries: 0 }),
      appendLayer('appender', 'appended'),
    );
    await app.generate(BASE_REQUEST);
    assert.equal(seen, entered);
  });

  test('after a successful retry, the layer outside sees the inner changes of the winning attempt', async () => {
    let seen: ReadonlyModelRequest | undefined;
    const model = scriptedExecutor([providerError('503'), 'ok']);
    const app = pipeline(model).use(
      async (ctx, next) => {
        await next();
        seen = ctx.request;
      },
      retry(FAST),
      appendLayer('appender', 'appended'),
    );
    await app.generate(BASE_REQUEST);
    assert.equal(seen, model.calls[1]?.request);
  });

  test("a replay layer's own update made before next() survives a failed attempt", async () => {
    const model = scriptedExecutor([providerError('503'), 'ok']);
    const app = pipeline(model).use(
      defineMiddleware({
        name: 'tagThenRetry',
        replay: true,
        async call(ctx, next) {
          ctx.update((draft) => void draft.messages.push({ role: 'system', content: 'tag' }));
          await next().catch(() => {});
          await next();
        },
      }),
      appendLayer('appender', 'inner'),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(
      model.calls.map((c) => contents(c.request)),
      [
        ['hi', 'tag', 'inner'],
        ['hi', 'tag', 'inner'],
      ],
    );
  });

  test("a replay layer's update between attempts after a success is applied to the snapshot", async () => {
    const model = scriptedExecutor(['first', 'second']);
    const app = pipeline(model).use(
      defineMiddleware({
        name: 'repair',
        replay: true,
        async call(ctx, next) {
          ctx.update((draft) => void draft.messages.push({ role: 'system', content: 'tag' }));
          await next();
          ctx.update((draft) => void draft.messages.push({ role: 'user', content: 'try again' }));
          await next();
        },
      }),
      appendLayer('appender', 'inner'),
    );
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'second');
    assert.deepEqual(
      model.calls.map((c) => contents(c.request)),
      [
        ['hi', 'tag', 'inner'],
        ['hi', 'tag', 'try again', 'inner'],
      ],
    );
  });

  test('concurrent next() in a replay layer is a MiddlewareError naming it', async () => {
    const model = scriptedExecutor(['a', 'b'], { delayMs: 1 });
    const app = pipeline(model).use(
      defineMiddleware({
        name: 'eager',
        replay: true,
        async call(_ctx, next) {
          const first = next();
          // Settle the first attempt before failing, so no timer outlives the test.
          await Promise.allSettled([first, next()]).then(([, second]) => {
            if (second.status === 'rejected') throw second.reason;
          });
        },
      }),
    );
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.equal(error.layer, 'eager');
      assert.match(error.message, /while the previous attempt is still running/);
      return true;
    });
    assert.equal(model.calls.length, 1);
  });
});

describe('retry: which errors', () => {
  const notRetryable: readonly [string, () => unknown][] = [
    ['PolicyViolationError', () => new PolicyViolationError({ reason: 'no', code: 'blocked' })],
    ['an error flagged retryable: false', () => Object.assign(new Error('400'), { retryable: false })],
    ['an AbortError', () => new DOMException('stop', 'AbortError')],
    ['a MiddlewareError', () => new MiddlewareError('x', 'contract')],
  ];
  for (const [label, make] of notRetryable) {
    test(`${label} is not retried and reaches the caller unchanged`, async () => {
      const error = make();
      const model = scriptedExecutor([error as Error, 'ok']);
      const app = pipeline(model).use(retry(FAST));
      await assert.rejects(app.generate(BASE_REQUEST), (thrown) => thrown === error);
      assert.equal(model.calls.length, 1);
    });
  }

  test('InvalidRequestError from an inner layer is not retried', async () => {
    let attempts = 0;
    const model = scriptedExecutor(['ok']);
    const app = pipeline(model).use(retry(FAST), (ctx, next) => {
      attempts++;
      ctx.update((draft) => void (draft.model = ''));
      return next();
    });
    await assert.rejects(app.generate(BASE_REQUEST), InvalidRequestError);
    assert.equal(attempts, 1);
    assert.equal(model.calls.length, 0);
  });

  test('a plain Error is retried by default', async () => {
    const model = scriptedExecutor([new Error('flaky'), 'ok']);
    const response = await pipeline(model).use(retry(FAST)).generate(BASE_REQUEST);
    assert.equal(response.message.content, 'ok');
  });

  test('shouldRetry decides, and receives the error and the attempt number', async () => {
    const seen: [string, number][] = [];
    const model = scriptedExecutor([new Error('a'), new Error('b'), 'ok']);
    const app = pipeline(model).use(
      retry({
        ...FAST,
        shouldRetry: (error, attempt) => {
          seen.push([(error as Error).message, attempt]);
          return attempt < 2;
        },
      }),
    );
    await assert.rejects(app.generate(BASE_REQUEST), { name: 'RetryError', reason: 'errorNotRetryable' });
    assert.deepEqual(seen, [
      ['a', 1],
      ['b', 2],
    ]);
  });
});

describe('retry: RetryError', () => {
  test('after the last retry: reason maxRetriesExceeded, every error, lastError and cause', async () => {
    const errors = [providerError('e1'), providerError('e2'), providerError('e3')];
    const model = scriptedExecutor(errors);
    const app = pipeline(model).use(retry({ ...FAST, retries: 2 }));
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(RetryError.isInstance(error));
      assert.equal(error.reason, 'maxRetriesExceeded');
      assert.deepEqual(error.errors, errors);
      assert.equal(error.lastError, errors[2]);
      assert.equal(error.cause, errors[2]);
      assert.match(error.message, /all 3 attempts failed/);
      assert.match(error.message, /e3/);
      return true;
    });
    assert.equal(model.calls.length, 3);
  });

  test('a non-retryable error after a retry: reason errorNotRetryable with both errors', async () => {
    const first = providerError('503');
    const second = new PolicyViolationError({ reason: 'no', code: 'x' });
    const model = scriptedExecutor([first, second]);
    await assert.rejects(pipeline(model).use(retry(FAST)).generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(RetryError.isInstance(error));
      assert.equal(error.reason, 'errorNotRetryable');
      assert.deepEqual(error.errors, [first, second]);
      assert.equal(error.lastError, second);
      return true;
    });
  });

  test('retries: 0 makes one attempt', async () => {
    const model = scriptedExecutor([providerError('e1'), 'ok']);
    await assert.rejects(
      pipeline(model)
        .use(retry({ retries: 0 }))
        .generate(BASE_REQUEST),
      {
        name: 'RetryError',
        reason: 'maxRetriesExceeded',
      },
    );
    assert.equal(model.calls.length, 1);
  });
});

describe('retry: delays', () => {
  test('onRetry reports exponential backoff capped by maxDelayMs', async () => {
    const delays: number[] = [];
    const model = scriptedExecutor([providerError('1'), providerError('2'), providerError('3'), 'ok']);
    const app = pipeline(model).use(
      retry({
        retries: 3,
        initialDelayMs: 1,
        factor: 3,
        maxDelayMs: 5,
        onRetry: ({ delayMs }) => delays.push(delayMs),
      }),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(delays, [1, 3, 5]);
  });

  test('retryAfterMs from the error raises the delay, and the retry waits for it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const delays: number[] = [];
    const model = scriptedExecutor([providerError('429', { retryAfterMs: 300 }), 'ok']);
    const app = pipeline(model).use(retry({ initialDelayMs: 10, onRetry: ({ delayMs }) => delays.push(delayMs) }));
    const result = app.generate(BASE_REQUEST);
    await flush();
    assert.deepEqual(delays, [300]);
    t.mock.timers.tick(299);
    await flush();
    assert.equal(model.calls.length, 1);
    t.mock.timers.tick(1);
    await flush();
    assert.equal(model.calls.length, 2);
    assert.equal((await result).message.content, 'ok');
  });

  test('retryAfterMs is capped by maxDelayMs', async () => {
    const delays: number[] = [];
    const model = scriptedExecutor([providerError('429', { retryAfterMs: 60_000 }), 'ok']);
    const app = pipeline(model).use(
      retry({ initialDelayMs: 0, maxDelayMs: 2, onRetry: ({ delayMs }) => delays.push(delayMs) }),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(delays, [2]);
  });

  test('aborting during the backoff stops retrying, rejects with the reason and leaves no timer', async () => {
    const before = activeResources();
    const controller = new AbortController();
    const model = scriptedExecutor([providerError('503'), 'ok']);
    const app = pipeline(model).use(retry({ initialDelayMs: 60_000 }));
    const result = app.generate(BASE_REQUEST, { signal: controller.signal });
    await flush();
    assert.equal(activeResources().Timeout, (before.Timeout ?? 0) + 1);
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await assert.rejects(result, (error) => error === reason);
    assert.equal(model.calls.length, 1);
    assert.deepEqual(activeResources(), before);
  });
});

describe('retry: options are validated at factory time', () => {
  const bad: readonly [RetryOptions, string, string][] = [
    [{ retries: -1 }, 'retries', '-1'],
    [{ retries: 1.5 }, 'retries', '1.5'],
    [{ retries: Number.NaN }, 'retries', 'NaN'],
    [{ initialDelayMs: -5 }, 'initialDelayMs', '-5'],
    [{ factor: 0.5 }, 'factor', '0.5'],
    [{ maxDelayMs: -1 }, 'maxDelayMs', '-1'],
    [{ retries: '3' as unknown as number }, 'retries', '3'],
  ];
  for (const [options, name, value] of bad) {
    test(`retry(${JSON.stringify(options)}) is a TypeError naming \`${name}\` and \`${value}\``, () => {
      assert.throws(
        () => retry(options),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.startsWith('retry():') &&
          error.message.includes(`\`${name}\``) &&
          error.message.includes(`\`${value}\``),
      );
    });
  }

  test('retry() returns a replay definition named retry', () => {
    const mw = retry();
    assert.equal(typeof mw, 'object');
    assert.equal((mw as { name: string }).name, 'retry');
    assert.equal((mw as { replay?: boolean }).replay, true);
  });
});

describe('retry: stream mode', () => {
  test('re-runs when the executor fails before its first part', async () => {
    const model = scriptedExecutor([providerError('503'), 'streamed text'], { chunkSize: 4 });
    const app = pipeline(model).use(retry(FAST), appendLayer('appender', 'appended'));
    let text = '';
    for await (const part of app.stream(BASE_REQUEST)) if (part.type === 'text-delta') text += part.text;
    assert.equal(text, 'streamed text');
    assert.deepEqual(
      model.calls.map((c) => [c.mode, contents(c.request)]),
      [
        ['stream', ['hi', 'appended']],
        ['stream', ['hi', 'appended']],
      ],
    );
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 2);
  });

  test('gives up with a RetryError in stream mode too', async () => {
    const model = scriptedExecutor([providerError('1'), providerError('2')]);
    const stream = pipeline(model)
      .use(retry({ ...FAST, retries: 1 }))
      .stream(BASE_REQUEST);
    await assert.rejects(stream.text(), { name: 'RetryError', reason: 'maxRetriesExceeded' });
  });
});

describe('retry() around another retry()', () => {
  test('does not retry the inner RetryError (attempts add, they do not multiply)', async () => {
    const flaky = () => Object.assign(new Error('503'), { retryable: true });
    const model = scriptedExecutor([flaky(), flaky(), flaky(), flaky(), flaky(), flaky(), flaky(), flaky(), flaky()]);
    const app = pipeline(model, retry({ retries: 2, initialDelayMs: 0 }), retry({ retries: 2, initialDelayMs: 0 }));
    await assert.rejects(app.generate({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), (e: unknown) =>
      RetryError.isInstance(e),
    );
    assert.equal(model.calls.length, 3);
  });
});
