import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MiddlewareError, type Plugin, definePlugin } from 'modelware';
import { PAYLOAD, deferred, managerWithEvents, probe } from '../../fixtures/plugins.js';

const tag = (name: string, log?: string[]): Plugin =>
  definePlugin({
    name,
    hooks: { test_probe: (p) => void (p.text += `+${name}`) },
    shutdown: () => void log?.push(`shutdown:${name}`),
  });

describe('temporary scopes', () => {
  test('`using` removes the scope plugins when the block exits', async () => {
    const { manager } = managerWithEvents();
    manager.register(tag('global'));
    {
      using _scope = manager.scope(tag('temp'));
      assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base+global+temp');
    }
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base+global');
  });

  test('`using` removes them even when the block throws', async () => {
    const { manager } = managerWithEvents();
    await assert.rejects(async () => {
      using _scope = manager.scope(tag('temp'));
      assert.deepEqual(manager.plugins, ['temp']);
      throw new Error('boom');
    }, /boom/);
    assert.deepEqual(manager.plugins, []);
  });

  test('`await using` waits for the plugins’ shutdown', async () => {
    const { manager } = managerWithEvents();
    const log: string[] = [];
    {
      await using _scope = manager.scope(tag('temp', log));
      log.push('inside');
    }
    log.push('after');
    assert.deepEqual(log, ['inside', 'shutdown:temp', 'after']);
  });

  test('close() in a finally block does the same without `using`', async () => {
    const { manager } = managerWithEvents();
    const log: string[] = [];
    const scope = manager.scope(tag('temp', log));
    try {
      assert.equal(scope.active, true);
      assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base+temp');
    } finally {
      await scope.close();
    }
    assert.equal(scope.active, false);
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base');
    assert.deepEqual(log, ['shutdown:temp']);
    await scope.close();
    assert.deepEqual(log, ['shutdown:temp'], 'closing twice shuts down once');
  });

  test('re-entering a scope is refused, whether it is open or closed', async () => {
    const { manager } = managerWithEvents();
    const scope = manager.createScope(tag('temp'));
    assert.deepEqual(manager.plugins, []);
    scope.enter();
    assert.throws(
      () => scope.enter(),
      (e: unknown) => MiddlewareError.isInstance(e) && /already entered/.test(e.message),
    );
    await scope.close();
    assert.throws(() => scope.enter(), /already entered and closed; scopes are single-use/);
    assert.deepEqual(manager.plugins, []);
  });

  test('scope plugins sort with the pipeline-wide ones by priority', async () => {
    const { manager } = managerWithEvents();
    manager.register(tag('g'));
    using _scope = manager.scope(
      definePlugin({ name: 'first', priority: 1, hooks: { test_probe: (p) => void (p.text += '+first') } }),
    );
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base+first+g');
  });
});

describe('run scopes', () => {
  test('two runs in flight at once never see each other’s plugins', async () => {
    const { manager } = managerWithEvents();
    manager.register(tag('global'));
    const runA = manager.runScope(tag('a'));
    const runB = manager.runScope(tag('b'));
    // Interleave: A starts and waits inside its handler while B runs start to finish.
    const gate = deferred();
    const slow = manager.runScope(
      definePlugin({
        name: 'slow',
        priority: 50,
        hooks: {
          test_probe: async (p) => {
            await gate.promise;
            p.text += '+slow';
          },
        },
      }),
    );
    const first = manager.dispatch(probe, PAYLOAD, { scope: slow });
    const a = await manager.dispatch(probe, PAYLOAD, { scope: runA });
    const b = await manager.dispatch(probe, PAYLOAD, { scope: runB });
    gate.resolve();
    assert.deepEqual([(await first).text, a.text, b.text], ['base+slow+global', 'base+global+a', 'base+global+b']);
    assert.deepEqual(manager.plugins, ['global'], 'run plugins never join the manager');
    assert.equal(manager.wants('test_probe', runA), true);
    await runA.close();
    assert.equal((await manager.dispatch(probe, PAYLOAD, { scope: runA })).text, 'base+global');
  });

  test('a run scope’s plugins are the only ones a manager without plugins dispatches to', async () => {
    const { manager } = managerWithEvents();
    const run = manager.runScope(tag('a'));
    assert.equal(manager.wants('test_probe'), false);
    assert.equal(manager.wants('test_probe', run), true);
    assert.equal((await manager.dispatch(probe, PAYLOAD, { scope: run })).text, 'base+a');
  });
});
