import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AgentError,
  InvalidRequestError,
  type Message,
  MiddlewareError,
  defineMiddleware,
  hasToolCall,
  pipeline,
  runAgent,
  stepCountIs,
  streamAgent,
  tool,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { USER, add, deferred, last, summary } from '../../fixtures/agent.js';

const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens });

describe('runAgent: the loop', () => {
  test('runs tool calls between model calls and returns transcript, response, turns, usage and stop reason', async () => {
    const model = scriptedExecutor([
      { toolCalls: [{ id: 'a1', name: 'add', input: { a: 1, b: 2 } }], usage: usage(10, 5) },
      { text: 'It is 3.', usage: usage(20, 3) },
    ]);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.deepEqual(summary(result.transcript), [
      'user:What is 1 + 2?',
      'assistant:call(a1)',
      'tool(a1):3',
      'assistant:It is 3.',
    ]);
    assert.equal(result.text, 'It is 3.');
    assert.equal(result.response.message.content, 'It is 3.');
    assert.equal(result.turns.length, 2);
    assert.deepEqual(
      result.turns.map((t) => [t.turn, t.toolCalls.length, t.toolResults.length]),
      [
        [1, 1, 1],
        [2, 0, 0],
      ],
    );
    assert.deepEqual(result.usage, { inputTokens: 30, outputTokens: 8, totalTokens: 38 });
    assert.equal(result.stopReason, 'no-tool-calls');
    assert.match(result.runId, /^run_/);
  });

  test('each request is built from the transcript so far and carries the tool specs', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ id: 'a1', name: 'add', input: { a: 1, b: 2 } }] }, 'done']);
    const result = await runAgent({ model, messages: [USER], tools: [add], modelId: 'gpt-test' });
    assert.deepEqual(
      model.calls.map((c) => summary(c.request.messages)),
      [summary(result.transcript.slice(0, 1)), summary(result.transcript.slice(0, 3))],
    );
    const first = model.calls[0]?.request;
    assert.equal(first?.model, 'gpt-test');
    assert.deepEqual(first?.tools, [add.spec]);
  });

  test("a pipeline's layers run on every model call, and ctx.run names the run and the turn", async () => {
    const seen: string[] = [];
    const model = scriptedExecutor([
      { toolCalls: [{ name: 'add', input: { a: 1, b: 1 } }] },
      { toolCalls: [{ name: 'add', input: { a: 2, b: 2 } }] },
      'done',
    ]);
    const app = pipeline(model).use(async function spy(ctx, next) {
      seen.push(
        `${ctx.run?.runId === undefined ? 'no run' : 'run'}:turn ${ctx.run?.turn}:${ctx.request.messages.length}`,
      );
      await next();
    });
    await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.deepEqual(seen, ['run:turn 1:1', 'run:turn 2:3', 'run:turn 3:5']);
  });

  test("the caller's messages array is copied, never changed", async () => {
    const messages: Message[] = [USER];
    const result = await runAgent({ model: scriptedExecutor(['hi']), modelId: 'test-model', messages });
    assert.deepEqual(messages, [USER]);
    assert.equal(result.transcript[0], USER);
    assert.equal(result.transcript.length, 2);
  });
});

describe('runAgent: transcript vs view', () => {
  test('ctx.update changes only what the call sends; ctx.run.updateTranscript persists', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ id: 'a1', name: 'add', input: { a: 1, b: 2 } }] }, 'done']);
    const app = pipeline(model).use(async function edits(ctx, next) {
      const turn = ctx.run?.turn;
      ctx.update((draft) => void draft.messages.push({ role: 'user', content: `view-only ${turn}` }));
      if (turn === 1) ctx.run?.updateTranscript((draft) => void draft.push({ role: 'user', content: 'persisted' }));
      await next();
    });
    const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.deepEqual(summary(model.calls[0]?.request.messages ?? []), ['user:What is 1 + 2?', 'user:view-only 1']);
    // Turn 2 sends the persisted edit, but not turn 1's view-only message.
    assert.deepEqual(summary(model.calls[1]?.request.messages ?? []), [
      'user:What is 1 + 2?',
      'user:persisted',
      'assistant:call(a1)',
      'tool(a1):3',
      'user:view-only 2',
    ]);
    assert.deepEqual(summary(result.transcript), [
      'user:What is 1 + 2?',
      'user:persisted',
      'assistant:call(a1)',
      'tool(a1):3',
      'assistant:done',
    ]);
  });

  test('an invalid updateTranscript throws InvalidRequestError naming the layer and keeps the transcript', async () => {
    let caught: unknown;
    let after: readonly unknown[] = [];
    const app = pipeline(scriptedExecutor(['done'])).use(async function orphan(ctx, next) {
      const before = ctx.run?.transcript;
      try {
        ctx.run?.updateTranscript((draft) => {
          draft.push({ role: 'tool', toolCallId: 'nope', toolName: 'add', content: 'x' });
        });
      } catch (error) {
        caught = error;
      }
      after = ctx.run?.transcript ?? [];
      assert.equal(after, before);
      await next();
    });
    const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER] });
    assert.ok(InvalidRequestError.isInstance(caught));
    assert.equal(caught.layer, 'orphan');
    assert.match(caught.message, /`orphan` produced an invalid transcript: messages\[1\]\.toolCallId/);
    assert.equal(result.transcript.length, 2);
  });
});

describe('runAgent: stop conditions', () => {
  const looping = () =>
    scriptedExecutor([{ toolCalls: [{ name: 'add', input: { a: 1, b: 1 } }] }], { whenDone: 'repeat-last' });

  test('stepCountIs(n) stops after n turns with stop reason stop-when', async () => {
    const result = await runAgent({
      model: looping(),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
      stopWhen: stepCountIs(3),
    });
    assert.equal(result.turns.length, 3);
    assert.equal(result.stopReason, 'stop-when');
    assert.equal(last(result.transcript).role, 'tool');
  });

  test('hasToolCall(name) stops after the turn that called it, its results included', async () => {
    const finish = tool({ name: 'finish', input: z.object({}), execute: () => 'bye' });
    const model = scriptedExecutor([
      { toolCalls: [{ name: 'add', input: { a: 1, b: 1 } }] },
      { toolCalls: [{ id: 'f', name: 'finish' }] },
      'never reached',
    ]);
    const result = await runAgent({
      model,
      modelId: 'test-model',
      messages: [USER],
      tools: [add, finish],
      stopWhen: hasToolCall('finish'),
    });
    assert.equal(result.turns.length, 2);
    assert.deepEqual(summary([last(result.transcript)]), ['tool(f):bye']);
  });

  test('stopWhen takes an array: any condition stops, custom predicates see the turns', async () => {
    const seen: number[] = [];
    const custom = ({ turns }: { turns: readonly unknown[] }) => {
      seen.push(turns.length);
      return turns.length === 2;
    };
    const result = await runAgent({
      model: looping(),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
      stopWhen: [stepCountIs(5), custom],
    });
    assert.equal(result.turns.length, 2);
    assert.deepEqual(seen, [1, 2]);
  });

  test('maxTurns throws AgentError (max-turns) carrying the transcript by default', async () => {
    const error = await runAgent({
      model: looping(),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
      maxTurns: 2,
    }).catch((e) => e);
    assert.ok(AgentError.isInstance(error));
    assert.equal(error.reason, 'max-turns');
    assert.equal(error.turnCount, 2);
    assert.equal(error.transcript.length, 5);
    assert.match(error.message, /reached `maxTurns` \(2\)/);
  });

  test("maxTurns with onMaxTurns: 'stop' resolves with stop reason max-turns", async () => {
    const result = await runAgent({
      model: looping(),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
      maxTurns: 2,
      onMaxTurns: 'stop',
    });
    assert.equal(result.stopReason, 'max-turns');
    assert.equal(result.turns.length, 2);
  });

  test('the model answering without a tool call ends the run even when stopWhen never holds', async () => {
    const result = await runAgent({
      model: scriptedExecutor(['hi']),
      modelId: 'test-model',
      messages: [USER],
      stopWhen: () => false,
    });
    assert.equal(result.stopReason, 'no-tool-calls');
  });
});

describe('runAgent: cancellation', () => {
  test('aborting mid-tool aborts the tool and rejects with the transcript up to the last completed step', async () => {
    const controller = new AbortController();
    const started = deferred();
    let toolSawAbort = false;
    const slow = tool({
      name: 'slow',
      input: z.object({}),
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) => {
          started.resolve();
          signal.addEventListener('abort', () => {
            toolSawAbort = signal.aborted;
            reject(signal.reason);
          });
        }),
    });
    const model = scriptedExecutor([
      { toolCalls: [{ id: 'a1', name: 'add', input: { a: 1, b: 2 } }] },
      { toolCalls: [{ id: 's1', name: 'slow' }] },
    ]);
    const app = pipeline(model).use(async function persist(ctx, next) {
      if (ctx.run?.turn === 2) ctx.run.updateTranscript((d) => void d.push({ role: 'user', content: 'kept' }));
      await next();
    });
    const run = runAgent({
      model: app,
      modelId: 'test-model',
      messages: [USER],
      tools: [add, slow],
      signal: controller.signal,
    });
    await started.promise;
    controller.abort(new Error('user cancelled'));
    const error = await run.catch((e) => e);
    assert.equal(toolSawAbort, true);
    assert.ok(AgentError.isInstance(error));
    assert.equal(error.reason, 'aborted');
    assert.equal((error.cause as Error).message, 'user cancelled');
    assert.equal(error.turnCount, 1);
    // Turn 1 complete, the persisted edit of turn 2 kept, turn 2's unanswered tool call left out.
    assert.deepEqual(summary(error.transcript), [
      'user:What is 1 + 2?',
      'assistant:call(a1)',
      'tool(a1):3',
      'user:kept',
    ]);
  });

  test('aborting mid-call cancels the model call through its signal', async () => {
    const controller = new AbortController();
    const model = scriptedExecutor(['never'], { delayMs: 60_000 });
    const run = runAgent({ model, modelId: 'test-model', messages: [USER], signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('stop'));
    const error = await run.catch((e) => e);
    assert.ok(AgentError.isInstance(error));
    assert.equal(model.calls[0]?.signal?.aborted, true);
    assert.deepEqual(summary(error.transcript), ['user:What is 1 + 2?']);
  });

  test('an already aborted signal rejects before any model call', async () => {
    const model = scriptedExecutor(['never']);
    const error = await runAgent({ model, modelId: 'test-model', messages: [USER], signal: AbortSignal.abort() }).catch(
      (e) => e,
    );
    assert.ok(AgentError.isInstance(error));
    assert.equal(model.calls.length, 0);
  });
});

describe('runAgent: run and turn layers', () => {
  test('run, turn, call and tool layers nest in an exact order; run-scoped middleware goes outside', async () => {
    const log: string[] = [];
    const layer = (name: string) =>
      defineMiddleware({
        name,
        async run(ctx, next) {
          log.push(`${name}.run:in`);
          await next();
          log.push(`${name}.run:out:${ctx.result?.stopReason}`);
        },
        async turn(ctx, next) {
          log.push(`${name}.turn${ctx.turn}:in`);
          await next();
          log.push(`${name}.turn${ctx.turn}:out:${ctx.record?.toolResults.length}`);
        },
        async call(_ctx, next) {
          log.push(`${name}.call:in`);
          await next();
          log.push(`${name}.call:out`);
        },
        async tool(ctx, next) {
          log.push(`${name}.tool:in`);
          await next();
          log.push(`${name}.tool:out:${ctx.result?.content}`);
        },
      });
    const model = scriptedExecutor([{ toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] }, 'done']);
    await runAgent({
      model: pipeline(model).use(layer('app')),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
      middleware: [layer('run')],
    });
    assert.deepEqual(log, [
      'run.run:in',
      'app.run:in',
      'run.turn1:in',
      'app.turn1:in',
      'run.call:in',
      'app.call:in',
      'app.call:out',
      'run.call:out',
      'run.tool:in',
      'app.tool:in',
      'app.tool:out:3',
      'run.tool:out:3',
      'app.turn1:out:1',
      'run.turn1:out:1',
      'run.turn2:in',
      'app.turn2:in',
      'run.call:in',
      'app.call:in',
      'app.call:out',
      'run.call:out',
      'app.turn2:out:0',
      'run.turn2:out:0',
      'app.run:out:no-tool-calls',
      'run.run:out:no-tool-calls',
    ]);
  });

  test('a run layer can persist edits at run start and run end', async () => {
    const result = await runAgent({
      model: scriptedExecutor(['done']),
      modelId: 'test-model',
      messages: [USER],
      middleware: [
        defineMiddleware({
          name: 'bookends',
          async run(ctx, next) {
            ctx.run.updateTranscript((d) => void d.unshift({ role: 'system', content: 'be brief' }));
            await next();
            ctx.run.updateTranscript((d) => void d.push({ role: 'user', content: 'thanks' }));
          },
        }),
      ],
    });
    assert.deepEqual(summary(result.transcript), [
      'system:be brief',
      'user:What is 1 + 2?',
      'assistant:done',
      'user:thanks',
    ]);
  });

  test('a turn layer that does not call next() fails with a MiddlewareError naming it', async () => {
    const error = await runAgent({
      model: scriptedExecutor(['done']),
      modelId: 'test-model',
      messages: [USER],
      middleware: [defineMiddleware({ name: 'skipper', turn() {} })],
    }).catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'failed');
    const cause = error.cause;
    assert.equal(MiddlewareError.isInstance(cause), true);
    assert.equal(cause.layer, 'skipper');
    assert.match(cause.message, /turn layer `skipper` returned without calling `await next\(\)`/);
  });
});

describe('streamAgent', () => {
  test('yields the events of the loop in an exact order', async () => {
    const model = scriptedExecutor(
      [{ reasoning: 'hmm', text: 'adding', toolCalls: [{ id: 'a1', name: 'add', input: { a: 1, b: 2 } }] }, 'It is 3'],
      { chunkSize: 4 },
    );
    const log: string[] = [];
    const stream = streamAgent({ model, modelId: 'test-model', messages: [USER], tools: [add] });
    for await (const event of stream) {
      if (event.type === 'text-delta' || event.type === 'reasoning-delta') log.push(`${event.type}:${event.text}`);
      else if (event.type === 'tool-call') log.push(`tool-call:${event.toolCall.toolCallId}`);
      else if (event.type === 'tool-result') log.push(`tool-result:${event.result.content}`);
      else if (event.type === 'done') log.push(`done:${event.result.stopReason}`);
      else log.push(`${event.type}:${event.turn}`);
    }
    assert.deepEqual(log, [
      'turn-start:1',
      'reasoning-delta:hmm',
      'text-delta:addi',
      'text-delta:ng',
      'tool-call:a1',
      'tool-result:3',
      'turn-end:1',
      'turn-start:2',
      'text-delta:It i',
      'text-delta:s 3',
      'turn-end:2',
      'done:no-tool-calls',
    ]);
    assert.equal((await stream.result).text, 'It is 3');
    assert.ok(model.calls.every((c) => c.mode === 'stream'));
  });

  test('reading only `result` runs the loop to the end', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] }, 'ok']);
    const result = await streamAgent({ model, modelId: 'test-model', messages: [USER], tools: [add] }).result;
    assert.equal(result.turns.length, 2);
  });

  test('breaking out of the loop cancels the run: running tools see the abort and result rejects', async () => {
    const started = deferred();
    let toolSawAbort = false;
    const slow = tool({
      name: 'slow',
      input: z.object({}),
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) => {
          started.resolve();
          signal.addEventListener('abort', () => {
            toolSawAbort = true;
            reject(signal.reason);
          });
        }),
    });
    const model = scriptedExecutor([{ toolCalls: [{ name: 'slow' }] }]);
    const stream = streamAgent({ model, modelId: 'test-model', messages: [USER], tools: [slow] });
    for await (const event of stream) {
      if (event.type === 'tool-call') {
        await started.promise;
        break;
      }
    }
    assert.equal(toolSawAbort, true);
    const error = await stream.result.catch((e) => e);
    assert.ok(AgentError.isInstance(error));
    assert.equal(error.reason, 'aborted');
  });
});

describe('runAgent: the model id', () => {
  test('without `modelId` over an executor with no default model: a TypeError saying how to fix it, no call made', async () => {
    const model = scriptedExecutor(['x']);
    for (const executor of [model, pipeline(model), pipeline(pipeline(model))]) {
      const error = await runAgent({ model: executor, messages: [USER] } as never).catch((e) => e);
      assert.equal(error.name, 'TypeError');
      assert.match(error.message, /^runAgent\(\): `modelId` is required/);
      assert.match(error.message, /has no default model; pass `modelId`/);
      assert.match(error.message, /openaiExecutor\(\{ client, model: 'gpt-5-mini' \}\)/);
    }
    assert.throws(() => streamAgent({ model: pipeline(model), messages: [USER] } as never), {
      name: 'TypeError',
      message: /^streamAgent\(\): `modelId` is required/,
    });
    assert.equal(model.calls.length, 0, 'the name `pipeline` or `scripted` is never sent as a model id');
  });

  test("an executor's `defaultModel` is used when `modelId` is left out, through nested pipelines", async () => {
    const inner = Object.assign(scriptedExecutor(['a', 'b', 'c']), { defaultModel: 'default-model' });
    const app = pipeline(pipeline({ executor: inner, name: 'inner' }));
    assert.equal(app.defaultModel, 'default-model');
    await runAgent({ model: inner, messages: [USER] });
    await runAgent({ model: app, messages: [USER] });
    await streamAgent({ model: app, messages: [USER] }).result;
    assert.deepEqual(
      inner.calls.map((c) => c.request.model),
      ['default-model', 'default-model', 'default-model'],
    );
  });

  test('`modelId` wins over the default model; run-scoped call middleware keeps it', async () => {
    const inner = Object.assign(scriptedExecutor(['a', 'b']), { defaultModel: 'default-model' });
    await runAgent({ model: pipeline(inner), modelId: 'chosen', messages: [USER] });
    await runAgent({
      model: pipeline(inner),
      messages: [USER],
      middleware: [
        async function seen(_ctx, next) {
          await next();
        },
      ],
    });
    assert.deepEqual(
      inner.calls.map((c) => c.request.model),
      ['chosen', 'default-model'],
    );
  });

  test('a default model that is not a non-empty string is reported as `model.defaultModel`', async () => {
    const model = Object.assign(scriptedExecutor(['x']), { defaultModel: '' });
    await assert.rejects(runAgent({ model, messages: [USER] }), {
      name: 'TypeError',
      message: /`model.defaultModel` to be a non-empty model id string/,
    });
  });
});

describe('runAgent: options', () => {
  const model = scriptedExecutor(['x'], { whenDone: 'repeat-last' });
  const cases: { label: string; options: Record<string, unknown>; says: RegExp }[] = [
    { label: 'maxTurns 0', options: { maxTurns: 0 }, says: /`maxTurns` to be a positive integer, got number `0`/ },
    {
      label: 'onMaxTurns',
      options: { onMaxTurns: 'later' },
      says: /`onMaxTurns` to be 'throw' or 'stop', got string `later`/,
    },
    {
      label: 'toolConcurrency',
      options: { toolConcurrency: 0 },
      says: /`toolConcurrency` to be a positive integer or Infinity/,
    },
    { label: 'duplicate tools', options: { tools: [add, add] }, says: /two tools are named `add`/ },
    { label: 'not a tool', options: { tools: [{ name: 'x' }] }, says: /`tools\[0\]` is not a tool/ },
    { label: 'stopWhen', options: { stopWhen: [stepCountIs(1), 3] }, says: /`stopWhen` to be a condition function/ },
    { label: 'model', options: { model: {} }, says: /expected an executor/ },
    { label: 'modelId', options: { modelId: '' }, says: /`modelId` to be a non-empty model id string, got string ``/ },
    {
      label: 'modelId type',
      options: { modelId: 42 },
      says: /`modelId` to be a non-empty model id string, got number `42`/,
    },
  ];
  for (const { label, options, says } of cases) {
    test(`rejects a bad ${label}`, async () => {
      await assert.rejects(runAgent({ model, modelId: 'test-model', messages: [USER], ...options } as never), {
        name: 'TypeError',
        message: says,
      });
    });
  }

  test('rejects invalid messages with InvalidRequestError naming the path', async () => {
    const messages = [{ role: 'tool', toolCallId: 'x', toolName: 'add', content: '1' }] as Message[];
    const error = await runAgent({ model, modelId: 'test-model', messages }).catch((e) => e);
    assert.ok(InvalidRequestError.isInstance(error));
    assert.match(error.message, /runAgent\(\): invalid `messages`: messages\[0\]\.toolCallId/);
  });
});
