import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BufferLimitError,
  type ModelRequest,
  OutputValidationError,
  generateObject,
  jsonResponseFormat,
  pipeline,
  streamObject,
} from 'modelware';
import { validateOutput } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { parsePartialJson } from '../../../lib/internal/partial-json.js';

const Recipe = z.object({ title: z.string(), steps: z.array(z.string()), minutes: z.number() });
const ANSWER = '{"title":"Tea","steps":["boil water","steep"],"minutes":5}';
const messages: ModelRequest['messages'] = [{ role: 'user', content: 'A recipe' }];

describe('generateObject()', () => {
  test('sends the schema as responseFormat and returns the parsed object', async () => {
    const model = scriptedExecutor([ANSWER]);
    const { object, response } = await generateObject(pipeline(model), {
      model: 'm',
      messages,
      schema: Recipe,
      name: 'recipe',
    });
    assert.deepEqual(object, { title: 'Tea', steps: ['boil water', 'steep'], minutes: 5 });
    assert.equal(response.message.content, ANSWER);
    assert.deepEqual(model.calls[0]?.request.responseFormat, jsonResponseFormat(Recipe, { name: 'recipe' }));
  });

  test("uses the executor's default model, accepts a fenced answer, applies transforms", async () => {
    const model = scriptedExecutor([`\`\`\`json\n${ANSWER}\n\`\`\``]);
    const executor = { ...model, defaultModel: 'dm', generate: model.generate };
    const schema = z.object({ minutes: z.number().transform((n) => n * 60) });
    // A transform cannot be sent as JSON Schema: jsonResponseFormat rejects it before any call.
    await assert.rejects(generateObject(executor, { messages, schema }), /cannot be expressed/);
    const { object } = await generateObject(executor, { messages, schema: z.object({ minutes: z.number() }) });
    assert.equal(object.minutes, 5);
    assert.equal(model.calls[0]?.request.model, 'dm');
  });

  test('an invalid answer is an OutputValidationError that never quotes it', async () => {
    for (const answer of ['not json SECRET', '{"title":"SECRET"}']) {
      await assert.rejects(
        generateObject(pipeline(scriptedExecutor([answer])), { model: 'm', messages, schema: Recipe }),
        (error: unknown) =>
          error instanceof OutputValidationError && error.text === answer && !error.message.includes('SECRET'),
      );
    }
  });

  test('with validateOutput() in the pipeline a failing answer is repaired', async () => {
    const model = scriptedExecutor(['{"title":"Tea"}', ANSWER]);
    const app = pipeline(model).use(validateOutput({ schema: Recipe }));
    const { object } = await generateObject(app, { model: 'm', messages, schema: Recipe });
    assert.equal(object.minutes, 5);
    assert.equal(model.calls.length, 2);
  });

  test('rejects unknown options, a missing model and a non-schema; honours the signal', async () => {
    const app = pipeline(scriptedExecutor([ANSWER], { delayMs: 1000 }));
    await assert.rejects(
      generateObject(app, { model: 'm', messages, schema: Recipe, shema: 1 } as never),
      /^TypeError: generateObject\(\): unknown option `shema` \(did you mean `schema`\?\)\. Known options: model, messages/,
    );
    await assert.rejects(generateObject(app, { messages, schema: Recipe }), /expected `model`/);
    await assert.rejects(generateObject(app, { model: 'm', messages, schema: {} as never }), /zod schema/);
    const controller = new AbortController();
    const pending = generateObject(app, { model: 'm', messages, schema: Recipe, signal: controller.signal });
    controller.abort(new Error('stop'));
    await assert.rejects(pending, /stop/);
  });

  test('an unknown option key that is not a plain identifier is described, never printed; streamObject checks too', async () => {
    const app = pipeline(scriptedExecutor([ANSWER]));
    const hostile = `secret ${'<b>'.repeat(100)}`;
    const error = await generateObject(app, { model: 'm', messages, schema: Recipe, [hostile]: 1 } as never).catch(
      (e: unknown) => e,
    );
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /unknown option a key of 307 characters/);
    assert.doesNotMatch(error.message, /secret|<b>/);
    await assert.rejects(
      (async () => {
        for await (const _ of streamObject(app, { model: 'm', messages, schema: Recipe, maxchars: 5 } as never));
      })(),
      /^TypeError: streamObject\(\): unknown option `maxchars` \(did you mean `maxChars`\?\)/,
    );
  });
});

describe('streamObject()', () => {
  test('yields growing partial objects, then the validated object with the response', async () => {
    const model = scriptedExecutor([ANSWER], { chunkSize: 3 });
    const events = [];
    for await (const event of streamObject(pipeline(model), { model: 'm', messages, schema: Recipe })) {
      events.push(event);
    }
    const last = events.at(-1);
    assert.equal(last?.type, 'object');
    assert.deepEqual(last?.type === 'object' && last.object, {
      title: 'Tea',
      steps: ['boil water', 'steep'],
      minutes: 5,
    });
    const partials = events.flatMap((e) => (e.type === 'partial' ? [e.partial] : []));
    assert.ok(partials.length > 5);
    assert.ok(partials.some((p) => p.title === 'Te'));
    assert.ok(partials.some((p) => p.steps?.length === 1 && p.minutes === undefined));
    // Each partial differs from the one before it.
    const keys = partials.map((p) => JSON.stringify(p));
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(model.calls[0]?.request.responseFormat?.type, 'json');
  });

  test('breaking out closes the stream; an invalid final answer rejects; maxChars bounds it', async () => {
    const model = scriptedExecutor([ANSWER, '{"title":1}', ANSWER], { chunkSize: 3 });
    for await (const event of streamObject(model, { model: 'm', messages, schema: Recipe })) {
      assert.equal(event.type, 'partial');
      break;
    }
    assert.equal(model.openStreams, 0);
    await assert.rejects(async () => {
      for await (const _ of streamObject(model, { model: 'm', messages, schema: Recipe }));
    }, OutputValidationError);
    await assert.rejects(async () => {
      for await (const _ of streamObject(model, { model: 'm', messages, schema: Recipe, maxChars: 10 }));
    }, BufferLimitError);
  });
});

describe('parsePartialJson()', () => {
  test('prefixes of a JSON text', () => {
    const cases: [string, unknown][] = [
      ['', undefined],
      ['{', {}],
      ['{"ti', {}],
      ['{"title"', {}],
      ['{"title": "Te', { title: 'Te' }],
      ['{"a": 12', {}],
      ['{"a": 12,', { a: 12 }],
      ['{"a": [1, 2', { a: [1] }],
      ['{"a": [1, 2]', { a: [1, 2] }],
      ['{"a": tr', {}],
      ['{"a": true}', { a: true }],
      ['{"a": "x\\', { a: 'x' }],
      ['{"a": "x\\u00', { a: 'x' }],
      ['{"a": "x\\u00e9"', { a: 'xé' }],
      ['[{"a": {"b": [null', [{ a: { b: [] } }]],
      ['{"__proto__": {"polluted": 1}}', JSON.parse('{"__proto__": {"polluted": 1}}')],
      ['nonsense', undefined],
      ['{"a" 1}', undefined],
    ];
    for (const [text, expected] of cases) assert.deepEqual(parsePartialJson(text), expected, text);
    assert.equal(({} as { polluted?: number }).polluted, undefined);
  });

  test('every prefix of any JSON text parses, and the whole text parses to JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        for (let i = 0; i < text.length; i++) parsePartialJson(text.slice(0, i));
        const whole = parsePartialJson(`${text} `);
        assert.deepEqual(whole, JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });

  test('nesting past maxDepth gives undefined instead of exhausting the stack', () => {
    assert.equal(parsePartialJson('['.repeat(100_000)), undefined);
  });
});
