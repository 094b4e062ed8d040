import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Executor, TimeoutError, pipeline } from 'modelware';
import { retry, timeout } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const BASE_REQUEST = { model: 'test-model', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('timeout()', () => {
  it('rejects with TimeoutError and aborts the executor signal when the model is too slow', async () => {
    const model = scriptedExecutor([{ text: 'late', delayMs: 5_000 }]);
    const app = pipeline(model, timeout({ timeoutMs: 20 }));
    await assert.rejects(app.generate(BASE_REQUEST), (e: unknown) => TimeoutError.isInstance(e) && e.timeoutMs === 20);
    assert.equal(model.calls[0]?.signal?.aborted, true);
    assert.ok(TimeoutError.isInstance(model.calls[0]?.signal?.reason));
  });

  it('rejects on time even when the executor ignores its signal', async () => {
    let release: () => void = () => {};
    const deaf: Executor = {
      name: 'deaf',
      generate: () =>
        new Promise((resolve) => {
          release = () => resolve({ message: { role: 'assistant', content: 'x' }, finishReason: 'stop' });
        }),
    };
    const app = pipeline(deaf, timeout({ timeoutMs: 20 }));
    await assert.rejects(app.generate(BASE_REQUEST), (e: unknown) => TimeoutError.isInstance(e));
    release();
  });

  it('passes a fast call through and restores the outer signal afterwards', async () => {
    const seen: AbortSignal[] = [];
    const app = pipeline(scriptedExecutor(['ok']))
      .use(async function outer(ctx, next) {
        seen.push(ctx.signal);
        await next();
        seen.push(ctx.signal);
      })
      .use(timeout({ timeoutMs: 1_000 }))
      .use(async function inner(ctx, next) {
        seen.push(ctx.signal);
        await next();
      });
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'ok');
    assert.equal(seen[0], seen[2]);
    assert.notEqual(seen[1], seen[0]);
    assert.equal(seen[1]?.aborted, false);
  });

  it('inside retry() limits each attempt, and the retry gets the next attempt through', async () => {
    const model = scriptedExecutor([{ text: 'slow', delayMs: 5_000 }, 'fast']);
    const app = pipeline(model, retry({ initialDelayMs: 0 }), timeout({ timeoutMs: 20 }));
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'fast');
    assert.equal(model.calls.length, 2);
  });

  it('follows the caller abort with the caller reason', async () => {
    const controller = new AbortController();
    const app = pipeline(scriptedExecutor([{ text: 'late', delayMs: 5_000 }]), timeout({ timeoutMs: 1_000 }));
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    const reason = new Error('user cancelled');
    setTimeout(() => controller.abort(reason), 10);
    await assert.rejects(pending, (e: unknown) => e === reason);
  });

  it('leaves no timer behind', async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' }), timeout({ timeoutMs: 60_000 }));
    for (let i = 0; i < 5; i++) await app.generate(BASE_REQUEST);
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(after, before);
  });

  for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
    it(`rejects timeoutMs = ${String(bad)} at factory time`, () => {
      assert.throws(
        () => timeout({ timeoutMs: bad as number }),
        (e: unknown) => e instanceof TypeError && e.message.includes('`timeoutMs`'),
      );
    });
  }
});

describe('timeout() in stream mode and when abandoning work', () => {
  it('keeps the caller abort reaching the executor after the first part (the link outlives next())', async () => {
    const model = scriptedExecutor(['a b c d e f g h i j k l'], { chunkSize: 2, chunkDelayMs: 30 });
    const app = pipeline(model, timeout({ timeoutMs: 5_000 }));
    const controller = new AbortController();
    const reason = new Error('user abort');
    setTimeout(() => controller.abort(reason), 70);
    await assert.rejects(async () => {
      for await (const _ of app.stream(BASE_REQUEST, { signal: controller.signal }));
    }, reason);
    assert.equal(model.calls[0]?.signal?.aborted, true);
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 1);
  });

  it('inside retry(), discards the late result of an attempt it abandoned', async () => {
    const log: string[] = [];
    let n = 0;
    const deaf: Executor = {
      name: 'deaf',
      async generate() {
        const k = ++n;
        log.push(`exec${k}:start`);
        await new Promise((resolve) => setTimeout(resolve, k === 1 ? 80 : 0));
        log.push(`exec${k}:end`);
        return { message: { role: 'assistant', content: `answer ${k}` }, finishReason: 'stop' };
      },
    };
    const app = pipeline(deaf)
      .use(retry({ initialDelayMs: 0 }), timeout({ timeoutMs: 30 }))
      .use(async function inner(ctx, next) {
        await next();
        log.push(`inner:out ${ctx.response?.message.content}`);
      });
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'answer 2');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Attempt 1 finished after attempt 2 answered; its inner layer never saw its result.
    assert.deepEqual(log, ['exec1:start', 'exec2:start', 'exec2:end', 'inner:out answer 2', 'exec1:end']);
  });
});

/**
 * A stream executor that ignores its signal: it yields `first` parts at once, then each later part
 * only when the test calls `release()`. `closed` counts its cleanups.
 */
function deafStream(first: number) {
  const gates: (() => void)[] = [];
  const state = {
    closed: 0,
    signal: undefined as AbortSignal | undefined,
    release: () => gates.shift()?.(),
    executor: {
      name: 'deaf-stream',
      generate: () => Promise.reject(new Error('stream only')),
      async *stream(_request: unknown, options?: { signal?: AbortSignal }) {
        state.signal = options?.signal;
        try {
          for (let i = 0; ; i++) {
            if (i >= first) await new Promise<void>((resolve) => gates.push(resolve));
            yield { type: 'text-delta' as const, text: `p${i} ` };
          }
        } finally {
          state.closed++;
        }
      },
    } as unknown as Executor,
  };
  return state;
}

describe('timeout() bounds the whole stream, not just its first part', () => {
  it('a stream that stalls after its first part fails after idleTimeoutMs with a non-retryable TimeoutError', async () => {
    const deaf = deafStream(1);
    const app = pipeline(deaf.executor, timeout({ timeoutMs: 60_000, idleTimeoutMs: 20 }));
    const parts: string[] = [];
    const error = await (async () => {
      for await (const part of app.stream(BASE_REQUEST)) if (part.type === 'text-delta') parts.push(part.text);
    })().catch((e: unknown) => e);
    assert.deepEqual(parts, ['p0 ']);
    assert.ok(TimeoutError.isInstance(error), String(error));
    assert.equal(error.timeoutMs, 20);
    assert.equal(error.retryable, false);
    assert.match(error.message, /`idleTimeoutMs` \(20 ms\)/);
    // The executor was told to stop, and its stream is closed once it lets go.
    assert.equal(deaf.signal?.reason, error);
    deaf.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(deaf.closed, 1);
  });

  it('idleTimeoutMs defaults to timeoutMs', async () => {
    const deaf = deafStream(1);
    const app = pipeline(deaf.executor, timeout({ timeoutMs: 20 }));
    const error = await (async () => {
      for await (const _ of app.stream(BASE_REQUEST));
    })().catch((e: unknown) => e);
    assert.ok(TimeoutError.isInstance(error) && error.timeoutMs === 20 && /idleTimeoutMs/.test(error.message));
    deaf.release();
  });

  it('the idle clock runs only while the consumer waits for a part: a slow consumer never trips it', async () => {
    const model = scriptedExecutor(['a b c d e f'], { chunkSize: 2 });
    const app = pipeline(model, timeout({ timeoutMs: 60_000, idleTimeoutMs: 20 }));
    let text = '';
    for await (const part of app.stream(BASE_REQUEST)) {
      if (part.type === 'text-delta') text += part.text;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    assert.equal(text, 'a b c d e f');
  });

  it('totalTimeoutMs bounds a stream that keeps sending parts, with a non-retryable TimeoutError', async () => {
    const deaf = deafStream(1);
    const pump = setInterval(deaf.release, 2);
    const app = pipeline(deaf.executor, timeout({ timeoutMs: 60_000, totalTimeoutMs: 30 }));
    let count = 0;
    const error = await (async () => {
      for await (const _ of app.stream(BASE_REQUEST)) count++;
    })().catch((e: unknown) => e);
    assert.ok(TimeoutError.isInstance(error), String(error));
    assert.equal(error.timeoutMs, 30);
    assert.equal(error.retryable, false);
    assert.match(error.message, /`totalTimeoutMs` \(30 ms\)/);
    assert.ok(count >= 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    clearInterval(pump);
    assert.equal(deaf.closed, 1);
  });

  it('a caller abort mid-stream rejects at once with its reason, even when the executor ignores its signal', async () => {
    const deaf = deafStream(1);
    const app = pipeline(deaf.executor, timeout({ timeoutMs: 60_000 }));
    const controller = new AbortController();
    const reason = new Error('user abort');
    const error = await (async () => {
      for await (const _ of app.stream(BASE_REQUEST, { signal: controller.signal })) controller.abort(reason);
    })().catch((e: unknown) => e);
    assert.equal(error, reason);
    deaf.release();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(deaf.closed, 1);
  });

  it('a caller abort before the first part closes the stream of an executor that ignores its signal once it starts', async () => {
    const deaf = deafStream(0);
    const app = pipeline(deaf.executor, timeout({ timeoutMs: 60_000 }));
    const controller = new AbortController();
    const reason = new Error('user abort');
    const iterator = app.stream(BASE_REQUEST, { signal: controller.signal })[Symbol.asyncIterator]();
    const pending = iterator.next();
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(reason);
    await assert.rejects(pending, (e: unknown) => e === reason);
    // The executor finally sends its first part: nobody will read it, so it must be closed.
    deaf.release();
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(deaf.closed, 1);
  });

  it('a timeoutMs above 2^31 - 1 ms (40 days) does not fire after 1 ms', async () => {
    const app = pipeline(scriptedExecutor([{ text: 'ok', delayMs: 20 }]), timeout({ timeoutMs: 40 * 86_400_000 }));
    assert.equal((await app.generate(BASE_REQUEST)).message.content, 'ok');
  });

  for (const [option, bad] of [
    ['idleTimeoutMs', 0],
    ['idleTimeoutMs', Number.NaN],
    ['totalTimeoutMs', -1],
    ['totalTimeoutMs', '10'],
  ] as const) {
    it(`rejects ${option} = ${String(bad)} at factory time`, () => {
      assert.throws(
        () => timeout({ timeoutMs: 1_000, [option]: bad } as never),
        (e: unknown) => e instanceof TypeError && e.message.startsWith(`timeout(): expected \`${option}\``),
      );
    });
  }
});
