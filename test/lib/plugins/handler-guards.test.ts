import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { PluginError, definePlugin } from 'modelware';
import { PluginBreaker } from '../../../lib/plugins/handler-guards.js';
import { memoryStore } from '../../../lib/stores/memory.js';
import { PAYLOAD, describeEvent, managerWithEvents, manualClock, probe, untilAborted } from '../../fixtures/plugins.js';

describe('PluginBreaker', () => {
  const OPTIONS = { failures: 2, windowMs: 100, cooldownMs: 50 };

  test('closed → open after N failures in the window → half-open after the cool-down → closed on success', () => {
    const clock = manualClock();
    const states: string[] = [];
    const breaker = new PluginBreaker(OPTIONS, clock.now, (s) => states.push(s));
    assert.equal(breaker.allow(), true);
    breaker.failure();
    clock.advance(10);
    breaker.failure();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.allow(), false);
    clock.advance(49);
    assert.equal(breaker.allow(), false);
    clock.advance(1);
    assert.equal(breaker.allow(), true, 'one probe after the cool-down');
    assert.equal(breaker.state, 'half-open');
    assert.equal(breaker.allow(), false, 'only one probe at a time');
    breaker.success();
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
  });

  test('a failed probe opens it again for another cool-down', () => {
    const clock = manualClock();
    const breaker = new PluginBreaker(OPTIONS, clock.now, () => {});
    breaker.failure();
    breaker.failure();
    clock.advance(50);
    assert.equal(breaker.allow(), true);
    breaker.failure();
    assert.equal(breaker.state, 'open');
    clock.advance(49);
    assert.equal(breaker.allow(), false);
    clock.advance(1);
    assert.equal(breaker.allow(), true);
  });

  test('failures further apart than the window do not open it', () => {
    const clock = manualClock();
    const breaker = new PluginBreaker(OPTIONS, clock.now, () => {});
    breaker.failure();
    clock.advance(101);
    breaker.failure();
    assert.equal(breaker.state, 'closed');
    clock.advance(50);
    breaker.failure();
    assert.equal(breaker.state, 'open');
  });

  test('reset() closes it and forgets past failures', () => {
    const clock = manualClock();
    const breaker = new PluginBreaker(OPTIONS, clock.now, () => {});
    breaker.failure();
    breaker.failure();
    breaker.reset();
    assert.equal(breaker.state, 'closed');
    breaker.failure();
    assert.equal(breaker.state, 'closed');
  });

  test('release() gives back a cancelled probe', () => {
    const clock = manualClock();
    const breaker = new PluginBreaker(OPTIONS, clock.now, () => {});
    breaker.failure();
    breaker.failure();
    clock.advance(50);
    assert.equal(breaker.allow(), true);
    breaker.release();
    assert.equal(breaker.allow(), true);
  });
});

describe('breaker in a manager', () => {
  test('under onError: ignore an open breaker skips the plugin until the half-open probe', async () => {
    const clock = manualClock();
    const { manager, events } = managerWithEvents({ now: clock.now });
    let fail = true;
    let calls = 0;
    manager.register(
      definePlugin({
        name: 'flaky',
        onError: 'ignore',
        breaker: { failures: 2, windowMs: 1_000, cooldownMs: 500 },
        hooks: {
          test_probe: (p) => {
            calls++;
            if (fail) throw new Error('down');
            p.text = 'up';
          },
        },
      }),
    );
    await manager.dispatch(probe, PAYLOAD);
    await manager.dispatch(probe, PAYLOAD);
    assert.equal(manager.status('flaky')?.breaker, 'open');
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base');
    assert.equal(calls, 2, 'not called while open');
    clock.advance(500);
    fail = false;
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'up');
    assert.equal(calls, 3);
    assert.deepEqual(events.map(describeEvent), [
      'error:flaky:threw:ignore',
      'error:flaky:threw:ignore',
      'breaker:flaky:open',
      'breaker:flaky:half-open',
      'breaker:flaky:closed',
    ]);
  });

  test('under onError: fail an open breaker fails fast without calling the handler', async () => {
    const clock = manualClock();
    const { manager } = managerWithEvents({ now: clock.now });
    let calls = 0;
    manager.register(
      definePlugin({
        name: 'guard',
        breaker: { failures: 1, windowMs: 1_000, cooldownMs: 500 },
        hooks: {
          test_probe: () => {
            calls++;
            throw new Error('down');
          },
        },
      }),
    );
    await assert.rejects(
      manager.dispatch(probe, PAYLOAD),
      (e: unknown) => PluginError.isInstance(e) && e.failure === 'threw',
    );
    await assert.rejects(manager.dispatch(probe, PAYLOAD), (e: unknown) => {
      assert.ok(PluginError.isInstance(e));
      assert.equal(e.failure, 'circuit-open');
      assert.match(e.message, /manager\.reset\('guard'\)/);
      return true;
    });
    assert.equal(calls, 1);
    manager.reset('guard');
    await assert.rejects(
      manager.dispatch(probe, PAYLOAD),
      (e: unknown) => PluginError.isInstance(e) && e.failure === 'threw',
    );
    assert.equal(calls, 2);
  });

  test('timeouts count as failures (fake timers)', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const clock = manualClock();
      const { manager } = managerWithEvents({ now: clock.now });
      manager.register(
        definePlugin({
          name: 'slow',
          onError: 'ignore',
          timeoutMs: 1_000,
          breaker: { failures: 1, windowMs: 10_000, cooldownMs: 10_000 },
          hooks: { test_probe: (_p, ctx) => untilAborted(ctx.signal) },
        }),
      );
      const pending = manager.dispatch(probe, PAYLOAD);
      // Let the dispatch reach the handler and arm its timer before time moves.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      mock.timers.tick(1_000);
      assert.equal((await pending).text, 'base');
      assert.equal(manager.status('slow')?.breaker, 'open');
    } finally {
      mock.timers.reset();
    }
  });
});

describe('breakers shared through a store (PluginManager({ breakerStore }))', () => {
  test('failures on one worker open the breaker on another from its next dispatch; a probe closes it for both', async () => {
    const clock = manualClock();
    const store = memoryStore();
    const worker = (fail: { on: boolean }) => {
      const { manager } = managerWithEvents({ now: clock.now, breakerStore: store });
      const seen = { calls: 0 };
      manager.register(
        definePlugin({
          name: 'flaky',
          onError: 'ignore',
          breaker: { failures: 2, windowMs: 1_000, cooldownMs: 500 },
          hooks: {
            test_probe: () => {
              seen.calls++;
              if (fail.on) throw new Error('down');
            },
          },
        }),
      );
      return { manager, seen };
    };
    const failing = { on: true };
    const one = worker(failing);
    const two = worker({ on: false });
    await one.manager.dispatch(probe, PAYLOAD);
    await one.manager.dispatch(probe, PAYLOAD);
    await one.manager.drain();
    assert.equal(one.manager.status('flaky')?.breaker, 'open');
    // The other worker learns it on its next dispatch (read in the background), and skips from then on.
    await two.manager.dispatch(probe, PAYLOAD);
    await two.manager.drain();
    assert.equal(two.manager.status('flaky')?.breaker, 'open');
    await two.manager.dispatch(probe, PAYLOAD);
    assert.equal(two.seen.calls, 1);
    // After the cool-down the first worker's probe succeeds: the mark is gone, and the other closes too.
    clock.advance(500);
    failing.on = false;
    await one.manager.dispatch(probe, PAYLOAD);
    await one.manager.drain();
    assert.equal(one.manager.status('flaky')?.breaker, 'closed');
    assert.equal(await store.get('plugin-breaker:flaky:open'), undefined);
  });
});
