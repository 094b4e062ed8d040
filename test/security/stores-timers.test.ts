// Stores, timers and timeouts under hostile settings: millisecond options past setTimeout's
// 32-bit limit, stores that hang or drop connections. See docs/security.md.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { definePlugin, pipeline } from 'modelware';
import { rateLimit, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { MAX_TIMER_MS, setLongTimeout, sleep } from '../../lib/signals.js';
import { memoryStore } from '../../lib/stores/memory.js';
import type { Store } from '../../lib/stores/store.js';
import { BASE_REQUEST } from '../fixtures/core.js';
import { PAYLOAD, managerWithEvents, probe } from '../fixtures/plugins.js';

const DAY = 86_400_000;

/** Resolves after `ms` on a real timer: what a delay that fired early would beat. */
const after = (ms: number) => new Promise<'timer'>((resolve) => setTimeout(() => resolve('timer'), ms));

describe('timers cannot overflow (delays above 2^31 - 1 ms)', () => {
  it('setLongTimeout waits in chunks and fires exactly at the deadline (fake clock)', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let fired = 0;
      setLongTimeout(() => fired++, 40 * DAY);
      mock.timers.tick(MAX_TIMER_MS);
      mock.timers.tick(40 * DAY - MAX_TIMER_MS - 1);
      assert.equal(fired, 0);
      mock.timers.tick(1);
      assert.equal(fired, 1);
    } finally {
      mock.timers.reset();
    }
  });

  it('a cancelled long timeout never fires and leaves no timer', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let fired = 0;
      const cancel = setLongTimeout(() => fired++, 3e9);
      mock.timers.tick(MAX_TIMER_MS);
      cancel();
      mock.timers.tick(3e9);
      assert.equal(fired, 0);
    } finally {
      mock.timers.reset();
    }
  });

  it('sleep(3e9) does not resolve after 1 ms', async () => {
    const controller = new AbortController();
    const slept = sleep(3e9, controller.signal).then(() => 'slept' as const);
    assert.equal(await Promise.race([slept, after(20)]), 'timer');
    controller.abort(new Error('done'));
    await assert.rejects(slept, /done/);
  });

  it('a plugin with timeoutMs: 3e9 is not timed out after 1 ms', async () => {
    const { manager, events } = managerWithEvents();
    let finished = false;
    manager.register(
      definePlugin({
        name: 'slowish',
        timeoutMs: 3e9,
        hooks: {
          test_probe: async () => {
            await after(20);
            finished = true;
          },
        },
      }),
    );
    await manager.dispatch(probe, PAYLOAD);
    assert.equal(finished, true);
    assert.deepEqual(events, []);
  });

  it('retry() with a delay above 2^31 - 1 ms waits instead of retrying after 1 ms', async () => {
    const model = scriptedExecutor([Object.assign(new Error('busy'), { retryable: true }), 'ok']);
    const app = pipeline(model).use(retry({ initialDelayMs: 3e9, maxDelayMs: 3e9 }));
    const controller = new AbortController();
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    await after(20);
    assert.equal(model.calls.length, 1);
    controller.abort(new Error('gave up'));
    await assert.rejects(pending, /gave up/);
  });

  it('rateLimit() with a 30-day window waits instead of calling its store in a loop', async () => {
    const inner = memoryStore();
    let takes = 0;
    const store: Store = {
      ...inner,
      name: 'counting',
      take(key, options) {
        takes++;
        return inner.take(key, options);
      },
    };
    const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(
      rateLimit({ limit: 1, windowMs: 30 * DAY, store }),
    );
    await app.generate(BASE_REQUEST);
    const controller = new AbortController();
    const pending = app.generate(BASE_REQUEST, { signal: controller.signal });
    await after(20);
    assert.equal(takes, 2);
    controller.abort(new Error('gave up'));
    await assert.rejects(pending, /gave up/);
  });
});
