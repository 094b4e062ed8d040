import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AgentError,
  type Message,
  MiddlewareError,
  type ReadonlyModelRequest,
  type ToolMessage,
  defineMiddleware,
  pipeline,
  runAgent,
  streamAgent,
  tool,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { z as z3 } from 'zod3';
import { z as z3v4 } from 'zod3/v4';
import { USER, add, deferred, last, summary } from '../../fixtures/agent.js';

const lastToolMessage = (request: ReadonlyModelRequest) =>
  [...request.messages].reverse().find((m) => m.role === 'tool') as ToolMessage | undefined;

describe('tool()', () => {
  test('derives the JSON Schema providers receive from the zod input schema', () => {
    const search = tool({
      name: 'search',
      description: 'Searches the web',
      input: z.object({ query: z.string().describe('what to look for'), limit: z.number().int().default(5) }),
      execute: () => [],
    });
    assert.deepEqual(search.spec, {
      name: 'search',
      description: 'Searches the web',
      inputSchema: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'what to look for' },
          limit: { type: 'integer', default: 5, minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
        },
        required: ['query'],
      },
    });
  });

  const cases: { label: string; definition: Record<string, unknown>; says: RegExp }[] = [
    {
      label: 'name',
      definition: { name: 'has space', input: z.object({}), execute() {} },
      says: /`name` to be 1-64 characters/,
    },
    {
      label: 'input',
      definition: { name: 'x', input: { type: 'object' }, execute() {} },
      says: /`input` to be a zod schema/,
    },
    {
      label: 'non-object input',
      definition: { name: 'x', input: z.string(), execute() {} },
      says: /describe an object.*`string`/,
    },
    { label: 'execute', definition: { name: 'x', input: z.object({}) }, says: /`execute` to be a function/ },
  ];
  for (const { label, definition, says } of cases) {
    test(`rejects a bad ${label} at definition time`, () => {
      assert.throws(() => tool(definition as never), { name: 'TypeError', message: says });
    });
  }

  test('a zod 3 schema: the error says zod 4 is required and how to get it', () => {
    assert.throws(() => tool({ name: 'old', input: z3.object({ city: z3.string() }) as never, execute() {} }), {
      name: 'TypeError',
      message:
        "tool() `old`: `input` is a zod 3 schema; modelware needs zod 4. Install it (npm install zod@^4) and import { z } from 'zod', or, staying on zod 3.25 in JavaScript, import { z } from 'zod/v4' (its types predate zod 4's: TypeScript needs zod 4 itself).",
    });
  });

  test("the advice works in JS: a schema from zod 3.25's 'zod/v4' defines a tool that validates its input", async () => {
    // At runtime only: zod 3.25's 'zod/v4' types predate zod 4.x's, so TypeScript needs zod 4 itself.
    const weather = tool({
      name: 'weather',
      input: z3v4.object({ city: z3v4.string() }),
      execute: ({ city }: { city: string }) => `sunny in ${city}`,
    } as never);
    assert.deepEqual(weather.spec.inputSchema, {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    });
    const model = scriptedExecutor([
      {
        toolCalls: [
          { id: 'w1', name: 'weather', input: { city: 'Oslo' } },
          { id: 'w2', name: 'weather', input: {} },
        ],
      },
      'done',
    ]);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [weather] });
    const results = result.transcript.filter((m): m is ToolMessage => m.role === 'tool');
    assert.equal(results[0]?.content, 'sunny in Oslo');
    assert.equal(results[1]?.isError, true);
  });
});

describe('tool execution', () => {
  test('execute gets the parsed input (defaults applied), the signal, the call id and the run', async () => {
    let seen: unknown;
    const echo = tool({
      name: 'echo',
      input: z.object({ text: z.string(), times: z.number().default(2) }),
      execute: (input, { signal, toolCallId, run }) => {
        seen = { input, aborted: signal.aborted, toolCallId, turn: run.turn, transcript: run.transcript.length };
        return input.text.repeat(input.times);
      },
    });
    const model = scriptedExecutor([{ toolCalls: [{ id: 'e1', name: 'echo', input: { text: 'ab' } }] }, 'ok']);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [echo] });
    assert.deepEqual(seen, {
      input: { text: 'ab', times: 2 },
      aborted: false,
      toolCallId: 'e1',
      turn: 1,
      transcript: 2,
    });
    assert.deepEqual(summary([result.transcript[2]]), ['tool(e1):abab']);
  });

  test('an input schema with an async refinement is parsed asynchronously', async () => {
    const known = tool({
      name: 'known',
      input: z.object({ id: z.string().refine(async (id) => id.startsWith('k'), 'unknown id') }),
      execute: ({ id }) => `found ${id}`,
    });
    const model = scriptedExecutor([
      {
        toolCalls: [
          { id: 'x', name: 'known', input: { id: 'zz' } },
          { id: 'y', name: 'known', input: { id: 'k1' } },
        ],
      },
      'ok',
    ]);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [known] });
    assert.match((result.transcript[2] as ToolMessage).content, /unknown id/);
    assert.equal((result.transcript[3] as ToolMessage).content, 'found k1');
  });

  test('non-string results are sent as JSON', async () => {
    const info = tool({ name: 'info', input: z.object({}), execute: () => ({ ok: true, n: [1, 2] }) });
    const model = scriptedExecutor([{ toolCalls: [{ id: 'i', name: 'info' }] }, 'ok']);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [info] });
    assert.equal((result.transcript[2] as ToolMessage).content, '{"ok":true,"n":[1,2]}');
  });

  test('a model that sends bad arguments reads the error and fixes them on its next turn', async () => {
    const model = scriptedExecutor([
      { toolCalls: [{ id: 'bad', name: 'add', input: { a: 1, b: 'two' } }] },
      (request) => {
        const error = lastToolMessage(request);
        assert.equal(error?.isError, true);
        assert.match(
          error?.content ?? '',
          /Invalid arguments for tool `add`:[\s\S]*expected number, received string[\s\S]*at b/,
        );
        return { toolCalls: [{ id: 'good', name: 'add', input: { a: 1, b: 2 } }] };
      },
      (request) => `The sum is ${lastToolMessage(request)?.content}`,
    ]);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.equal(result.text, 'The sum is 3');
    assert.deepEqual(
      result.transcript
        .filter((m) => m.role === 'tool')
        .map((m) => [(m as ToolMessage).toolCallId, (m as ToolMessage).isError]),
      [
        ['bad', true],
        ['good', undefined],
      ],
    );
  });

  test('a tool that throws becomes an error result the model reads', async () => {
    const flaky = tool({
      name: 'flaky',
      input: z.object({}),
      execute: () => {
        throw new Error('disk full');
      },
    });
    const model = scriptedExecutor([{ toolCalls: [{ id: 'f', name: 'flaky' }] }, 'sorry']);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [flaky] });
    const message = result.transcript[2] as ToolMessage;
    assert.equal(message.isError, true);
    assert.equal(message.content, 'Tool `flaky` failed: disk full');
  });

  test('with throwOnToolError the run rejects with what the tool threw', async () => {
    const boom = new Error('disk full');
    const flaky = tool({
      name: 'flaky',
      input: z.object({}),
      execute: () => {
        throw boom;
      },
    });
    const model = scriptedExecutor([{ toolCalls: [{ name: 'flaky' }] }, 'never']);
    await assert.rejects(
      runAgent({ modelId: 'test-model', model, messages: [USER], tools: [flaky], throwOnToolError: true }),
      (e) => AgentError.isInstance(e) && e.reason === 'tool-call-failed' && e.cause === boom,
    );
  });

  test('an unknown tool gets an error result listing the available tools', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ id: 'u', name: 'multiply', input: { a: 2 } }] }, 'ok']);
    const result = await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.deepEqual(result.transcript[2], {
      role: 'tool',
      toolCallId: 'u',
      toolName: 'multiply',
      content: 'Unknown tool `multiply`. Available tools: add.',
      isError: true,
    });
  });

  test('parallel calls run at once and their results are appended in call order, whatever order they finish in', async () => {
    const gates = [deferred(), deferred(), deferred()];
    const finished: string[] = [];
    let running = 0;
    const wait = tool({
      name: 'wait',
      input: z.object({ i: z.number() }),
      execute: async ({ i }) => {
        running++;
        // Release in reverse order once all three are running: 2, then 1, then 0.
        if (running === 3) gates[2]?.resolve();
        await gates[i]?.promise;
        finished.push(`w${i}`);
        gates[i - 1]?.resolve();
        return `done ${i}`;
      },
    });
    const calls = [0, 1, 2].map((i) => ({ id: `w${i}`, name: 'wait', input: { i } }));
    const model = scriptedExecutor([{ toolCalls: calls }, 'ok']);
    const events: string[] = [];
    for await (const event of streamAgent({ model, modelId: 'test-model', messages: [USER], tools: [wait] })) {
      if (event.type === 'tool-result') events.push(event.result.toolCallId);
      if (event.type === 'done') {
        assert.deepEqual(summary(event.result.transcript.slice(2, 5)), [
          'tool(w0):done 0',
          'tool(w1):done 1',
          'tool(w2):done 2',
        ]);
      }
    }
    assert.deepEqual(finished, ['w2', 'w1', 'w0']);
    assert.deepEqual(events, ['w2', 'w1', 'w0']);
  });

  test('toolConcurrency limits how many calls run at the same time', async () => {
    let running = 0;
    let peak = 0;
    const step = tool({
      name: 'step',
      input: z.object({}),
      execute: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        return 'ok';
      },
    });
    const calls = Array.from({ length: 5 }, (_, i) => ({ id: `s${i}`, name: 'step' }));
    const model = scriptedExecutor([
      { toolCalls: calls },
      { toolCalls: calls.map((c) => ({ ...c, id: `${c.id}b` })) },
      'ok',
    ]);
    const limited = await runAgent({
      model,
      modelId: 'test-model',
      messages: [USER],
      tools: [step],
      toolConcurrency: 2,
      stopWhen: ({ turns }) => turns.length === 1,
    });
    assert.equal(peak, 2);
    assert.equal(limited.transcript.length, 7);
    peak = 0;
    await runAgent({
      model: scriptedExecutor([{ toolCalls: calls }, 'ok']),
      modelId: 'test-model',
      messages: [USER],
      tools: [step],
    });
    assert.equal(peak, 5);
  });
});

describe('tool middleware', () => {
  const twice = tool({ name: 'twice', input: z.object({ n: z.number() }), execute: ({ n }) => n * 2 });
  const callTwice = (n: unknown) => scriptedExecutor([{ toolCalls: [{ id: 't', name: 'twice', input: { n } }] }, 'ok']);
  const toolResult = (transcript: readonly unknown[]) => transcript[2] as ToolMessage;

  test('tool layers nest like call layers, with an exact log', async () => {
    const log: string[] = [];
    const layer = (name: string) =>
      defineMiddleware({
        name,
        async tool(ctx, next) {
          log.push(`${name}:in:${ctx.toolName}:${JSON.stringify(ctx.input)}`);
          await next();
          log.push(`${name}:out:${ctx.result?.content}`);
        },
      });
    await runAgent({
      model: pipeline(callTwice(4)).use(layer('a'), layer('b')),
      modelId: 'test-model',
      messages: [USER],
      tools: [twice],
    });
    assert.deepEqual(log, ['a:in:twice:{"n":4}', 'b:in:twice:{"n":4}', 'b:out:8', 'a:out:8']);
  });

  test('updateInput rewrites the arguments the tool gets; the call itself keeps what the model sent', async () => {
    let sent: unknown;
    const clamp = defineMiddleware({
      name: 'clamp',
      async tool(ctx, next) {
        ctx.updateInput((draft) => {
          const input = draft as { n: number };
          input.n = Math.min(input.n, 10);
        });
        sent = ctx.call.input;
        await next();
      },
    });
    const result = await runAgent({
      model: pipeline(callTwice(99)).use(clamp),
      modelId: 'test-model',
      messages: [USER],
      tools: [twice],
    });
    assert.equal(toolResult(result.transcript).content, '20');
    assert.deepEqual(sent, { n: 99 });
  });

  test('deny: setting the result without next() answers the call and skips the tool', async () => {
    let executed = false;
    const guarded = tool({
      name: 'twice',
      input: z.object({ n: z.number() }),
      execute: () => {
        executed = true;
        return 0;
      },
    });
    const guard = defineMiddleware({
      name: 'guard',
      tool(ctx) {
        ctx.deny(`Tool \`${ctx.toolName}\` is not allowed here.`);
      },
    });
    const result = await runAgent({
      model: pipeline(callTwice(1)).use(guard),
      modelId: 'test-model',
      messages: [USER],
      tools: [guarded],
    });
    assert.equal(executed, false);
    assert.deepEqual(toolResult(result.transcript), {
      role: 'tool',
      toolCallId: 't',
      toolName: 'twice',
      content: 'Tool `twice` is not allowed here.',
      isError: true,
    });
  });

  test('a layer rewrites the result before it is persisted (tool_result_persist)', async () => {
    const model = callTwice(21);
    const redact = defineMiddleware({
      name: 'redact',
      async tool(ctx, next) {
        await next();
        ctx.updateResult((draft) => {
          draft.content = `[redacted ${draft.content.length} chars]`;
        });
      },
    });
    const result = await runAgent({
      model: pipeline(model).use(redact),
      modelId: 'test-model',
      messages: [USER],
      tools: [twice],
    });
    assert.equal(toolResult(result.transcript).content, '[redacted 2 chars]');
    assert.equal(lastToolContent(model.calls[1]?.request), '[redacted 2 chars]');
  });

  test('a replay layer retries: the layers inside and the tool run again from the arguments it passed', async () => {
    const log: string[] = [];
    let attempts = 0;
    const unstable = tool({
      name: 'unstable',
      input: z.object({ n: z.number() }),
      execute: ({ n }) => {
        attempts++;
        log.push(`execute:${n}`);
        if (attempts === 1) throw new Error('flaked');
        return n;
      },
    });
    const retryTool = defineMiddleware({
      name: 'retryTool',
      replay: true,
      async tool(ctx, next) {
        await next();
        if (ctx.result?.isError) {
          log.push(`retry after: ${ctx.result.content}`);
          await next();
        }
      },
    });
    const bump = defineMiddleware({
      name: 'bump',
      tool(ctx, next) {
        ctx.updateInput((draft) => void ((draft as { n: number }).n += 1));
        return next();
      },
    });
    const model = scriptedExecutor([{ toolCalls: [{ id: 'u', name: 'unstable', input: { n: 1 } }] }, 'ok']);
    const result = await runAgent({
      model: pipeline(model).use(retryTool, bump),
      modelId: 'test-model',
      messages: [USER],
      tools: [unstable],
    });
    assert.deepEqual(log, ['execute:2', 'retry after: Tool `unstable` failed: flaked', 'execute:2']);
    assert.equal(toolResult(result.transcript).content, '2');
  });

  test('next() twice in a tool layer without replay is a MiddlewareError naming it', async () => {
    const twiceNext = defineMiddleware({
      name: 'greedy',
      async tool(_ctx, next) {
        await next();
        await next();
      },
    });
    const error = await runAgent({
      model: pipeline(callTwice(1)).use(twiceNext),
      modelId: 'test-model',
      messages: [USER],
      tools: [twice],
    }).catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'tool-call-failed');
    const cause = error.cause;
    assert.equal(MiddlewareError.isInstance(cause), true);
    assert.equal(cause.layer, 'greedy');
    assert.match(cause.message, /next\(\) called multiple times in tool layer `greedy`/);
  });

  test('a tool layer that neither calls next() nor sets a result fails naming the call', async () => {
    const silent = defineMiddleware({ name: 'silent', tool() {} });
    const error = await runAgent({
      modelId: 'test-model',
      model: pipeline(callTwice(1)).use(silent),
      messages: [USER],
      tools: [twice],
    }).catch((e) => e.cause);
    assert.equal(MiddlewareError.isInstance(error), true);
    assert.match(error.message, /No result for tool call `t` \(`twice`\)/);
  });

  test('setting a result without string content is rejected naming the layer', async () => {
    const bad = defineMiddleware({
      name: 'bad',
      tool(ctx) {
        ctx.result = { content: 42 } as never;
      },
    });
    const error = await runAgent({
      modelId: 'test-model',
      model: pipeline(callTwice(1)).use(bad),
      messages: [USER],
      tools: [twice],
    }).catch((e) => e.cause);
    assert.equal(MiddlewareError.isInstance(error), true);
    assert.equal(error.layer, 'bad');
  });

  test('one package carries a call part and a tool part; use() mounts both', async () => {
    const log: string[] = [];
    const audit = defineMiddleware({
      name: 'audit',
      async call(ctx, next) {
        log.push(`call:${ctx.request.messages.length}`);
        await next();
      },
      async tool(ctx, next) {
        log.push(`tool:${ctx.toolName}`);
        await next();
      },
    });
    await runAgent({
      model: pipeline(callTwice(1)).use(audit),
      modelId: 'test-model',
      messages: [USER],
      tools: [twice],
    });
    assert.deepEqual(log, ['call:1', 'tool:twice', 'call:3']);
  });
});

function lastToolContent(request: ReadonlyModelRequest | undefined): string | undefined {
  const messages = (request?.messages ?? []) as readonly Message[];
  return (last(messages.filter((m) => m.role === 'tool')) as ToolMessage | undefined)?.content;
}
