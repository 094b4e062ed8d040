import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidResponseError, type ModelResponse, ModelwareError, type StreamPart, pipeline } from 'modelware';
import { type ScriptStep, scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, activeResources, flush } from '../../fixtures/core.js';

async function collect(stream: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

describe('scriptedExecutor: replies', () => {
  test('a string step is a text reply from the requested model with estimated usage', async () => {
    const response = await scriptedExecutor(['Hello!']).generate(BASE_REQUEST);
    assert.deepEqual(response, {
      message: { role: 'assistant', content: 'Hello!' },
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
      model: 'test-model',
    });
  });

  test('tool call shorthand: ids default to call_<call>_<index>, input to {}, finishReason to tool-calls', async () => {
    const model = scriptedExecutor([
      'first',
      { toolCalls: [{ name: 'search', input: { q: 'x' } }, { name: 'clock' }] },
    ]);
    await model.generate(BASE_REQUEST);
    const response = await model.generate(BASE_REQUEST);
    assert.deepEqual(response.message.content, [
      { type: 'tool-call', toolCallId: 'call_2_1', toolName: 'search', input: { q: 'x' } },
      { type: 'tool-call', toolCallId: 'call_2_2', toolName: 'clock', input: {} },
    ]);
    assert.equal(response.finishReason, 'tool-calls');
  });

  test('an explicit tool call id, reasoning, text, finishReason, usage and model are kept', async () => {
    const usage = { inputTokens: 5, outputTokens: 6 };
    const response = await scriptedExecutor([
      {
        reasoning: 'think',
        text: 'say',
        toolCalls: [{ id: 'mine', name: 't' }],
        finishReason: 'length',
        usage,
        model: 'reported',
      },
    ]).generate(BASE_REQUEST);
    assert.deepEqual(response, {
      message: {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'think' },
          { type: 'text', text: 'say' },
          { type: 'tool-call', toolCallId: 'mine', toolName: 't', input: {} },
        ],
      },
      finishReason: 'length',
      usage,
      model: 'reported',
    });
  });

  test('a full ModelResponse step is returned as is', async () => {
    const full: ModelResponse = { message: { role: 'assistant', content: 'exact' }, finishReason: 'stop' };
    assert.equal(await scriptedExecutor([full]).generate(BASE_REQUEST), full);
  });

  test('a function step gets the request and the 0-based call index, and may return any step', async () => {
    const seen: [string, number][] = [];
    const step: ScriptStep = (request, index) => {
      seen.push([request.model, index]);
      return index === 0 ? 'zero' : { text: `call ${index}` };
    };
    const model = scriptedExecutor([step, step]);
    const a = await model.generate(BASE_REQUEST);
    const b = await model.generate({ ...BASE_REQUEST, model: 'other' });
    assert.deepEqual(seen, [
      ['test-model', 0],
      ['other', 1],
    ]);
    assert.deepEqual([a.message.content, b.message.content], ['zero', 'call 1']);
  });
});

describe('scriptedExecutor: errors and the end of the script', () => {
  test('an Error step is thrown as is', async () => {
    const boom = new Error('boom');
    await assert.rejects(scriptedExecutor([boom]).generate(BASE_REQUEST), (error) => error === boom);
  });

  test('a function step returning an Error throws it', async () => {
    const boom = new Error('from function');
    await assert.rejects(scriptedExecutor([() => boom]).generate(BASE_REQUEST), (error) => error === boom);
  });

  test("whenDone 'throw' (the default) says which call ran out and how to fix it", async () => {
    const model = scriptedExecutor(['one']);
    await model.generate(BASE_REQUEST);
    await assert.rejects(model.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(ModelwareError.isInstance(error));
      assert.equal(
        error.message,
        "scriptedExecutor `scripted`: no step left for call #2 (the script has 1). Add steps, or pass whenDone: 'repeat-last' or 'cycle'.",
      );
      return true;
    });
  });

  const modes: readonly ['repeat-last' | 'cycle', string[]][] = [
    ['repeat-last', ['a', 'b', 'b', 'b']],
    ['cycle', ['a', 'b', 'a', 'b']],
  ];
  for (const [whenDone, expected] of modes) {
    test(`whenDone '${whenDone}' answers ${expected.join(', ')}`, async () => {
      const model = scriptedExecutor(['a', 'b'], { whenDone });
      const texts: unknown[] = [];
      for (let i = 0; i < 4; i++) texts.push((await model.generate(BASE_REQUEST)).message.content);
      assert.deepEqual(texts, expected);
    });
  }

  test('an empty script throws on the first call whatever whenDone says', async () => {
    await assert.rejects(
      scriptedExecutor([], { whenDone: 'cycle' }).generate(BASE_REQUEST),
      /no step left for call #1/,
    );
  });
});

describe('scriptedExecutor: recording', () => {
  test('records mode, the request object, the signal and the parentId of each call', async () => {
    const model = scriptedExecutor(['a', 'b']);
    const signal = new AbortController().signal;
    await model.generate(BASE_REQUEST, { signal, parentId: 'call_parent' });
    await collect(model.stream(BASE_REQUEST));
    assert.equal(model.calls.length, 2);
    assert.deepEqual(model.calls[0], { mode: 'generate', request: BASE_REQUEST, signal, parentId: 'call_parent' });
    assert.equal(model.calls[1]?.mode, 'stream');
    assert.equal(model.calls[1]?.request, BASE_REQUEST);
  });

  test('a call is recorded even when its step throws', async () => {
    const model = scriptedExecutor([new Error('x')]);
    await assert.rejects(model.generate(BASE_REQUEST));
    assert.equal(model.calls.length, 1);
  });

  test('openStreams and closedStreams count stream lifecycles', async () => {
    const model = scriptedExecutor(['abc', 'def'], { chunkSize: 1 });
    const iterator = model.stream(BASE_REQUEST)[Symbol.asyncIterator]();
    await iterator.next();
    assert.deepEqual([model.openStreams, model.closedStreams], [1, 0]);
    await iterator.return?.();
    assert.deepEqual([model.openStreams, model.closedStreams], [0, 1]);
    await collect(model.stream(BASE_REQUEST));
    assert.deepEqual([model.openStreams, model.closedStreams], [0, 2]);
  });
});

describe('scriptedExecutor: streaming', () => {
  test('text and reasoning are split into chunkSize deltas; tool input into JSON deltas, then the call', async () => {
    const model = scriptedExecutor(
      [
        {
          reasoning: 'abcde',
          text: 'fgh',
          toolCalls: [{ id: 't1', name: 'x', input: { a: 1 } }],
          usage: { inputTokens: 1, outputTokens: 1 },
        },
      ],
      { chunkSize: 3 },
    );
    assert.deepEqual(await collect(model.stream(BASE_REQUEST)), [
      { type: 'reasoning-delta', text: 'abc' },
      { type: 'reasoning-delta', text: 'de' },
      { type: 'text-delta', text: 'fgh' },
      { type: 'tool-call-delta', toolCallId: 't1', toolName: 'x', inputDelta: '{"a' },
      { type: 'tool-call-delta', toolCallId: 't1', toolName: 'x', inputDelta: '":1' },
      { type: 'tool-call-delta', toolCallId: 't1', toolName: 'x', inputDelta: '}' },
      { type: 'tool-call', toolCallId: 't1', toolName: 'x', input: { a: 1 } },
      { type: 'finish', finishReason: 'tool-calls', usage: { inputTokens: 1, outputTokens: 1 }, model: 'test-model' },
    ]);
  });

  test('the default chunk size is 8 characters', async () => {
    const parts = await collect(scriptedExecutor(['0123456789abcdefXY']).stream(BASE_REQUEST));
    assert.deepEqual(
      parts.filter((p) => p.type === 'text-delta').map((p) => (p as { text: string }).text),
      ['01234567', '89abcdef', 'XY'],
    );
  });

  test('an error step fails the stream before its first part', async () => {
    const model = scriptedExecutor([new Error('refused')]);
    const iterator = model.stream(BASE_REQUEST)[Symbol.asyncIterator]();
    await assert.rejects(iterator.next(), { message: 'refused' });
    assert.deepEqual([model.openStreams, model.closedStreams], [0, 1]);
  });

  test('streaming: false offers no stream(), and a pipeline replays generate() as parts', async () => {
    const model = scriptedExecutor(['hi'], { streaming: false });
    assert.equal(model.stream, undefined);
    const text = await pipeline(model).stream(BASE_REQUEST).text();
    assert.equal(text, 'hi');
    assert.equal(model.calls[0]?.mode, 'generate');
  });

  const badChunkSizes = [0, -1, 1.5, Number.NaN];
  for (const chunkSize of badChunkSizes) {
    test(`chunkSize ${chunkSize} is a TypeError naming \`chunkSize\``, () => {
      assert.throws(() => scriptedExecutor([], { chunkSize }), {
        name: 'TypeError',
        message: `scriptedExecutor(): expected \`chunkSize\` to be a positive integer, got number \`${chunkSize}\`.`,
      });
    });
  }

  test('a script that is not an array is a TypeError', () => {
    assert.throws(() => scriptedExecutor('hello' as never), /expected an array of steps, got string/);
  });
});

describe('scriptedExecutor: delays honour the signal', () => {
  test('aborting during delayMs rejects with the reason and leaves no timer', async () => {
    const before = activeResources();
    const controller = new AbortController();
    const result = scriptedExecutor(['late'], { delayMs: 60_000 }).generate(BASE_REQUEST, {
      signal: controller.signal,
    });
    await flush();
    assert.equal(activeResources().Timeout, (before.Timeout ?? 0) + 1);
    const reason = new Error('cancelled');
    controller.abort(reason);
    await assert.rejects(result, (error) => error === reason);
    assert.deepEqual(activeResources(), before);
  });

  test("a step's own delayMs overrides the executor's and is abortable too", async () => {
    const controller = new AbortController();
    const model = scriptedExecutor([{ text: 'slow', delayMs: 60_000 }]);
    const result = model.generate(BASE_REQUEST, { signal: controller.signal });
    await flush();
    controller.abort(new Error('stop'));
    await assert.rejects(result, { message: 'stop' });
  });

  test('a step delayMs of 0 answers without waiting for the executor delay', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const model = scriptedExecutor([{ text: 'now', delayMs: 0 }], { delayMs: 60_000 });
    let answered = false;
    const result = model.generate(BASE_REQUEST).then((response) => {
      answered = true;
      return response;
    });
    await flush();
    const answeredBeforeAnyTimer = answered;
    t.mock.timers.tick(60_000); // lets a wrongly scheduled delay finish, so the test never hangs
    assert.equal((await result).message.content, 'now');
    assert.equal(answeredBeforeAnyTimer, true);
  });

  test('aborting during chunkDelayMs stops the stream with the reason and runs its cleanup', async () => {
    const before = activeResources();
    const controller = new AbortController();
    const model = scriptedExecutor(['abcdef'], { chunkSize: 1, chunkDelayMs: 60_000 });
    const iterator = model.stream(BASE_REQUEST, { signal: controller.signal })[Symbol.asyncIterator]();
    const next = iterator.next();
    await flush();
    const reason = new Error('enough');
    controller.abort(reason);
    await assert.rejects(next, (error) => error === reason);
    assert.deepEqual([model.openStreams, model.closedStreams], [0, 1]);
    assert.deepEqual(activeResources(), before);
  });

  test('an already aborted signal rejects before answering', async () => {
    const reason = new Error('early');
    await assert.rejects(
      scriptedExecutor(['x']).generate(BASE_REQUEST, { signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
  });
});

describe('scriptedExecutor: streams take their step when created', () => {
  test('two streams created before either is read get steps 1 and 2', async () => {
    const model = scriptedExecutor(['first', 'second']);
    const a = model.stream(BASE_REQUEST);
    const b = model.stream(BASE_REQUEST);
    const text = async (s: AsyncIterable<StreamPart>) => {
      let out = '';
      for await (const part of s) if (part.type === 'text-delta') out += part.text;
      return out;
    };
    assert.deepEqual([await text(b), await text(a)], ['second', 'first']);
  });
});

describe('scriptedExecutor: malformed steps', () => {
  const MALFORMED = { message: { role: 'assistant', content: 5 }, finishReason: 'stop' } as unknown as ModelResponse;

  test('stream() reports a malformed step as the same InvalidResponseError generate() gets through a pipeline', async () => {
    const app = pipeline(scriptedExecutor([MALFORMED], { whenDone: 'repeat-last' }));
    const fromGenerate = await app.generate(BASE_REQUEST).catch((e: unknown) => e);
    const fromStream = await collect(app.stream(BASE_REQUEST)).catch((e: unknown) => e);
    const direct = await collect(scriptedExecutor([MALFORMED]).stream(BASE_REQUEST)).catch((e: unknown) => e);
    for (const error of [fromGenerate, fromStream, direct]) {
      assert.ok(InvalidResponseError.isInstance(error), String(error));
      assert.equal(error.source, 'scripted');
      assert.deepEqual(error.path, ['message', 'content']);
    }
  });
});
