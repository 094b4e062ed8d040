import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ModelEvent, type ModelEventType, type Pipeline, defineMiddleware, pipeline } from 'modelware';
import { retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, flush, providerError } from '../../fixtures/core.js';

const TYPES: readonly ModelEventType[] = ['requested', 'dispatched', 'chunk', 'completed', 'failed'];

function record(app: Pipeline): ModelEvent[] {
  const events: ModelEvent[] = [];
  for (const type of TYPES) app.on(type, (event) => events.push(event));
  return events;
}

describe('events: lifecycle', () => {
  test('generate: requested → dispatched → completed, one call id', async () => {
    const app = pipeline(scriptedExecutor(['x']));
    const events = record(app);
    const response = await app.generate(BASE_REQUEST);
    assert.deepEqual(
      events.map((e) => e.type),
      ['requested', 'dispatched', 'completed'],
    );
    assert.equal(new Set(events.map((e) => e.callId)).size, 1);
    assert.ok(events.every((e) => e.mode === 'generate' && e.parentId === undefined));
    const completed = events[2] as Extract<ModelEvent, { type: 'completed' }>;
    assert.equal(completed.response, response);
    assert.equal(typeof completed.durationMs, 'number');
  });

  test('stream: requested → dispatched → one chunk per part → completed with the assembled response', async () => {
    const app = pipeline(scriptedExecutor(['abcdef'], { chunkSize: 3 }));
    const events = record(app);
    const stream = app.stream(BASE_REQUEST);
    await stream.text();
    assert.deepEqual(
      events.map((e) => (e.type === 'chunk' ? `chunk:${e.part.type}` : e.type)),
      ['requested', 'dispatched', 'chunk:text-delta', 'chunk:text-delta', 'chunk:finish', 'completed'],
    );
    const completed = events.at(-1) as Extract<ModelEvent, { type: 'completed' }>;
    assert.deepEqual(completed.response, await stream.response);
  });

  test('a retried call dispatches once per attempt, numbered', async () => {
    const app = pipeline(scriptedExecutor([providerError('503'), 'ok'])).use(retry({ initialDelayMs: 0 }));
    const events = record(app);
    await app.generate(BASE_REQUEST);
    assert.deepEqual(
      events.map((e) => (e.type === 'dispatched' ? `dispatched#${e.attempt}` : e.type)),
      ['requested', 'dispatched#1', 'dispatched#2', 'completed'],
    );
  });

  test('a failing call: requested → dispatched → failed with the error', async () => {
    const boom = new Error('boom');
    const app = pipeline(scriptedExecutor([boom]));
    const events = record(app);
    await assert.rejects(app.generate(BASE_REQUEST), (error) => error === boom);
    assert.deepEqual(
      events.map((e) => e.type),
      ['requested', 'dispatched', 'failed'],
    );
    assert.equal((events[2] as Extract<ModelEvent, { type: 'failed' }>).error, boom);
  });

  test('a short-circuit is requested → completed, never dispatched', async () => {
    const app = pipeline(scriptedExecutor([])).use((ctx) => {
      ctx.response = { message: { role: 'assistant', content: 'cached' }, finishReason: 'stop' };
    });
    const events = record(app);
    await app.generate(BASE_REQUEST);
    assert.deepEqual(
      events.map((e) => e.type),
      ['requested', 'completed'],
    );
  });

  test('a consumer that stops early ends the call with failed (AbortError), not completed', async () => {
    const app = pipeline(scriptedExecutor(['abcdef'], { chunkSize: 1 }));
    const events = record(app);
    for await (const _ of app.stream(BASE_REQUEST)) break;
    const last = events.at(-1);
    assert.equal(last?.type, 'failed');
    assert.equal(((last as Extract<ModelEvent, { type: 'failed' }>).error as Error).name, 'AbortError');
    assert.equal(events.filter((e) => e.type === 'failed' || e.type === 'completed').length, 1);
  });

  test('requested carries the caller request; dispatched the request after the layers', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(
      defineMiddleware({
        name: 'tag',
        call(ctx, next) {
          ctx.update((draft) => void (draft.metadata = { tag: 1 }));
          return next();
        },
      }),
    );
    const events = record(app);
    await app.generate(BASE_REQUEST);
    const requested = events[0] as Extract<ModelEvent, { type: 'requested' }>;
    const dispatched = events[1] as Extract<ModelEvent, { type: 'dispatched' }>;
    // The library's entry copy of the caller's request: equal, and sharing its message objects.
    assert.deepEqual(requested.request, BASE_REQUEST);
    assert.equal(requested.request.messages[0], BASE_REQUEST.messages[0]);
    assert.deepEqual(dispatched.request.metadata, { tag: 1 });
  });

  test('a nested pipeline’s events name the outer call as parent', async () => {
    const inner = pipeline(scriptedExecutor(['x']));
    const outer = pipeline(inner);
    const innerEvents = record(inner);
    const outerEvents = record(outer);
    await outer.generate(BASE_REQUEST);
    const outerId = outerEvents[0]?.callId;
    assert.ok(outerId);
    assert.ok(innerEvents.length > 0);
    assert.ok(innerEvents.every((e) => e.parentId === outerId));
  });
});

describe('events: listeners', () => {
  test('the returned function unsubscribes, and calling it twice is harmless', async () => {
    const app = pipeline(scriptedExecutor(['x', 'y']));
    const seen: string[] = [];
    const off = app.on('completed', (e) => seen.push(e.callId));
    await app.generate(BASE_REQUEST);
    off();
    off();
    await app.generate(BASE_REQUEST);
    assert.equal(seen.length, 1);
  });

  test('unsubscribing one listener keeps the others', async () => {
    const app = pipeline(scriptedExecutor(['x']));
    const seen: string[] = [];
    const offA = app.on('completed', () => seen.push('a'));
    app.on('completed', () => seen.push('b'));
    offA();
    await app.generate(BASE_REQUEST);
    assert.deepEqual(seen, ['b']);
  });

  test('a listener that throws is reported as a process warning and does not break the call', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const app = pipeline(scriptedExecutor(['fine']));
      app.on('completed', () => {
        throw new Error('listener bug');
      });
      const response = await app.generate(BASE_REQUEST);
      assert.equal(response.message.content, 'fine');
      await flush();
    } finally {
      process.off('warning', onWarning);
    }
    const warning = warnings.find((w) => (w as { code?: string }).code === 'MODELWARE_LISTENER_ERROR');
    assert.ok(warning);
    assert.match(warning.message, /'completed' event listener threw: Error: listener bug/);
  });

  test('on() with a non-function is a TypeError', () => {
    const app = pipeline(scriptedExecutor([]));
    assert.throws(() => app.on('completed', 'log' as never), {
      name: 'TypeError',
      message: "on('completed'): expected a listener function, got string `log`.",
    });
  });

  test('without listeners or layers, the executor gets the caller’s options as they are', async () => {
    const model = scriptedExecutor(['x']);
    const signal = new AbortController().signal;
    await pipeline(model).generate(BASE_REQUEST, { signal });
    assert.equal(model.calls[0]?.signal, signal);
    assert.equal(model.calls[0]?.parentId, undefined);
  });

  test('with a listener the call runs through a context, so the executor sees its id as parentId', async () => {
    const model = scriptedExecutor(['x']);
    const app = pipeline(model);
    const ids: string[] = [];
    app.on('requested', (e) => ids.push(e.callId));
    await app.generate(BASE_REQUEST);
    assert.equal(model.calls[0]?.parentId, ids[0]);
  });
});
