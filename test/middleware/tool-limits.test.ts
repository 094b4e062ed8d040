import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AgentError, type AnyTool, PolicyViolationError, TimeoutError, pipeline, runAgent, tool } from 'modelware';
import { toolCallLimit, toolRetry, toolTimeout } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { USER, add, deferred, summary } from '../fixtures/agent.js';

/** A model that calls `add` `n` times in its first turn, then answers. */
function caller(n: number, name = 'add') {
  const calls = Array.from({ length: n }, (_, i) => ({ name, input: { a: i, b: 1 } }));
  return scriptedExecutor([{ toolCalls: calls }, 'done']);
}

const run = (model: ReturnType<typeof caller>, tools: AnyTool[] = [add], signal?: AbortSignal) =>
  runAgent({ model, modelId: 'm', messages: [USER], tools, ...(signal ? { signal } : {}) });

describe('toolCallLimit()', () => {
  test('denies calls past `max` in a run; the model reads the refusal', async () => {
    const app = pipeline(caller(3)).use(toolCallLimit({ max: 2 }));
    const result = await run(app as never);
    assert.deepEqual(summary(result.transcript).slice(2, 5), [
      'tool(call_1_1):1',
      'tool(call_1_2):2',
      'tool(call_1_3):Tool call limit reached: this tool cannot be called again in this run. Answer with what you have.',
    ]);
    assert.equal(result.turns[0]?.toolResults[2]?.isError, true);
  });

  test('perTool limits one tool; other tools are not limited by it', async () => {
    const echo = tool({ name: 'echo', input: z.object({}).passthrough(), execute: () => 'echo' });
    const model = scriptedExecutor([
      { toolCalls: [{ name: 'add', input: { a: 1, b: 1 } }, { name: 'add', input: { a: 1, b: 2 } }, { name: 'echo' }] },
      'done',
    ]);
    const app = pipeline(model).use(toolCallLimit({ perTool: { add: 1 }, message: 'no more' }));
    const result = await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [add, echo] });
    assert.deepEqual(
      result.turns[0]?.toolResults.map((r) => r.content),
      ['2', 'no more', 'echo'],
    );
  });

  test("onLimit 'throw' fails the run with PolicyViolationError TOOL_CALL_LIMIT", async () => {
    const app = pipeline(caller(2)).use(toolCallLimit({ max: 1, onLimit: 'throw' }));
    const error = await run(app as never).catch((e: unknown) => e);
    assert.ok(AgentError.isInstance(error));
    const cause = (error as AgentError).cause;
    assert.ok(PolicyViolationError.isInstance(cause));
    assert.equal((cause as PolicyViolationError).violation.code, 'TOOL_CALL_LIMIT');
  });

  test('counts per run', async () => {
    const limit = toolCallLimit({ max: 1 });
    for (let i = 0; i < 2; i++) {
      const result = await run(pipeline(caller(1)).use(limit) as never);
      assert.equal(result.turns[0]?.toolResults[0]?.content, '1');
    }
  });

  test('rejects bad and unknown options', () => {
    assert.throws(() => toolCallLimit({} as never), /expected `max` to be set/);
    assert.throws(() => toolCallLimit({ max: 0 }), /expected `max` to be a positive integer/);
    assert.throws(() => toolCallLimit({ max: 1, perTool: { a: -1 } }), /`perTool.a`/);
    assert.throws(() => toolCallLimit({ mx: 1 } as never), /unknown option `mx` \(did you mean `max`\?\)/);
  });
});

describe('toolRetry()', () => {
  function flaky(failures: number) {
    const calls: unknown[] = [];
    const t = tool({
      name: 'add',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => {
        calls.push(a);
        if (calls.length <= failures) throw new Error(`boom ${calls.length}`);
        return a + b;
      },
    });
    return { t, calls };
  }

  test('re-runs a failing tool until it succeeds', async () => {
    const { t, calls } = flaky(2);
    const retries: number[] = [];
    const app = pipeline(caller(1)).use(
      toolRetry({ attempts: 3, backoff: () => 0, onRetry: ({ attempt }) => retries.push(attempt) }),
    );
    const result = await run(app as never, [t]);
    assert.equal(result.turns[0]?.toolResults[0]?.content, '1');
    assert.equal(calls.length, 3);
    assert.deepEqual(retries, [1, 2]);
  });

  test('after the last attempt the model reads the last failure', async () => {
    const { t, calls } = flaky(5);
    const app = pipeline(caller(1)).use(toolRetry({ attempts: 2, backoff: () => 0 }));
    const result = await run(app as never, [t]);
    assert.equal(result.turns[0]?.toolResults[0]?.content, 'Tool `add` failed: boom 2');
    assert.equal(calls.length, 2);
  });

  test('does not retry arguments the schema refused, or when retryOn says no', async () => {
    const { t, calls } = flaky(5);
    const model = scriptedExecutor([{ toolCalls: [{ name: 'add', input: { a: 'x' } }] }, 'done']);
    await run(pipeline(model).use(toolRetry({ backoff: () => 0 })) as never, [t]);
    assert.equal(calls.length, 0);
    await run(pipeline(caller(1)).use(toolRetry({ backoff: () => 0, retryOn: () => false })) as never, [t]);
    assert.equal(calls.length, 1);
  });

  test('waits the backoff between attempts (fake clock)', async (ctx) => {
    ctx.mock.timers.enable({ apis: ['setTimeout'] });
    const { t, calls } = flaky(1);
    const delays: number[] = [];
    const app = pipeline(caller(1)).use(
      toolRetry({ backoff: { initialDelayMs: 1000 }, onRetry: (i) => delays.push(i.delayMs) }),
    );
    const pending = run(app as never, [t]);
    while (delays.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(delays, [1000]);
    ctx.mock.timers.tick(999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls.length, 1);
    ctx.mock.timers.tick(1);
    const result = await pending;
    assert.equal(calls.length, 2);
    assert.equal(result.turns[0]?.toolResults[0]?.content, '1');
  });

  test('a cancelled run stops waiting', async () => {
    const { t } = flaky(5);
    const controller = new AbortController();
    const app = pipeline(caller(1)).use(
      toolRetry({ backoff: () => 1_000_000, onRetry: () => controller.abort(new Error('cancelled')) }),
    );
    const error = await run(app as never, [t], controller.signal).catch((e: unknown) => e);
    assert.ok(AgentError.isInstance(error));
    assert.equal((error as AgentError).reason, 'aborted');
  });

  test('rejects bad and unknown options', () => {
    assert.throws(() => toolRetry({ attempts: 0 }), /expected `attempts` to be a positive integer/);
    assert.throws(() => toolRetry({ backoff: { intialDelayMs: 1 } as never }), /did you mean `initialDelayMs`/);
    assert.throws(() => toolRetry({ retry: 1 } as never), /unknown option `retry`/);
  });
});

describe('toolTimeout()', () => {
  test('a tool that ignores its signal: the model reads a timeout after `ms` (fake clock)', async (ctx) => {
    ctx.mock.timers.enable({ apis: ['setTimeout'] });
    const started = deferred();
    let seen: AbortSignal | undefined;
    const hang = tool({
      name: 'add',
      input: z.object({}).passthrough(),
      execute: (_input, { signal }) => {
        seen = signal;
        started.resolve();
        return new Promise(() => {});
      },
    });
    const app = pipeline(caller(1)).use(toolTimeout({ ms: 5000 }));
    const pending = run(app as never, [hang]);
    await started.promise;
    ctx.mock.timers.tick(5000);
    const result = await pending;
    const message = result.turns[0]?.toolResults[0];
    assert.equal(message?.isError, true);
    assert.equal(
      message?.content,
      'The tool did not finish within 5000 ms and was stopped. Try again, or with a smaller request.',
    );
    assert.ok(TimeoutError.isInstance(seen?.reason));
  });

  test('inside toolRetry, each attempt is bounded and retried', async (ctx) => {
    ctx.mock.timers.enable({ apis: ['setTimeout'] });
    let calls = 0;
    const slowOnce = tool({
      name: 'add',
      input: z.object({}).passthrough(),
      execute: () => (++calls === 1 ? new Promise(() => {}) : 'ok'),
    });
    const app = pipeline(caller(1)).use(toolRetry({ backoff: () => 0 }), toolTimeout({ ms: 100 }));
    const pending = run(app as never, [slowOnce]);
    while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
    ctx.mock.timers.tick(100);
    const result = await pending;
    assert.equal(result.turns[0]?.toolResults[0]?.content, 'ok');
    assert.equal(calls, 2);
  });

  test('a fast tool is not affected and leaves no timer', async () => {
    const app = pipeline(caller(1)).use(toolTimeout({ ms: 1_000_000 }));
    const result = await run(app as never);
    assert.equal(result.turns[0]?.toolResults[0]?.content, '1');
  });

  test('a cancelled run is not turned into a timeout result', async () => {
    const controller = new AbortController();
    const hang = tool({
      name: 'add',
      input: z.object({}).passthrough(),
      execute: () => {
        controller.abort(new Error('cancelled'));
        return new Promise(() => {});
      },
    });
    const app = pipeline(caller(1)).use(toolTimeout({ ms: 1_000_000 }));
    const error = await run(app as never, [hang], controller.signal).catch((e: unknown) => e);
    assert.equal((error as AgentError).reason, 'aborted');
  });

  test('rejects bad and unknown options', () => {
    assert.throws(() => toolTimeout({ ms: -1 }), /expected `ms` to be a positive number of ms/);
    assert.throws(() => toolTimeout({ ms: 1, timeoutMs: 2 } as never), /unknown option `timeoutMs`/);
  });
});
