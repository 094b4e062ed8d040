// Failure paths of the agent loop (issue 10, items 11-13): every failure keeps the transcript, an
// abort settles the run whatever a tool or executor does, tool time is bounded, tool-call ids stay
// unique in a run. Assertions use assert.equal(..., true) rather than assert.ok: a failing
// assert.ok makes Node 20 re-parse the whole file to word its message, which takes minutes here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  AgentError,
  type AgentErrorReason,
  BudgetExceededError,
  type Executor,
  InvalidResponseError,
  type Message,
  type ModelResponse,
  PolicyViolationError,
  ProviderError,
  TimeoutError,
  type ToolMessage,
  definePlugin,
  PluginManager,
  block,
  pipeline,
  runAgent,
  streamAgent,
  tool,
} from 'modelware';
import { plugins, usage } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { checkToolPairing } from '../../../lib/core/validate.js';
import { USER, add, deferred, summary } from '../../fixtures/agent.js';

const addCall = (id: string, a = 1) => ({ toolCalls: [{ id, name: 'add', input: { a, b: 1 } }] });
const TWO_TOOL_TURNS = ['user:What is 1 + 2?', 'assistant:call(t1)', 'tool(t1):2', 'assistant:call(t2)', 'tool(t2):3'];

describe('runAgent: every failure keeps the transcript', () => {
  const providerError = () =>
    new ProviderError({ provider: 'openai', status: 400, retryable: false, message: 'openai: 400 Bad Request' });
  const cases: {
    label: string;
    reason: AgentErrorReason;
    run: () => { model: Executor; throwOnToolError?: boolean };
    cause: (error: unknown) => boolean;
    transcript: string[];
    turnCount: number;
  }[] = [
    {
      label: 'a provider error after two tool turns',
      reason: 'model-call-failed',
      run: () => ({ model: scriptedExecutor([addCall('t1'), addCall('t2', 2), providerError()]) }),
      cause: (e) => ProviderError.isInstance(e) && e.status === 400,
      transcript: TWO_TOOL_TURNS,
      turnCount: 2,
    },
    {
      label: 'an invalid response',
      reason: 'invalid-response',
      run: () => {
        let n = 0;
        const script = scriptedExecutor([addCall('t1'), addCall('t2', 2)]);
        const model: Executor = {
          name: 'broken',
          generate: (request, options) =>
            ++n <= 2 ? script.generate(request, options) : Promise.resolve({ message: { role: 'bot' } } as never),
        };
        return { model };
      },
      cause: (e) => InvalidResponseError.isInstance(e),
      transcript: TWO_TOOL_TURNS,
      turnCount: 2,
    },
    {
      label: 'a throwing tool under throwOnToolError',
      reason: 'tool-call-failed',
      run: () => ({
        model: scriptedExecutor([addCall('t1'), addCall('t2', 2), { toolCalls: [{ id: 'f', name: 'flaky' }] }]),
        throwOnToolError: true,
      }),
      cause: (e) => e instanceof Error && e.message === 'disk full',
      // The failed turn is left out whole: its tool call has no result.
      transcript: TWO_TOOL_TURNS,
      turnCount: 2,
    },
    {
      label: 'a plugin block',
      reason: 'model-call-failed',
      run: () => {
        const manager = new PluginManager({
          plugins: [
            definePlugin({
              name: 'two-calls',
              hooks: { llm_input: (p) => (p.request.messages.length > 3 ? block('enough', 'STOP_1') : undefined) },
            }),
          ],
        });
        return {
          model: pipeline(scriptedExecutor([addCall('t1'), addCall('t2', 2), 'never'])).use(plugins(manager)),
        };
      },
      cause: (e) => PolicyViolationError.isInstance(e) && e.violation.code === 'STOP_1',
      // Turn 3's call was refused before the model.
      transcript: TWO_TOOL_TURNS,
      turnCount: 2,
    },
    {
      label: 'a budget',
      reason: 'model-call-failed',
      run: () => ({
        model: pipeline(
          scriptedExecutor([
            { ...addCall('t1'), usage: { inputTokens: 50, outputTokens: 50 } },
            { ...addCall('t2', 2), usage: { inputTokens: 50, outputTokens: 50 } },
            'never',
          ]),
        ).use(usage({ budget: { maxTokens: 200 } })),
      }),
      cause: (e) => BudgetExceededError.isInstance(e),
      transcript: TWO_TOOL_TURNS,
      turnCount: 2,
    },
  ];
  const flaky = tool({
    name: 'flaky',
    input: z.object({}),
    execute: () => {
      throw new Error('disk full');
    },
  });

  for (const { label, reason, run, cause, transcript, turnCount } of cases) {
    test(`runAgent: ${label} rejects with AgentError (${reason}) carrying the transcript`, async () => {
      const error = await runAgent({ modelId: 'test-model', messages: [USER], tools: [add, flaky], ...run() }).catch(
        (e) => e,
      );
      assert.equal(AgentError.isInstance(error), true);
      assert.equal(error.reason, reason);
      assert.equal(cause(error.cause), true);
      assert.deepEqual(summary(error.transcript), transcript);
      assert.equal(error.turnCount, turnCount);
      assert.equal(error.retryable, false);
      // The transcript is valid as it is: a new run can start from it.
      assert.equal(checkToolPairing(error.transcript), undefined);
    });

    test(`streamAgent: ${label} ends the stream and result with the same AgentError`, async () => {
      const stream = streamAgent({ modelId: 'test-model', messages: [USER], tools: [add, flaky], ...run() });
      const events: string[] = [];
      let thrown: unknown;
      try {
        for await (const event of stream) events.push(event.type);
      } catch (error) {
        thrown = error;
      }
      assert.equal(AgentError.isInstance(thrown), true);
      assert.equal((thrown as AgentError).reason, reason);
      assert.deepEqual(summary((thrown as AgentError).transcript), transcript);
      assert.equal(events.includes('done'), false);
      assert.equal(await stream.result.catch((e) => e), thrown);
    });
  }

  test("the error's message names the failing step and the cause's class, never the cause's content", async () => {
    const secret = 'CANARY-4f1d prompt text echoed by the provider';
    const model = scriptedExecutor([
      addCall('t1'),
      new ProviderError({ provider: 'openai', status: 400, retryable: false, message: secret }),
    ]);
    const error = await runAgent({ modelId: 'test-model', model, messages: [USER], tools: [add] }).catch((e) => e);
    assert.equal(
      error.message,
      "runAgent: the model call of turn 2 failed (ProviderError). The error's `cause` holds what was thrown and `transcript` the run up to the last completed step.",
    );
  });

  test('a run or turn layer failing ends with reason failed and the completed turns', async () => {
    const model = scriptedExecutor([addCall('t1'), 'done']);
    const error = await runAgent({
      modelId: 'test-model',
      model,
      messages: [USER],
      tools: [add],
      stopWhen: () => {
        throw new RangeError('bad stop condition');
      },
    }).catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'failed');
    assert.equal((error.cause as Error).name, 'RangeError');
    assert.deepEqual(summary(error.transcript), TWO_TOOL_TURNS.slice(0, 3));
  });
});

// A regression would hang rather than fail: each test gets a hard timeout far above its real cost
// (milliseconds), so it fails instead of holding the suite.
describe('runAgent: a tool or executor that ignores its signal cannot hang the run', { timeout: 20_000 }, () => {
  test('an abort settles the run while a tool ignores it; its late result is discarded', async () => {
    const controller = new AbortController();
    const started = deferred();
    const never = deferred<string>();
    const deaf = tool({
      name: 'deaf',
      input: z.object({}),
      execute: () => {
        started.resolve();
        return never.promise;
      },
    });
    const model = scriptedExecutor([addCall('t1'), { toolCalls: [{ id: 'd', name: 'deaf' }] }, 'never']);
    const run = runAgent({
      modelId: 'test-model',
      model,
      messages: [USER],
      tools: [add, deaf],
      signal: controller.signal,
    });
    await started.promise;
    controller.abort(new Error('user cancelled'));
    const error = await run.catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'aborted');
    assert.deepEqual(summary(error.transcript), TWO_TOOL_TURNS.slice(0, 3));
    // The late result changes nothing: the run is over and the model is not called again.
    never.resolve('late');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(model.calls.length, 2);
  });

  test('an abort settles the run while generate() ignores its signal', async () => {
    const controller = new AbortController();
    const called = deferred();
    const model: Executor = {
      name: 'deaf',
      generate: () => {
        called.resolve();
        return new Promise<ModelResponse>(() => {});
      },
    };
    const run = runAgent({ modelId: 'test-model', model, messages: [USER], signal: controller.signal });
    await called.promise;
    controller.abort(new Error('stop'));
    const error = await run.catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'aborted');
    assert.deepEqual(summary(error.transcript), ['user:What is 1 + 2?']);
  });

  test('an abort settles streamAgent while stream() ignores its signal, and the stream is closed', async () => {
    const controller = new AbortController();
    let closed = false;
    const model: Executor = {
      name: 'deaf',
      generate: () => new Promise<ModelResponse>(() => {}),
      stream: () => ({
        [Symbol.asyncIterator]() {
          let sent = false;
          return {
            next: () => {
              if (sent) return new Promise<IteratorResult<never>>(() => {});
              sent = true;
              return Promise.resolve({ done: false, value: { type: 'text-delta', text: 'hi' } as never });
            },
            return: () => {
              closed = true;
              return Promise.resolve({ done: true, value: undefined });
            },
          };
        },
      }),
    };
    const stream = streamAgent({ modelId: 'test-model', model, messages: [USER], signal: controller.signal });
    let thrown: unknown;
    try {
      for await (const event of stream) if (event.type === 'text-delta') controller.abort(new Error('stop'));
    } catch (error) {
      thrown = error;
    }
    assert.equal(AgentError.isInstance(thrown) && thrown.reason, 'aborted');
    assert.equal(closed, true);
  });

  test('breaking out of streamAgent settles it while a tool ignores the abort', async () => {
    const started = deferred();
    const deaf = tool({
      name: 'deaf',
      input: z.object({}),
      execute: () => {
        started.resolve();
        return new Promise(() => {});
      },
    });
    const stream = streamAgent({
      modelId: 'test-model',
      model: scriptedExecutor([{ toolCalls: [{ id: 'd', name: 'deaf' }] }]),
      messages: [USER],
      tools: [deaf],
    });
    for await (const event of stream) {
      if (event.type === 'tool-call') {
        await started.promise;
        break;
      }
    }
    const error = await stream.result.catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'aborted');
  });
});

/** Whether `promise` settles within `rounds` turns of the event loop (no wall clock involved). */
async function settlesWithin<T>(promise: Promise<T>, rounds = 50): Promise<{ settled: boolean; value?: T }> {
  let outcome: { settled: boolean; value?: T } = { settled: false };
  promise.then((value) => void (outcome = { settled: true, value }));
  for (let i = 0; i < rounds && !outcome.settled; i++) await new Promise((resolve) => setImmediate(resolve));
  return outcome;
}

describe('tool timeoutMs', () => {
  const slowTool = (timeoutMs?: number) => {
    const seen: { signal?: AbortSignal } = {};
    const slow = tool({
      name: 'slow',
      input: z.object({}),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      execute: (_input, { signal }) => {
        seen.signal = signal;
        // Ignores its signal: only the timeout can end it.
        return new Promise<string>((resolve) => setTimeout(() => resolve('late'), 1_000_000));
      },
    });
    return { slow, seen };
  };

  test('a tool past its timeoutMs gets its signal aborted and the model reads a timeout error result', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { slow, seen } = slowTool(5_000);
    const model = scriptedExecutor([{ toolCalls: [{ id: 's', name: 'slow' }] }, 'ok']);
    const run = runAgent({ modelId: 'test-model', model, messages: [USER], tools: [slow] });
    while (seen.signal === undefined) await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(4_999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(seen.signal.aborted, false);
    t.mock.timers.tick(1);
    const { settled, value: result } = await settlesWithin(run);
    assert.equal(settled, true);
    assert.equal(seen.signal.aborted, true);
    assert.equal(TimeoutError.isInstance(seen.signal.reason), true);
    assert.deepEqual(result?.transcript[2], {
      role: 'tool',
      toolCallId: 's',
      toolName: 'slow',
      content: 'Tool `slow` did not finish within 5000 ms and was stopped. Try again, or with a smaller request.',
      isError: true,
    });
  });

  test("the run's toolTimeoutMs applies to tools without their own; a tool's timeoutMs wins", async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { slow } = slowTool();
    const { slow: own } = slowTool(100);
    const ownTool = tool({ ...own, name: 'own' });
    const model = scriptedExecutor([
      {
        toolCalls: [
          { id: 'a', name: 'slow' },
          { id: 'b', name: 'own' },
        ],
      },
      'ok',
    ]);
    const results: string[] = [];
    const stream = streamAgent({
      modelId: 'test-model',
      model,
      messages: [USER],
      tools: [slow, ownTool],
      toolTimeoutMs: 2_000,
    });
    const iterator = stream[Symbol.asyncIterator]();
    for (;;) {
      const next = iterator.next();
      // Moves time on only while the run waits on a timer.
      let step: IteratorResult<unknown> | undefined;
      while (step === undefined) {
        step = await Promise.race([next, new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined)))]);
        if (step === undefined) t.mock.timers.tick(100);
      }
      if (step.done) break;
      const event = step.value as { type: string; result?: ToolMessage };
      if (event.type === 'tool-result') results.push(`${event.result?.toolCallId}:${event.result?.content}`);
    }
    assert.deepEqual(results, [
      'b:Tool `own` did not finish within 100 ms and was stopped. Try again, or with a smaller request.',
      'a:Tool `slow` did not finish within 2000 ms and was stopped. Try again, or with a smaller request.',
    ]);
  });

  test('under throwOnToolError a timeout rejects the run with the TimeoutError as cause', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { slow, seen } = slowTool(50);
    const model = scriptedExecutor([{ toolCalls: [{ id: 's', name: 'slow' }] }, 'ok']);
    const run = runAgent({
      modelId: 'test-model',
      model,
      messages: [USER],
      tools: [slow],
      throwOnToolError: true,
    }).catch((e) => e);
    while (seen.signal === undefined) await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(50);
    const { settled, value: error } = await settlesWithin(run);
    assert.equal(settled, true);
    assert.equal(AgentError.isInstance(error) && error.reason, 'tool-call-failed');
    assert.equal(TimeoutError.isInstance(error.cause) && error.cause.timeoutMs, 50);
  });

  const bad: [string, () => unknown, RegExp][] = [
    ['tool timeoutMs 0', () => tool({ name: 'x', input: z.object({}), execute() {}, timeoutMs: 0 }), /`timeoutMs`/],
    [
      'tool timeoutMs past 2^31-1',
      () => tool({ name: 'x', input: z.object({}), execute() {}, timeoutMs: 3e9 }),
      /`timeoutMs` to be a positive integer of at most 2147483647/,
    ],
    [
      'run toolTimeoutMs past 2^31-1',
      () =>
        streamAgent({
          modelId: 'test-model',
          model: scriptedExecutor(['x']),
          messages: [USER],
          toolTimeoutMs: 40 * 86_400_000,
        }),
      /`toolTimeoutMs` to be a positive integer of at most 2147483647/,
    ],
  ];
  for (const [label, make, says] of bad) {
    test(`rejects ${label} at once (a timer would fire after 1 ms)`, () => {
      assert.throws(make, { name: 'TypeError', message: says });
    });
  }
});

describe('runAgent: tool-call ids are unique in a run', () => {
  test('an id reused from an earlier turn gets a fresh id before the tool runs; the transcript stays valid', async () => {
    const seen: string[] = [];
    const echo = tool({
      name: 'echo',
      input: z.object({ n: z.number() }),
      execute: ({ n }, { toolCallId }) => {
        seen.push(toolCallId);
        return String(n);
      },
    });
    const call = (n: number) => ({ toolCalls: [{ id: 'call_0', name: 'echo', input: { n } }] });
    const model = scriptedExecutor([call(1), call(2), call(3), 'done']);
    const result = await runAgent({ modelId: 'test-model', model, messages: [USER], tools: [echo] });
    assert.deepEqual(seen, ['call_0', 'call_0_2', 'call_0_3']);
    assert.deepEqual(summary(result.transcript), [
      'user:What is 1 + 2?',
      'assistant:call(call_0)',
      'tool(call_0):1',
      'assistant:call(call_0_2)',
      'tool(call_0_2):2',
      'assistant:call(call_0_3)',
      'tool(call_0_3):3',
      'assistant:done',
    ]);
    // The turn records agree with the transcript; the pipeline accepts the transcript again.
    assert.equal(result.turns[1]?.response.message, result.transcript[3]);
    assert.equal(result.turns[1]?.toolCalls[0]?.toolCallId, 'call_0_2');
    await pipeline(scriptedExecutor(['again'])).generate({ model: 'm', messages: result.transcript as Message[] });
  });

  test('duplicates within one response are renamed before any tool runs, and streamAgent reports the final ids', async () => {
    const ran: string[] = [];
    const echo = tool({
      name: 'echo',
      input: z.object({ n: z.number() }),
      execute: ({ n }, { toolCallId }) => void ran.push(`${toolCallId}:${n}`),
    });
    const model = scriptedExecutor([
      {
        toolCalls: [
          { id: 'x', name: 'echo', input: { n: 1 } },
          { id: 'x', name: 'echo', input: { n: 2 } },
          { id: 'x_2', name: 'echo', input: { n: 3 } },
        ],
      },
      'done',
    ]);
    const reported: string[] = [];
    for await (const event of streamAgent({ modelId: 'test-model', model, messages: [USER], tools: [echo] })) {
      if (event.type === 'tool-call') reported.push(event.toolCall.toolCallId);
    }
    assert.deepEqual(reported, ['x', 'x_2', 'x_2_2']);
    assert.deepEqual(ran.sort(), ['x:1', 'x_2:2', 'x_2_2:3']);
  });

  test('property: whatever ids the model sends, every tool call is answered exactly once and the transcript is valid', async () => {
    const id = fc.constantFrom('a', 'b', 'a_2', 'call_0', 'b_2_2');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(id, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.constantFrom('a', 'b', 'a_2'), { maxLength: 2 }),
        async (turns, historyIds) => {
          // A history that already used some ids, answered.
          const history: Message[] = [USER];
          if (historyIds.length > 0) {
            const unique = [...new Set(historyIds)];
            history.push({
              role: 'assistant',
              content: unique.map((toolCallId) => ({ type: 'tool-call', toolCallId, toolName: 'add', input: {} })),
            });
            for (const toolCallId of unique) history.push({ role: 'tool', toolCallId, toolName: 'add', content: '0' });
          }
          const model = scriptedExecutor([
            ...turns.map((ids) => ({ toolCalls: ids.map((i) => ({ id: i, name: 'add', input: { a: 1, b: 1 } })) })),
            'done',
          ]);
          const result = await runAgent({ modelId: 'test-model', model, messages: history, tools: [add] });
          const calls = result.transcript.flatMap((m) =>
            m.role === 'assistant' && typeof m.content !== 'string'
              ? m.content.flatMap((p) => (p.type === 'tool-call' ? [p.toolCallId] : []))
              : [],
          );
          const answers = result.transcript.flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : []));
          assert.equal(new Set(calls).size, calls.length);
          assert.deepEqual([...answers].sort(), [...calls].sort());
          assert.equal(checkToolPairing(result.transcript), undefined);
          assert.equal(
            calls.length,
            historyIds.length === 0 ? turns.flat().length : new Set(historyIds).size + turns.flat().length,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
