import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type StreamPart, pipeline, textOf } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { PolicyViolationError } from '../../lib/errors.js';
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
    ['bad streaming', { output: () => true, streaming: 'later' }, /expected `streaming` to be .* got `later`/],
    ['empty name', { input: () => true, name: '' }, /expected `name` to be a non-empty string/],
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

  test('a reason string rejects with PolicyViolationError naming the guard; the model is never called', async () => {
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
        plugin: 'no-hi',
        hook: 'llm_input',
      });
      assert.equal(
        error.message,
        'plugin `no-hi` at hook `llm_input` blocked: greetings are not allowed (GUARD_INPUT)',
      );
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
    const app = pipeline(model).use(guard({ output: blockSecret, streaming: 'incremental' }));
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

  test("'incremental' calls the check per text delta with final: false, then once with final: true", async () => {
    const seen: string[] = [];
    const app = pipeline(scriptedExecutor(['abcdef'], { chunkSize: 2 })).use(
      guard({
        streaming: 'incremental',
        output: (response, _ctx, { final }) => {
          seen.push(`${textOf(response.message)}:${final}`);
        },
      }),
    );
    assert.equal(await app.stream(BASE_REQUEST).text(), 'abcdef');
    assert.deepEqual(seen, ['ab:false', 'abcd:false', 'abcdef:false', 'abcdef:true']);
  });

  test("'incremental' without replaceWith errors the stream with PolicyViolationError", async () => {
    const app = pipeline(scriptedExecutor([TEXT], { chunkSize: 5 })).use(
      guard({ streaming: 'incremental', output: (r) => (textOf(r.message).includes('SECRET') ? 'secret' : true) }),
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
