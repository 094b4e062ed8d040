// The SDK executors check their options alike (lib/adapters/sdk-executor.ts): the exact messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { anthropicExecutor } from 'modelware/anthropic';
import { openaiExecutor, openaiResponsesExecutor } from 'modelware/openai';

const create = () => Promise.reject(new Error('not called'));
const FACTORIES = [
  {
    where: 'openaiExecutor()',
    make: (options: object) => openaiExecutor(options as never),
    client: { chat: { completions: { create } } },
    method: 'chat.completions.create()',
    example: 'new OpenAI({ apiKey })',
  },
  {
    where: 'openaiResponsesExecutor()',
    make: (options: object) => openaiResponsesExecutor(options as never),
    client: { responses: { create } },
    method: 'responses.create()',
    example: 'new OpenAI({ apiKey })',
  },
  {
    where: 'anthropicExecutor()',
    make: (options: object) => anthropicExecutor(options as never),
    client: { messages: { create } },
    method: 'messages.create()',
    example: 'new Anthropic({ apiKey })',
  },
];

/** The message of the TypeError `fn` throws. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TypeError, String(error));
    return error.message;
  }
  assert.fail('expected a TypeError');
}

describe('SDK executor options', () => {
  for (const { where, make, client, method, example } of FACTORIES) {
    test(`${where}: keys, client, body and model are checked in that order, with the same messages`, () => {
      assert.equal(make({ client, name: 'x' }).name, 'x');
      assert.match(
        messageOf(() => make({ client, bdoy: {} })),
        /unknown option `bdoy` \(did you mean `body`\?\)/,
      );
      assert.equal(
        messageOf(() => make({ client: {}, body: [] })),
        `${where}: expected \`client\` to be an SDK client with ${method}, got object. Pass { client: ${example} }.`,
      );
      assert.equal(
        messageOf(() => make({ client, body: [], model: '' })),
        `${where}: expected \`body\` to be an object of extra body fields, got an array of length 0.`,
      );
      assert.match(
        messageOf(() => make({ client, body: { stream: true } })),
        /`body\.stream` would replace/,
      );
      assert.equal(
        messageOf(() => make({ client, model: '' })),
        `${where}: expected \`model\` (the default model id) to be a non-empty string, got string \`\`.`,
      );
    });
  }

  test('the options of one executor', () => {
    const [openai, responses, anthropic] = FACTORIES.map((f) => f.client);
    assert.equal(
      messageOf(() => openaiExecutor({ client: openai, systemRole: 'admin' } as never)),
      "openaiExecutor(): expected `systemRole` to be 'system' or 'developer', got string `admin`.",
    );
    assert.equal(
      messageOf(() => openaiExecutor({ client: openai, maxTokensField: 'max' } as never)),
      "openaiExecutor(): expected `maxTokensField` to be 'max_completion_tokens' or 'max_tokens', got string `max`.",
    );
    assert.equal(
      messageOf(() => openaiResponsesExecutor({ client: responses, systemRole: 'user' } as never)),
      "openaiResponsesExecutor(): expected `systemRole` to be 'system' or 'developer', got string `user`.",
    );
    assert.equal(
      messageOf(() => anthropicExecutor({ client: anthropic, maxTokens: 0.5 } as never)),
      'anthropicExecutor(): expected `maxTokens` to be a positive integer, got number `0.5`.',
    );
  });
});
