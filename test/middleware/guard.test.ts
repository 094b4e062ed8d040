import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Executor, type StreamPart, pipeline, textOf } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { BufferLimitError, PolicyViolationError, isRetryable } from '../../lib/core/errors.js';
import { type GuardOptions, guard } from '../../middleware/guard.js';
import { BASE_REQUEST, logLayer } from '../fixtures/core.js';

const lastText = (request: { readonly messages: readonly { readonly content: unknown }[] }) =>
  textOf(request.messages[request.messages.length - 1] as { content: unknown });

async function collect(stream: AsyncIterable<StreamPart>): Promise<{ texts: string[]; types: string[] }> {
  const texts: string[] = [];
  const types: string[] = [];
  for await (const part of stream) {
    types.push(part.type);
    if (part.type === 'text-delta') texts.push(part.text);
  }
  return { texts, types };
}

describe('guard: options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no checks', {}, /pass an `input` check, an `output` check or both/],
    ['input not a function', { input: 'no' }, /expected `input` to be a function .* got string/],
    ['output not a function', { output: 1 }, /expected `output` to be a function .* got number/],
    ['bad streaming', { output: () => true, streaming: 'later' }, /expected `streaming` to be .* got string `later`/],
    ['empty name', { input: () => true, name: '' }, /expected `name` to be a non-empty string/],
    [
      'zero checkIntervalChars',
      { output: () => true, checkIntervalChars: 0 },
      /expected `checkIntervalChars` to be a positive integer, got number `0`/,
    ],
    [
      'fractional maxBufferedChars',
      { output: () => true, maxBufferedChars: 1.5 },
      /expected `maxBufferedChars` to be a positive integer, got number `1.5`/,
    ],
  ];
  for (const [label, options, message] of cases) {
    test(`rejects ${label} at factory time`, () => {
      assert.throws(() => guard(options as GuardOptions), { name: 'TypeError', message });
    });
  }
});

describe('guard: input', () => {
  test('allows with undefined or true, and the model is called', async () => {
    for (const verdict of [undefined, true] as const) {
      const model = scriptedExecutor(['ok']);
      const app = pipeline(model).use(guard({ input: () => verdict }));
      const response = await app.generate(BASE_REQUEST);
      assert.equal(response.message.content, 'ok');
      assert.equal(model.calls.length, 1);
    }
  });

  test('a reason string rejects with PolicyViolationError naming the guard as a middleware; the model is never called', async () => {
    const model = scriptedExecutor(['never']);
    const log: string[] = [];
    const app = pipeline(model).use(
      logLayer('outer', log),
      guard({ name: 'no-hi', input: (request) => (lastText(request) === 'hi' ? 'greetings are not allowed' : true) }),
      logLayer('inner', log),
    );
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(PolicyViolationError.isInstance(error));
      assert.deepEqual(error.violation, {
        reason: 'greetings are not allowed',
        code: 'GUARD_INPUT',
        layer: 'no-hi',
        hook: 'llm_input',
      });
      assert.equal(error.message, 'middleware `no-hi` blocked the input: greetings are not allowed (GUARD_INPUT)');
      return true;
    });
    assert.equal(model.calls.length, 0);
    assert.deepEqual(log, ['outer:in']);
  });

  test('false blocks with a default reason; a block object sets code and details', async () => {
    const app1 = pipeline(scriptedExecutor(['x'])).use(guard({ input: () => false }));
    await assert.rejects(app1.generate(BASE_REQUEST), { message: /input rejected by `guard` \(GUARD_INPUT\)/ });
    const app2 = pipeline(scriptedExecutor(['x'])).use(
      guard({ input: () => ({ reason: 'topic', code: 'TOPIC_001', details: { topic: 'weapons' } }) }),
    );
    await assert.rejects(app2.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(PolicyViolationError.isInstance(error));
      assert.equal(error.violation.code, 'TOPIC_001');
      assert.deepEqual(error.violation.details, { topic: 'weapons' });
      return true;
    });
  });

  test('replaceWith answers with a refusal without calling the model (generate and stream)', async () => {
    const model = scriptedExecutor(['never']);
    const app = pipeline(model).use(guard({ input: () => ({ reason: 'off topic', replaceWith: 'I cannot help.' }) }));
    const response = await app.generate(BASE_REQUEST);
    assert.deepEqual(response, {
      message: { role: 'assistant', content: 'I cannot help.' },
      finishReason: 'content-filter',
    });
    const stream = app.stream(BASE_REQUEST);
    assert.deepEqual(await collect(stream), { texts: ['I cannot help.'], types: ['text-delta', 'finish'] });
    assert.equal(model.calls.length, 0);
  });

  test('async checks are awaited and see the request as earlier layers shaped it', async () => {
    const model = scriptedExecutor(['ok']);
    const seen: string[] = [];
    const app = pipeline(model).use(
      async (ctx, next) => {
        ctx.update((draft) => void draft.messages.push({ role: 'user', content: 'added' }));
        await next();
      },
      guard({
        input: async (request) => {
          await new Promise((resolve) => setImmediate(resolve));
          seen.push(lastText(request));
          return 'nope';
        },
      }),
    );
    await assert.rejects(app.generate(BASE_REQUEST), PolicyViolationError);
    assert.deepEqual(seen, ['added']);
  });

  test('an abort stops waiting for a check that ignores the signal', async () => {
    const controller = new AbortController();
    const app = pipeline(scriptedExecutor(['ok'])).use(
      guard({
        input: () => {
          controller.abort(new Error('caller gave up'));
          return new Promise<undefined>(() => {});
        },
      }),
    );
    await assert.rejects(app.generate(BASE_REQUEST, { signal: controller.signal }), { message: 'caller gave up' });
  });

  test('a check that returns something else is a TypeError saying what to return', async () => {
    const app = pipeline(scriptedExecutor(['ok'])).use(guard({ input: () => 42 as never }));
    await assert.rejects(app.generate(BASE_REQUEST), {
      name: 'TypeError',
      message: /the input check returned number; return undefined or true to allow/,
    });
  });
});

describe('guard: output (generate)', () => {
  test('checks the response after next(); a block rejects with GUARD_OUTPUT at llm_output', async () => {
    const app = pipeline(scriptedExecutor(['the SECRET is 42'])).use(
      guard({ output: (response) => (textOf(response.message).includes('SECRET') ? 'leaks a secret' : undefined) }),
    );
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(PolicyViolationError.isInstance(error));
      assert.equal(error.violation.code, 'GUARD_OUTPUT');
      assert.equal(error.violation.hook, 'llm_output');
      assert.equal(error.message, 'middleware `guard` blocked the output: leaks a secret (GUARD_OUTPUT)');
      return true;
    });
  });

  test('replaceWith swaps the response; outer layers see the refusal', async () => {
    let outer = '';
    const app = pipeline(scriptedExecutor(['the SECRET is 42'])).use(
      async (ctx, next) => {
        await next();
        outer = textOf(ctx.response?.message ?? { content: '' });
      },
      guard({ output: () => ({ reason: 'leak', replaceWith: 'Redacted answer.' }) }),
    );
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, 'Redacted answer.');
    assert.equal(response.finishReason, 'content-filter');
    assert.equal(outer, 'Redacted answer.');
  });

  test('the output check gets final: true and the call context', async () => {
    const infos: unknown[] = [];
    const app = pipeline(scriptedExecutor(['fine'])).use(
      guard({
        output: (_response, ctx, info) => {
          infos.push({ ...info, mode: ctx.mode });
        },
      }),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(infos, [{ final: true, mode: 'generate' }]);
  });
});

describe('guard: output (stream)', () => {
  const TEXT = 'alpha beta SECRET gamma delta';
  const blockSecret: GuardOptions['output'] = (response) =>
    textOf(response.message).includes('SECRET') ? { reason: 'secret', replaceWith: '[withheld]' } : undefined;

  test("'buffer' (default) releases nothing before the check passes, then every part in order", async () => {
    const events: string[] = [];
    const app = pipeline(scriptedExecutor(['abcdefghijkl'], { chunkSize: 4 })).use(
      guard({
        output: (_response, _ctx, info) => {
          events.push(`check:${info.final}`);
        },
      }),
    );
    for await (const part of app.stream(BASE_REQUEST)) {
      events.push(part.type === 'text-delta' ? part.text : part.type);
    }
    assert.deepEqual(events, ['check:true', 'abcd', 'efgh', 'ijkl', 'finish']);
  });

  test("'buffer' answers with replaceWith and the refused text never streams", async () => {
    const model = scriptedExecutor([TEXT], { chunkSize: 5 });
    const app = pipeline(model).use(guard({ output: blockSecret }));
    const stream = app.stream(BASE_REQUEST);
    assert.deepEqual(await collect(stream), { texts: ['[withheld]'], types: ['text-delta', 'finish'] });
    assert.equal((await stream.response).finishReason, 'content-filter');
    assert.equal(model.closedStreams, 1);
  });

  test("'incremental' releases deltas that pass and stops before the first that fails", async () => {
    const model = scriptedExecutor([TEXT], { chunkSize: 5 });
    const app = pipeline(model).use(guard({ output: blockSecret, streaming: 'incremental', checkIntervalChars: 5 }));
    const stream = app.stream(BASE_REQUEST);
    // 'alpha', ' beta', ' SECR' pass ('SECRET' is not complete yet); 'ET ga' completes it.
    assert.deepEqual(await collect(stream), {
      texts: ['alpha', ' beta', ' SECR', '[withheld]'],
      types: ['text-delta', 'text-delta', 'text-delta', 'text-delta', 'finish'],
    });
    const response = await stream.response;
    assert.equal(response.message.content, 'alpha beta SECR[withheld]');
    assert.equal(response.finishReason, 'content-filter');
    assert.equal(model.openStreams, 0);
  });

  test("'incremental' checks every checkIntervalChars at first with final: false, then once with final: true", async () => {
    const seen: string[] = [];
    const app = pipeline(scriptedExecutor(['abcdef'], { chunkSize: 2 })).use(
      guard({
        streaming: 'incremental',
        checkIntervalChars: 2,
        output: (response, _ctx, { final }) => {
          seen.push(`${textOf(response.message)}:${final}`);
        },
      }),
    );
    assert.equal(await app.stream(BASE_REQUEST).text(), 'abcdef');
    assert.deepEqual(seen, ['ab:false', 'abcd:false', 'abcdef:false', 'abcdef:true']);
  });

  test("'incremental' intervals grow to a quarter of what was checked, so checking stays linear", async () => {
    const lengths: number[] = [];
    const released: number[] = [];
    let total = 0;
    const app = pipeline(scriptedExecutor(['x'.repeat(40)], { chunkSize: 1 })).use(
      async (_ctx, next) => {
        await next();
      },
      guard({
        streaming: 'incremental',
        checkIntervalChars: 4,
        output: (response, _ctx, { final }) => {
          lengths.push(final ? -textOf(response.message).length : textOf(response.message).length);
        },
      }),
    );
    for await (const part of app.stream(BASE_REQUEST)) {
      if (part.type !== 'text-delta') continue;
      total += part.text.length;
      // Every released character was covered by a check that already ran.
      assert.ok(total <= Math.abs(lengths.at(-1) ?? 0), `released ${total} after checks ${lengths}`);
      released.push(total);
    }
    // 4 at a time up to 16 (a quarter of 16 is 4), then 20 → 25 → 31 → 38, then the final check.
    assert.deepEqual(lengths, [4, 8, 12, 16, 20, 25, 31, 38, -40]);
    assert.equal(released.at(-1), 40);
  });

  test("'incremental' holds reasoning and tool calls until a check covers them: a block releases none of them", async () => {
    const parts: StreamPart[] = [
      { type: 'reasoning-delta', text: 'the user wants the SECRET' },
      { type: 'tool-call-delta', toolCallId: 'c1', toolName: 'send', inputDelta: '{"to":"attacker",' },
      { type: 'tool-call-delta', toolCallId: 'c1', inputDelta: '"body":"SECRET"}' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'send', input: { to: 'attacker', body: 'SECRET' } },
      { type: 'finish', finishReason: 'tool-calls' },
    ];
    const executor: Executor = {
      name: 'leaky',
      generate: () => Promise.reject(new Error('stream only')),
      async *stream() {
        yield* parts;
      },
    };
    const leaks = (response: { message: unknown }) => JSON.stringify(response.message).includes('SECRET');
    for (const checkIntervalChars of [1, 10_000]) {
      const blocking = pipeline(executor).use(
        guard({ streaming: 'incremental', checkIntervalChars, output: (r) => (leaks(r) ? 'exfiltration' : true) }),
      );
      const seen: string[] = [];
      await assert.rejects(async () => {
        for await (const part of blocking.stream(BASE_REQUEST)) seen.push(part.type);
      }, PolicyViolationError);
      assert.deepEqual(seen, [], `checkIntervalChars ${checkIntervalChars}`);
      const replacing = pipeline(executor).use(
        guard({
          streaming: 'incremental',
          checkIntervalChars,
          output: (r) => (leaks(r) ? { reason: 'exfiltration', replaceWith: 'No.' } : true),
        }),
      );
      assert.deepEqual(await collect(replacing.stream(BASE_REQUEST)), {
        texts: ['No.'],
        types: ['text-delta', 'finish'],
      });
    }
  });

  test("'incremental' releases a tool-call delta only after a check saw its complete call", async () => {
    const executor: Executor = {
      name: 'tools',
      generate: () => Promise.reject(new Error('stream only')),
      async *stream() {
        yield { type: 'text-delta', text: 'on it' };
        yield { type: 'tool-call-delta', toolCallId: 'c1', toolName: 'search', inputDelta: '{"q":' };
        yield { type: 'tool-call-delta', toolCallId: 'c1', inputDelta: '"x"}' };
        yield { type: 'tool-call', toolCallId: 'c1', toolName: 'search', input: { q: 'x' } };
        yield { type: 'finish', finishReason: 'tool-calls' };
      },
    };
    const events: string[] = [];
    const app = pipeline(executor).use(
      guard({
        streaming: 'incremental',
        checkIntervalChars: 1,
        output: (response, _ctx, { final }) => {
          const calls = JSON.stringify(response.message).includes('"tool-call"') ? 1 : 0;
          events.push(`check(calls=${calls}${final ? ', final' : ''})`);
        },
      }),
    );
    for await (const part of app.stream(BASE_REQUEST)) events.push(part.type);
    assert.deepEqual(events, [
      'check(calls=0)',
      'text-delta',
      'check(calls=0)',
      'check(calls=0)',
      'check(calls=1)',
      'tool-call-delta',
      'tool-call-delta',
      'tool-call',
      'check(calls=1, final)',
      'finish',
    ]);
  });

  test("'incremental' releases a checked batch of plain text deltas as one delta; a delta with extras stays whole", async () => {
    const executor: Executor = {
      name: 'extras',
      generate: () => Promise.reject(new Error('stream only')),
      async *stream() {
        yield { type: 'text-delta', text: 'ab' };
        yield { type: 'text-delta', text: 'cd' };
        yield { type: 'text-delta', text: 'ef', providerId: 'p1' } as StreamPart;
        yield { type: 'text-delta', text: 'gh' };
        yield { type: 'finish', finishReason: 'stop' };
      },
    };
    const app = pipeline(executor).use(
      guard({ streaming: 'incremental', checkIntervalChars: 100, output: () => true }),
    );
    const parts = [];
    for await (const part of app.stream(BASE_REQUEST)) parts.push(part);
    assert.deepEqual(parts, [
      { type: 'text-delta', text: 'abcd' },
      { type: 'text-delta', text: 'ef', providerId: 'p1' },
      { type: 'text-delta', text: 'gh' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  test("'incremental' without replaceWith errors the stream with PolicyViolationError", async () => {
    const app = pipeline(scriptedExecutor([TEXT], { chunkSize: 5 })).use(
      guard({
        streaming: 'incremental',
        checkIntervalChars: 5,
        output: (r) => (textOf(r.message).includes('SECRET') ? 'secret' : true),
      }),
    );
    const texts: string[] = [];
    await assert.rejects(async () => {
      for await (const part of app.stream(BASE_REQUEST)) if (part.type === 'text-delta') texts.push(part.text);
    }, PolicyViolationError);
    assert.deepEqual(texts, ['alpha', ' beta', ' SECR']);
  });

  test("'final' streams the text, withholds the finish part and errors the stream on a block", async () => {
    const app = pipeline(scriptedExecutor([TEXT], { chunkSize: 10 })).use(
      guard({ streaming: 'final', output: blockSecret }),
    );
    const types: string[] = [];
    await assert.rejects(async () => {
      for await (const part of app.stream(BASE_REQUEST)) types.push(part.type);
    }, PolicyViolationError);
    assert.deepEqual(types, ['text-delta', 'text-delta', 'text-delta']);
  });

  test("'final' passes every part through when the check allows", async () => {
    const app = pipeline(scriptedExecutor(['all good'], { chunkSize: 3 })).use(
      guard({ streaming: 'final', output: () => true }),
    );
    assert.deepEqual(await collect(app.stream(BASE_REQUEST)), {
      texts: ['all', ' go', 'od'],
      types: ['text-delta', 'text-delta', 'text-delta', 'finish'],
    });
  });

  for (const streaming of ['buffer', 'incremental', 'final'] as const) {
    test(`'${streaming}': an endless stream fails with a non-retryable BufferLimitError past maxBufferedChars and is closed`, async () => {
      let produced = 0;
      let closed = false;
      const endless: Executor = {
        name: 'endless',
        generate: () => Promise.reject(new Error('stream only')),
        async *stream() {
          try {
            // Endless as far as the guard can tell; a guard with no bound fails here instead of
            // running out of memory.
            while (produced < 1_000_000) {
              produced += 1_000;
              yield { type: 'text-delta', text: 'x'.repeat(1_000) };
            }
            throw new Error('the guard never stopped the stream');
          } finally {
            closed = true;
          }
        },
      };
      const app = pipeline(endless).use(
        guard({ streaming, name: 'big', maxBufferedChars: 10_000, output: () => true }),
      );
      let released = 0;
      await assert.rejects(
        async () => {
          for await (const part of app.stream(BASE_REQUEST))
            if (part.type === 'text-delta') released += part.text.length;
        },
        (error: unknown) => {
          assert.ok(BufferLimitError.isInstance(error));
          assert.equal(error.layer, 'big');
          assert.equal(error.limit, 10_000);
          assert.equal(isRetryable(error), false);
          assert.match(error.message, /^big: the streamed answer passed `maxBufferedChars` \(10000\) characters/);
          return true;
        },
      );
      assert.equal(produced, 11_000);
      assert.equal(closed, true);
      // 'buffer' releases nothing before the end; 'incremental' what its checks passed (at 1,000
      // characters, then 2,000, ... 9,000); 'final' releases parts unchecked by design.
      assert.equal(released, { buffer: 0, incremental: 9_000, final: 10_000 }[streaming]);
    });
  }

  test('breaking out early closes the provider stream', async () => {
    const model = scriptedExecutor(['abcdefghij'], { chunkSize: 2 });
    const app = pipeline(model).use(guard({ streaming: 'incremental', output: () => true }));
    for await (const part of app.stream(BASE_REQUEST)) {
      assert.equal(part.type, 'text-delta');
      break;
    }
    assert.equal(model.openStreams, 0);
    assert.equal(model.closedStreams, 1);
  });
});
