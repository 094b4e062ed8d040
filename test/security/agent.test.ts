// Bounded resources in the agent loop (issue 9, item 6): tool calls per turn, tool concurrency and
// the nesting of tool arguments each have a documented bound. Assertions use assert.equal(x, true)
// rather than assert.ok: a failing assert.ok makes Node 20 re-parse the file to word its message.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AgentError,
  type Executor,
  InvalidResponseError,
  type ModelResponse,
  type ToolMessage,
  isRetryable,
  pipeline,
  runAgent,
  tool,
} from 'modelware';
import { retry } from 'modelware/middleware';
import { z } from 'zod';
import { checkToolPairing } from '../../lib/core/validate.js';
import { USER } from '../fixtures/agent.js';

/** Answers with `first` once, then with a plain text. */
function twoStep(first: ModelResponse['message']): Executor & { calls: number } {
  const model = {
    name: 'hostile',
    calls: 0,
    async generate(): Promise<ModelResponse> {
      model.calls++;
      if (model.calls === 1) return { message: first, finishReason: 'tool-calls' };
      return { message: { role: 'assistant', content: 'done' }, finishReason: 'stop' };
    },
  };
  return model;
}

const manyCalls = (count: number) =>
  twoStep({
    role: 'assistant',
    content: Array.from({ length: count }, (_, i) => ({
      type: 'tool-call' as const,
      toolCallId: `c${i}`,
      toolName: 'step',
      input: {},
    })),
  });

function countingTool() {
  const stats = { ran: 0, running: 0, peak: 0 };
  const step = tool({
    name: 'step',
    input: z.object({}),
    execute: async () => {
      stats.ran++;
      stats.running++;
      stats.peak = Math.max(stats.peak, stats.running);
      await new Promise((resolve) => setImmediate(resolve));
      stats.running--;
      return 'ok';
    },
  });
  return { step, stats };
}

describe('agent loop: bounded tool calls per turn', () => {
  test('20,000 tool calls in one turn: 100 run (the default), the rest get an error result the model reads', async () => {
    const { step, stats } = countingTool();
    const result = await runAgent({ modelId: 'test-model', model: manyCalls(20_000), messages: [USER], tools: [step] });
    assert.equal(stats.ran, 100);
    const results = result.transcript.filter((m) => m.role === 'tool') as ToolMessage[];
    assert.equal(results.length, 20_000);
    assert.equal(results.filter((m) => m.isError).length, 19_900);
    assert.deepEqual(results[100], {
      role: 'tool',
      toolCallId: 'c100',
      toolName: 'step',
      content:
        'Not run: this turn asked for 20000 tool calls and at most 100 run per turn. Call the tools you still need again, fewer at a time.',
      isError: true,
    });
    assert.equal(checkToolPairing(result.transcript), undefined);
  });

  test('maxToolCallsPerTurn sets the bound; under throwOnToolError no tool of that turn runs', async () => {
    const { step, stats } = countingTool();
    const result = await runAgent({
      modelId: 'test-model',
      model: manyCalls(5),
      messages: [USER],
      tools: [step],
      maxToolCallsPerTurn: 2,
    });
    assert.equal(stats.ran, 2);
    assert.equal(result.transcript.filter((m) => m.role === 'tool' && m.isError).length, 3);
    const error = await runAgent({
      modelId: 'test-model',
      model: manyCalls(5),
      messages: [USER],
      tools: [step],
      maxToolCallsPerTurn: 2,
      throwOnToolError: true,
    }).catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'tool-call-failed');
    assert.match(error.cause.message, /`maxToolCallsPerTurn` is 2/);
    assert.equal(stats.ran, 2);
  });

  test('tool calls of one turn run at most 10 at a time by default', async () => {
    const { step, stats } = countingTool();
    await runAgent({ modelId: 'test-model', model: manyCalls(50), messages: [USER], tools: [step] });
    assert.equal(stats.ran, 50);
    assert.equal(stats.peak, 10);
  });

  test('toolConcurrency: Infinity is still accepted, bounded by maxToolCallsPerTurn', async () => {
    const { step, stats } = countingTool();
    await runAgent({
      modelId: 'test-model',
      model: manyCalls(300),
      messages: [USER],
      tools: [step],
      toolConcurrency: Number.POSITIVE_INFINITY,
    });
    assert.equal(stats.peak, 100);
  });

  for (const [option, value] of [
    ['maxToolCallsPerTurn', 0],
    ['maxToolCallsPerTurn', 1.5],
    ['maxToolInputDepth', 0],
  ] as const) {
    test(`rejects ${option}: ${value} at once`, async () => {
      await assert.rejects(
        runAgent({ modelId: 'test-model', model: manyCalls(1), messages: [USER], [option]: value }),
        {
          name: 'TypeError',
          message: new RegExp(`\`${option}\` to be a positive integer, got number \`${value}\``),
        },
      );
    });
  }
});

describe('agent loop: bounded nesting of tool arguments', () => {
  const nested = (depth: number) => {
    let value: Record<string, unknown> = {};
    for (let i = 1; i < depth; i++) value = { x: value };
    return value;
  };
  const deepCall = (depth: number) =>
    twoStep({
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: 'deep', toolName: 'echo', input: nested(depth) }],
    });

  test('arguments nested 20,000 deep fail the run with a typed, non-retryable error before any tool runs', async () => {
    let ran = false;
    const echo = tool({ name: 'echo', input: z.object({}).loose(), execute: () => void (ran = true) });
    const model = deepCall(20_000);
    const error = await runAgent({ modelId: 'test-model', model, messages: [USER], tools: [echo] }).catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'invalid-response');
    assert.equal(InvalidResponseError.isInstance(error.cause), true);
    assert.deepEqual(error.cause.path, ['message', 'content', 0, 'input']);
    assert.match(
      error.cause.message,
      /a tool call \(message\.content\[0\]\) with arguments nested deeper than 64 levels/,
    );
    assert.equal(isRetryable(error), false);
    assert.equal(ran, false);
    assert.equal(model.calls, 1);
    // The deep message never reaches the transcript, where serialising it would throw RangeError.
    assert.deepEqual(error.transcript, [USER]);
  });

  test('64 levels pass and 65 fail by default; maxToolInputDepth moves the bound', async () => {
    const echo = tool({ name: 'echo', input: z.object({}).loose(), execute: () => 'ok' });
    const ok = await runAgent({ modelId: 'test-model', model: deepCall(64), messages: [USER], tools: [echo] });
    assert.equal(ok.text, 'done');
    const error = await runAgent({ modelId: 'test-model', model: deepCall(65), messages: [USER], tools: [echo] }).catch(
      (e) => e,
    );
    assert.equal(AgentError.isInstance(error) && error.reason, 'invalid-response');
    const narrow = await runAgent({
      modelId: 'test-model',
      model: deepCall(4),
      messages: [USER],
      tools: [echo],
      maxToolInputDepth: 3,
    }).catch((e) => e);
    assert.equal(AgentError.isInstance(narrow) && narrow.reason, 'invalid-response');
  });

  test('a retry() layer in the model does not retry it: the run fails once', async () => {
    const echo = tool({ name: 'echo', input: z.object({}).loose(), execute: () => 'ok' });
    const model = deepCall(20_000);
    const app = pipeline(model).use(retry({ retries: 3, initialDelayMs: 0 }));
    const error = await runAgent({ modelId: 'test-model', model: app, messages: [USER], tools: [echo] }).catch(
      (e) => e,
    );
    assert.equal(AgentError.isInstance(error) && error.reason, 'invalid-response');
    assert.equal(model.calls, 1);
  });
});

describe('agent loop: no model content in error messages', () => {
  test('an unknown tool under throwOnToolError: the name the model sent stays out of the messages', async () => {
    const canary = 'CANARY_7e2';
    const model = twoStep({
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: 'u', toolName: canary, input: {} }],
    });
    const error = await runAgent({
      modelId: 'test-model',
      model,
      messages: [USER],
      tools: [],
      throwOnToolError: true,
    }).catch((e) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'tool-call-failed');
    assert.equal(error.message.includes(canary), false);
    assert.equal(error.cause.message.includes(canary), false);
    assert.match(error.cause.message, /the model called a tool this run does not have/);
  });
});
