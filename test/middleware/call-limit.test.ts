import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pipeline, runAgent } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { AgentError, PolicyViolationError } from '../../lib/core/errors.js';
import { type CallLimitOptions, callLimit } from '../../middleware/call-limit.js';
import { BASE_REQUEST } from '../fixtures/core.js';
import { USER, add, summary } from '../fixtures/agent.js';

/** A model that asks for `add` on every call, forever: only a limit ends its runs. */
const looping = () =>
  scriptedExecutor([{ toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] }], { whenDone: 'cycle' });

describe('callLimit: options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['missing maxCalls', {}, /expected `maxCalls` to be a positive integer, got `undefined`/],
    ['zero maxCalls', { maxCalls: 0 }, /got number `0`/],
    ['fractional maxCalls', { maxCalls: 1.5 }, /got number `1.5`/],
    ['bad per', { maxCalls: 1, per: 'turn' }, /expected `per` to be 'run' or 'pipeline', got string `turn`/],
    ['bad onLimit', { maxCalls: 1, onLimit: 'stop' }, /expected `onLimit` to be 'throw' or 'end', got string `stop`/],
    ['non-string message', { maxCalls: 1, message: 3 }, /expected `message` to be a string, got number/],
  ];
  for (const [label, options, message] of cases) {
    test(`rejects ${label}`, () => {
      assert.throws(() => callLimit(options as CallLimitOptions), { name: 'TypeError', message });
    });
  }
});

describe('callLimit: per run', () => {
  test("onLimit 'end' answers with a final assistant message, so the run ends with no tool calls", async () => {
    const model = looping();
    const app = pipeline(model).use(callLimit({ maxCalls: 2, onLimit: 'end' }));
    const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.equal(model.calls.length, 2);
    assert.equal(result.turns.length, 3);
    assert.equal(result.stopReason, 'no-tool-calls');
    assert.equal(result.text, 'Stopping here: the limit of 2 model calls was reached.');
    assert.deepEqual(summary(result.transcript), [
      'user:What is 1 + 2?',
      'assistant:call(call_1_1)',
      'tool(call_1_1):3',
      'assistant:call(call_2_1)',
      'tool(call_2_1):3',
      'assistant:Stopping here: the limit of 2 model calls was reached.',
    ]);
  });

  test("onLimit 'end' uses a custom message", async () => {
    const app = pipeline(looping()).use(callLimit({ maxCalls: 1, onLimit: 'end', message: 'Out of budget.' }));
    const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.equal(result.text, 'Out of budget.');
  });

  test("onLimit 'throw' (default) rejects the run with PolicyViolationError CALL_LIMIT", async () => {
    const model = looping();
    const app = pipeline(model).use(callLimit({ maxCalls: 3 }));
    await assert.rejects(
      runAgent({ modelId: 'test-model', model: app, messages: [USER], tools: [add] }),
      (failure: unknown) => {
        assert.equal(AgentError.isInstance(failure) && failure.reason, 'model-call-failed');
        const error = (failure as AgentError).cause;
        assert.equal(PolicyViolationError.isInstance(error), true);
        if (!PolicyViolationError.isInstance(error)) return false;
        assert.equal(error.violation.code, 'CALL_LIMIT');
        assert.equal(error.violation.plugin, 'callLimit');
        assert.deepEqual(error.violation.details, { maxCalls: 3, per: 'run', calls: 4 });
        assert.match(error.message, /model call 4 exceeds the limit of 3 per run \(run run_/);
        return true;
      },
    );
    assert.equal(model.calls.length, 3);
  });

  test('each run has its own count', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] }, 'done'], {
      whenDone: 'cycle',
    });
    const app = pipeline(model).use(callLimit({ maxCalls: 2 }));
    for (let i = 0; i < 3; i++) {
      const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
      assert.equal(result.text, 'done');
    }
    assert.equal(model.calls.length, 6);
  });

  test('calls outside a run are not limited', async () => {
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model).use(callLimit({ maxCalls: 1 }));
    for (let i = 0; i < 3; i++) await app.generate(BASE_REQUEST);
    assert.equal(model.calls.length, 3);
  });

  test('works as run-scoped middleware too', async () => {
    const model = looping();
    const result = await runAgent({
      model,
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
      middleware: [callLimit({ maxCalls: 1, onLimit: 'end', message: 'stop' })],
    });
    assert.equal(model.calls.length, 1);
    assert.equal(result.text, 'stop');
  });
});

describe('callLimit: per pipeline', () => {
  test('counts every call for the life of the middleware, across runs and plain calls', async () => {
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model).use(callLimit({ maxCalls: 3, per: 'pipeline' }));
    await app.generate(BASE_REQUEST);
    await runAgent({ model: app, modelId: 'test-model', messages: [USER] });
    await app.generate(BASE_REQUEST);
    await assert.rejects(app.generate(BASE_REQUEST), {
      name: 'PolicyViolationError',
      message: /model call 4 exceeds the limit of 3 for this pipeline\. Raise `maxCalls`/,
    });
    assert.equal(model.calls.length, 3);
  });

  test('concurrent calls cannot slip past the limit together', async () => {
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last', delayMs: 1 });
    const app = pipeline(model).use(callLimit({ maxCalls: 2, per: 'pipeline', onLimit: 'end', message: 'limit' }));
    const texts = (await Promise.all([1, 2, 3, 4].map(() => app.generate(BASE_REQUEST)))).map((r) => r.message.content);
    assert.deepEqual(texts, ['ok', 'ok', 'limit', 'limit']);
    assert.equal(model.calls.length, 2);
  });

  test("'end' in stream mode streams the final message", async () => {
    const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(
      callLimit({ maxCalls: 1, per: 'pipeline', onLimit: 'end', message: 'no more' }),
    );
    assert.equal(await app.stream(BASE_REQUEST).text(), 'ok');
    assert.equal(await app.stream(BASE_REQUEST).text(), 'no more');
  });
});
