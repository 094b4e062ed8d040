// Issue 9, item 5: pass-through options (`options.openai`, `options.anthropic`, `providerOptions`,
// and `providerOptions.modelware` from the AI SDK side) cannot replace the fields the adapter fills
// from the request, so nothing reaches the provider that the pipeline's layers did not see.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { generateText } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import OpenAI from 'openai';
import { InvalidRequestError, type ModelRequest, pipeline } from 'modelware';
import { aiSdkExecutor, toLanguageModel } from 'modelware/ai-sdk';
import { anthropicExecutor } from 'modelware/anthropic';
import { redactPii, retry } from 'modelware/middleware';
import { openaiExecutor } from 'modelware/openai';
import { type FakeServer, startAnthropicServer, startOpenAIServer } from '../fixtures/servers/index.js';
import { collect } from '../fixtures/adapters.js';

const SECRET = 'Mail me at jane.doe@example.com';
const HELLO: ModelRequest = { model: 'm-1', messages: [{ role: 'user', content: 'Hello' }] };
const OVERRIDES: Record<string, unknown> = {
  model: 'expensive-model',
  messages: [{ role: 'user', content: SECRET }],
  system: SECRET,
  tools: [],
  tool_choice: 'required',
  stream: true,
  n: 8,
  max_tokens: 100_000,
};

function withOptions(key: string, extras: Record<string, unknown>): ModelRequest {
  return { ...HELLO, options: { [key]: extras } };
}

/** Asserts `promise` rejects with an InvalidRequestError naming `path`, and no content in its message. */
async function rejectsNaming(promise: Promise<unknown>, path: readonly string[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(InvalidRequestError.isInstance(error), String(error));
    assert.deepEqual(error.path, path);
    assert.ok(error.message.includes(`\`${path.join('.')}\``), error.message);
    assert.ok(!error.message.includes('jane.doe'), error.message);
    return true;
  });
}

async function withServer(start: typeof startOpenAIServer, fn: (server: FakeServer) => Promise<void>): Promise<void> {
  const server = await start(['ok', 'ok']);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

const ADAPTERS = [
  {
    name: 'openai',
    key: 'openai',
    start: startOpenAIServer,
    core: ['model', 'messages', 'tools', 'tool_choice', 'stream', 'n', 'max_tokens'],
    allowed: { reasoning_effort: 'low', system: 'not a Chat Completions field' },
    executor: (server: FakeServer, body?: Record<string, unknown>) =>
      openaiExecutor({
        client: new OpenAI({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 }),
        ...(body ? { body } : {}),
      }),
  },
  {
    name: 'anthropic',
    key: 'anthropic',
    start: startAnthropicServer,
    core: ['model', 'messages', 'system', 'tools', 'tool_choice', 'stream', 'max_tokens'],
    allowed: { temperature: 0.2, n: 2 },
    executor: (server: FakeServer, body?: Record<string, unknown>) =>
      anthropicExecutor({
        client: new Anthropic({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 }),
        ...(body ? { body } : {}),
      }),
  },
] as const;

for (const adapter of ADAPTERS) {
  describe(`${adapter.name}Executor: \`options.${adapter.key}\` cannot override core fields`, () => {
    for (const field of adapter.core) {
      test(`\`options.${adapter.key}.${field}\` is refused in generate and stream, before any HTTP request`, async () => {
        await withServer(adapter.start, async (server) => {
          const app = pipeline(adapter.executor(server)).use(retry({ retries: 2 }));
          const request = withOptions(adapter.key, { [field]: OVERRIDES[field] });
          await rejectsNaming(app.generate(request), ['options', adapter.key, field]);
          await rejectsNaming(collect(app.stream(request)), ['options', adapter.key, field]);
          assert.equal(server.requests.length, 0);
        });
      });
    }

    test('a redacted request cannot be swapped for the raw one through the extras', async () => {
      await withServer(adapter.start, async (server) => {
        const app = pipeline(adapter.executor(server)).use(redactPii());
        const request = withOptions(adapter.key, { messages: [{ role: 'user', content: SECRET }] });
        await rejectsNaming(app.generate(request), ['options', adapter.key, 'messages']);
        assert.equal(server.requests.length, 0);
      });
    });

    test('other extras still reach the body', async () => {
      await withServer(adapter.start, async (server) => {
        await pipeline(adapter.executor(server)).generate(withOptions(adapter.key, adapter.allowed));
        const body = server.requests[0]?.body as Record<string, unknown>;
        for (const [field, value] of Object.entries(adapter.allowed)) assert.deepEqual(body[field], value);
        assert.equal(body.model, 'm-1');
      });
    });

    test('the `body` option is checked when the executor is created', async () => {
      await withServer(adapter.start, async (server) => {
        assert.throws(
          () => adapter.executor(server, { model: 'other' }),
          (error: unknown) =>
            error instanceof TypeError && /`body\.model` would replace what the pipeline sends/.test(error.message),
        );
      });
    });
  });
}

describe('aiSdkExecutor: `options.providerOptions` entries cannot override core fields', () => {
  for (const field of ['model', 'messages', 'prompt', 'system', 'tools', 'stream', 'n']) {
    test(`\`providerOptions.compat.${field}\` is refused before the model is called`, async () => {
      const model = new MockLanguageModelV4({
        doGenerate: async () => {
          throw new Error('the model must not be called');
        },
      });
      const app = pipeline(aiSdkExecutor(model));
      const request = withOptions('providerOptions', { compat: { [field]: OVERRIDES[field] ?? SECRET } });
      await rejectsNaming(app.generate(request), ['options', 'providerOptions', 'compat', field]);
      assert.equal(model.doGenerateCalls.length, 0);
    });
  }

  test('provider-specific entries still reach the model', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: {
        content: [{ type: 'text', text: 'ok' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: 1, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: 1, text: undefined, reasoning: undefined },
        },
        warnings: [],
      },
    });
    const providerOptions = { openai: { reasoningEffort: 'low' } };
    await pipeline(aiSdkExecutor(model)).generate(withOptions('providerOptions', providerOptions));
    assert.deepEqual(model.doGenerateCalls[0]?.providerOptions, providerOptions);
  });
});

describe('toLanguageModel: `providerOptions.modelware.options` cannot smuggle core fields', () => {
  test('generateText → pipeline(redactPii) → openai: `options.openai.messages` is refused, nothing is sent', async () => {
    await withServer(startOpenAIServer, async (server) => {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 });
      const model = toLanguageModel(pipeline(openaiExecutor({ client })).use(redactPii()), { modelId: 'gpt-test' });
      await rejectsNaming(
        generateText({
          model,
          prompt: 'Hi',
          maxRetries: 0,
          providerOptions: { modelware: { options: { openai: { messages: [{ role: 'user', content: SECRET }] } } } },
        }),
        ['options', 'openai', 'messages'],
      );
      assert.equal(server.requests.length, 0);
    });
  });
});
