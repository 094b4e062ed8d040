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
