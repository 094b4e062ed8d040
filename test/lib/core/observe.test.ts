import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CallObserver, defineMiddleware, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

const REQUEST = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };

function pass(name: string) {
  return defineMiddleware({ name, call: (_ctx, next) => next() });
}

function watcher(log: string[], observer: CallObserver = { onLayer: (e) => log.push(`${e.layer}:${e.phase}`) }) {
  return defineMiddleware({
    name: 'watcher',
    async call(ctx, next) {
      assert.equal(ctx.observed, false, 'nobody observes before');
      const stop = ctx.observe(observer);
      try {
        await next();
      } finally {
        stop();
      }
      assert.equal(ctx.observed, false, 'stopped');
    },
  });
}

describe('ctx.observe', () => {
  test('reports only the layers inside the observing one, in onion order, with the dispatch', async () => {
    const log: string[] = [];
    const observer: CallObserver = {
      onLayer: (e) => log.push(`${e.layer}:${e.phase}`),
      onDispatch: (e) => log.push(`dispatch:${e.phase}#${e.dispatch}`),
    };
    await pipeline(scriptedExecutor(['ok']))
      .use(pass('outer'), watcher(log, observer), pass('inner'))
      .generate(REQUEST);
    assert.deepEqual(log, [
      'inner:enter',
      'inner:next',
      'dispatch:start#1',
      'dispatch:end#1',
      'inner:back',
      'inner:exit',
    ]);
  });

  test('an observer that throws does not change the call', async () => {
    const response = await pipeline(scriptedExecutor(['ok']))
      .use(
        watcher([], {
          onLayer() {
            throw new Error('observer bug');
          },
          onDispatch() {
            throw new Error('observer bug');
          },
        }),
        pass('inner'),
      )
      .generate(REQUEST);
    assert.equal(response.message.content, 'ok');
  });

  test('updates come with the request before and after, sharing what the layer left alone', async () => {
    const seen: [string, boolean][] = [];
    const observer: CallObserver = {
      onUpdate(e) {
        if (e.target === 'request') seen.push([e.layer, e.before.messages[0] === e.after.messages[0]]);
      },
    };
    const edit = defineMiddleware({
      name: 'edit',
      async call(ctx, next) {
        ctx.update((d) => void d.messages.push({ role: 'user', content: 'more' }));
        await next();
      },
    });
    await pipeline(scriptedExecutor(['ok']))
      .use(watcher([], observer), edit)
      .generate(REQUEST);
    assert.deepEqual(seen, [['edit', true]]);
  });

  test('rejects a missing observer, naming the layer', async () => {
    const bad = defineMiddleware({
      name: 'bad',
      async call(ctx, next) {
        ctx.observe(undefined as never);
        await next();
      },
    });
    await assert.rejects(
      pipeline(scriptedExecutor(['ok']))
        .use(bad)
        .generate(REQUEST),
      /`bad` called ctx.observe\(\) without an observer/,
    );
  });
});
