import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ReadonlyModelRequest, pipeline, runAgent } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { BufferLimitError, OutputValidationError, isRetryable } from '../../lib/core/errors.js';
import { type ValidateOutputOptions, validateOutput } from '../../middleware/validate-output.js';
import { BASE_REQUEST, logLayer } from '../fixtures/core.js';
import { USER, add } from '../fixtures/agent.js';

const City = z.object({ city: z.string(), population: z.number().int() });
const GOOD = '{"city":"Paris","population":2100000}';

const roles = (request: ReadonlyModelRequest | undefined) =>
  request?.messages.map((m) => `${m.role}:${typeof m.content === 'string' ? m.content : '[parts]'}`);

describe('validateOutput: options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no schema', {}, /expected `schema` to be a zod schema, e\.g\. z\.object\(\{ \.\.\. \}\), got `undefined`/],
    [
      'negative maxRepairs',
      { schema: City, maxRepairs: -1 },
      /expected `maxRepairs` to be a non-negative integer, got number `-1`/,
    ],
    ['bad repairPrompt', { schema: City, repairPrompt: 'again' }, /expected `repairPrompt` to be a function/],
    [
      'zero maxBufferedChars',
      { schema: City, maxBufferedChars: 0 },
      /expected `maxBufferedChars` to be a positive integer, got number `0`/,
    ],
  ];
  for (const [label, options, message] of cases) {
    test(`rejects ${label}`, () => {
      assert.throws(() => validateOutput(options as ValidateOutputOptions<typeof City>), {
        name: 'TypeError',
        message,
      });
    });
  }
});

describe('validateOutput: generate', () => {
  test('a valid answer passes untouched, once, and the typed accessor returns the parsed value', async () => {
    const model = scriptedExecutor([GOOD]);
    const validated = validateOutput({ schema: City });
    let parsed: { city: string; population: number } | undefined;
    const app = pipeline(model).use(async (ctx, next) => {
      await next();
      parsed = validated.output(ctx);
    }, validated);
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, GOOD);
    assert.deepEqual(parsed, { city: 'Paris', population: 2100000 });
    assert.equal(model.calls.length, 1);
  });

  test('two validateOutput layers: each .output(ctx) returns its own value', async () => {
    const model = scriptedExecutor([GOOD]);
    const outer = validateOutput({ schema: z.object({ city: z.string() }).transform((v) => v.city.toUpperCase()) });
    const inner = validateOutput({ schema: City });
    let seen: unknown[] = [];
    const app = pipeline(model).use(
      async (ctx, next) => {
        await next();
        seen = [outer.output(ctx), inner.output(ctx)];
      },
      outer,
      inner,
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(seen, ['PARIS', { city: 'Paris', population: 2100000 }]);
  });

  test('a schema failure is sent back with the zod issues as a user message, and the repair passes', async () => {
    const model = scriptedExecutor(['{"city":"Paris","population":"many"}', GOOD]);
    const app = pipeline(model).use(validateOutput({ schema: City }));
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, GOOD);
    assert.equal(model.calls.length, 2);
    assert.deepEqual(roles(model.calls[1]?.request), [
      'user:hi',
      'assistant:{"city":"Paris","population":"many"}',
      'user:Your previous answer could not be used: it does not match the schema:\n✖ Invalid input: expected number, received string\n  → at population\nReply again with only the JSON value that matches the requested shape: no prose, no code fence.',
    ]);
  });

  test('each repair re-runs the inner layers from the snapshot plus the repair messages, with an exact log', async () => {
    const log: string[] = [];
    const model = scriptedExecutor(['nope', 'still nope', GOOD]);
    const app = pipeline(model).use(
      logLayer('outer', log),
      validateOutput({ schema: City, maxRepairs: 2, repairPrompt: ({ repair }) => `repair ${repair}` }),
      logLayer('inner', log),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(log, [
      'outer:in',
      'inner:in',
      'inner:out',
      'inner:in',
      'inner:out',
      'inner:in',
      'inner:out',
      'outer:out',
    ]);
    assert.deepEqual(
      model.calls.map((c) => roles(c.request)),
      [
        ['user:hi'],
        ['user:hi', 'assistant:nope', 'user:repair 1'],
        ['user:hi', 'assistant:nope', 'user:repair 1', 'assistant:still nope', 'user:repair 2'],
      ],
    );
  });

  test('the final failure rejects with OutputValidationError carrying the raw text and the zod issues', async () => {
    const model = scriptedExecutor(['{"city":1}', '{"city":2}']);
    const app = pipeline(model).use(validateOutput({ schema: City }));
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(OutputValidationError.isInstance(error));
      assert.equal(error.text, '{"city":2}');
      assert.equal(error.attempts, 2);
      assert.equal(error.layer, 'validateOutput');
      assert.deepEqual(
        error.issues.map((i) => i.path.join('.')),
        ['city', 'population'],
      );
      assert.equal(
        error.message,
        "validateOutput: the model's answer is still invalid after 2 attempt(s): it does not match the schema: 2 issue(s) at `city` (invalid_type), `population` (invalid_type). The answer is in the error's `text`. Raise `maxRepairs`, describe the expected JSON in the prompt, or loosen the schema.",
      );
      return true;
    });
  });

  test('text that is not JSON fails with the syntax error and empty issues; maxRepairs 0 asks once', async () => {
    const model = scriptedExecutor(['Paris, about two million']);
    const app = pipeline(model).use(validateOutput({ schema: City, maxRepairs: 0 }));
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(OutputValidationError.isInstance(error));
      assert.deepEqual(error.issues, []);
      assert.ok(error.cause instanceof SyntaxError);
      assert.match(
        error.message,
        /still invalid after 1 attempt\(s\): it is not valid JSON\. The answer is in the error's `text`/,
      );
      return true;
    });
    assert.equal(model.calls.length, 1);
  });

  test('a Markdown fence is accepted and removed from the response text', async () => {
    const app = pipeline(scriptedExecutor([`\`\`\`json\n${GOOD}\n\`\`\``])).use(validateOutput({ schema: City }));
    const response = await app.generate(BASE_REQUEST);
    assert.equal(response.message.content, GOOD);
  });

  test("the response's usage sums every attempt", async () => {
    const usage = { inputTokens: 10, outputTokens: 2, totalTokens: 12 };
    const model = scriptedExecutor([
      { text: 'bad', usage },
      { text: GOOD, usage: { inputTokens: 20, outputTokens: 5, totalTokens: 25 } },
    ]);
    const app = pipeline(model).use(validateOutput({ schema: City }));
    const response = await app.generate(BASE_REQUEST);
    assert.deepEqual(response.usage, { inputTokens: 30, outputTokens: 7, totalTokens: 37 });
  });

  test('async refinements are awaited', async () => {
    const schema = City.refine(async (v) => v.population > 0, { message: 'population must be positive' });
    const model = scriptedExecutor(['{"city":"X","population":0}', GOOD]);
    const app = pipeline(model).use(validateOutput({ schema }));
    await app.generate(BASE_REQUEST);
    assert.match(String(model.calls[1]?.request.messages[2]?.content), /population must be positive/);
  });

  test('a response that calls tools is not validated; the agent run validates its final answer', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }] }, 'three', GOOD]);
    const app = pipeline(model).use(validateOutput({ schema: City }));
    const result = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
    assert.equal(result.text, GOOD);
    assert.equal(model.calls.length, 3);
  });
});

describe('validateOutput: no content in the error message', () => {
  // Messages land in logs, audit records and span status even with content capture off.
  const CANARY = 'CANARY-7f3a9';
  const answers: [string, string][] = [
    ['not JSON', `The secret is ${CANARY}`],
    ['JSON that fails the schema', JSON.stringify({ city: CANARY, population: CANARY })],
    ['JSON failing a refinement that quotes the value', JSON.stringify({ city: CANARY, population: 1 })],
  ];
  for (const [label, text] of answers) {
    test(`${label}: the answer is in \`text\`, never in \`message\``, async () => {
      const schema = City.refine((v) => v.city.length < 5, {
        error: (issue) => `bad city ${JSON.stringify(issue.input)}`,
      });
      const app = pipeline(scriptedExecutor([text])).use(validateOutput({ schema, maxRepairs: 0 }));
      await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
        assert.ok(OutputValidationError.isInstance(error));
        assert.equal(error.text, text);
        assert.ok(!error.message.includes(CANARY), error.message);
        assert.ok(!JSON.stringify({ message: error.message, stack: error.stack }).includes(CANARY));
        return true;
      });
    });
  }
});

describe('validateOutput: stream', () => {
  test('a streamed answer past maxBufferedChars fails with a non-retryable BufferLimitError and closes the stream', async () => {
    const model = scriptedExecutor([`"${'x'.repeat(100)}"`], { chunkSize: 10 });
    const app = pipeline(model).use(validateOutput({ schema: z.string(), maxBufferedChars: 50, name: 'json' }));
    const parts: string[] = [];
    await assert.rejects(
      async () => {
        for await (const part of app.stream(BASE_REQUEST)) parts.push(part.type);
      },
      (error: unknown) => {
        assert.ok(BufferLimitError.isInstance(error));
        assert.equal(error.layer, 'json');
        assert.equal(error.limit, 50);
        assert.equal(isRetryable(error), false);
        assert.match(error.message, /^json: the streamed answer passed `maxBufferedChars` \(50\) characters/);
        return true;
      },
    );
    assert.deepEqual(parts, []);
    assert.equal(model.openStreams, 0);
  });

  test('an answer of exactly maxBufferedChars passes', async () => {
    const text = `"${'x'.repeat(48)}"`;
    const app = pipeline(scriptedExecutor([text], { chunkSize: 7 })).use(
      validateOutput({ schema: z.string(), maxBufferedChars: 50 }),
    );
    assert.equal(await app.stream(BASE_REQUEST).text(), text);
  });

  test('reads the stream to the end, repairs, then streams only the answer that passed', async () => {
    const model = scriptedExecutor(['{"city":"Paris"}', GOOD], { chunkSize: 4 });
    const validated = validateOutput({ schema: City });
    let parsed: unknown;
    const app = pipeline(model).use(async (ctx, next) => {
      await next();
      await ctx.tapStream({ onFinish: () => void (parsed = validated.output(ctx)) });
    }, validated);
    const texts: string[] = [];
    const stream = app.stream(BASE_REQUEST);
    for await (const part of stream) if (part.type === 'text-delta') texts.push(part.text);
    assert.equal(texts.join(''), GOOD);
    assert.equal((await stream.response).message.content, GOOD);
    assert.deepEqual(parsed, { city: 'Paris', population: 2100000 });
    assert.deepEqual(
      model.calls.map((c) => c.mode),
      ['stream', 'stream'],
    );
    assert.equal(model.openStreams, 0);
  });

  test('the final failure errors the stream before any part is released', async () => {
    const app = pipeline(scriptedExecutor(['x', 'y'])).use(validateOutput({ schema: City }));
    const parts: string[] = [];
    await assert.rejects(async () => {
      for await (const part of app.stream(BASE_REQUEST)) parts.push(part.type);
    }, OutputValidationError);
    assert.deepEqual(parts, []);
  });
});
