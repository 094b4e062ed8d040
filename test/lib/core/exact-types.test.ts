// Exact public types at runtime (issue 10, item 7): an unknown key is an error naming the key,
// never silently dropped, on the fast paths as on zod's.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError, InvalidResponseError, type ModelRequest, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { isQuickValidMessage, isQuickValidResponse } from '../../../lib/internal/quick-check.js';
import { BASE_REQUEST } from '../../fixtures/core.js';

const reply = { message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' } as const;

describe('exact types: unknown keys from the caller', () => {
  const cases: readonly [string, unknown, RegExp][] = [
    ['a misspelt request key', { ...BASE_REQUEST, modle: 'm' }, /unknown key `modle` \(did you mean `model`\?\)/],
    [
      'a misspelt message key',
      { model: 'm', messages: [{ role: 'user', content: 'hi', contnet: 'x' }] },
      /unknown key `contnet` \(did you mean `content`\?\)/,
    ],
    [
      'a misspelt option',
      { ...BASE_REQUEST, options: { maxTokens: 50 } },
      /unknown key `maxTokens` \(did you mean `maxOutputTokens`\?\); provider fields go in `options.openai`/,
    ],
    [
      'an extra key on a tool result',
      {
        model: 'm',
        messages: [
          { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 't', input: {} }] },
          { role: 'tool', toolCallId: 'c1', toolName: 't', content: 'r', cache: true },
        ],
      },
      /unknown key `cache`/,
    ],
  ];
  for (const [label, request, key] of cases) {
    for (const layers of [0, 1]) {
      test(`${label} is an InvalidRequestError naming the key (${layers ? 'with a layer' : 'no layers'})`, async () => {
        const app = pipeline(scriptedExecutor(['x']));
        if (layers) app.use(async (_ctx, next) => next());
        await assert.rejects(app.generate(request as ModelRequest), (error: unknown) => {
          assert.ok(InvalidRequestError.isInstance(error), String(error));
          assert.equal(error.layer, 'caller');
          assert.match(error.message, key);
          return true;
        });
      });
    }
  }

  test('provider fields are accepted under their provider key', async () => {
    const app = pipeline(scriptedExecutor(['x']));
    const response = await app.generate({
      ...BASE_REQUEST,
      options: {
        openai: { service_tier: 'flex' },
        anthropic: { service_tier: 'auto' },
        providerOptions: { x: { y: 1 } },
      },
    });
    assert.equal(response.message.content, 'x');
  });
});

describe('exact types: unknown keys from layers and executors', () => {
  test("a layer's update adding an unknown key names the layer and the key", async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(async function tagger(ctx, next) {
      ctx.update((draft) => {
        (draft.messages[0] as unknown as Record<string, unknown>).tag = 1;
      });
      await next();
    });
    await assert.rejects(
      app.generate({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      (error: unknown) => {
        assert.ok(InvalidRequestError.isInstance(error));
        assert.equal(error.layer, 'tagger');
        assert.match(error.message, /messages\[0\]: unknown key `tag`/);
        return true;
      },
    );
  });

  test('a response with an unknown key is an InvalidResponseError naming it', async () => {
    const app = pipeline({ name: 'raw', generate: async () => ({ ...reply, raw: {} }) as never });
    await assert.rejects(app.generate(BASE_REQUEST), (error: unknown) => {
      assert.ok(InvalidResponseError.isInstance(error));
      assert.match(error.message, /"raw"/);
      return true;
    });
  });
});

describe('exact types: the fast paths check keys too', () => {
  const messages = [
    { role: 'user', content: 'hi', x: 1 },
    { role: 'system', content: 'hi', x: 1 },
    { role: 'assistant', content: 'hi', x: 1 },
    { role: 'assistant', content: [{ type: 'text', text: 'a', x: 1 }] },
    { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: 1, x: 1 }] },
    { role: 'tool', toolCallId: 'c', toolName: 't', content: 'r', x: 1 },
  ];
  for (const m of messages) {
    test(`quick check declines ${JSON.stringify(m)}`, () => {
      assert.equal(isQuickValidMessage(m), false);
      const { x: _, ...clean } = m as Record<string, unknown>;
      // Without the extra key (or with it moved out of a part) the same shape passes.
      if (!Array.isArray(clean.content)) assert.equal(isQuickValidMessage(clean), true);
    });
  }

  test('quick response check declines unknown keys on the response and its usage', () => {
    assert.equal(isQuickValidResponse(reply), true);
    assert.equal(isQuickValidResponse({ ...reply, raw: 1 }), false);
    assert.equal(isQuickValidResponse({ ...reply, usage: { inputTokens: 1, outputTokens: 1, cost: 1 } }), false);
  });
});
