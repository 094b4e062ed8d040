import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { z } from 'zod';
import { type ModelRequest, ProviderError, pipeline, runAgent, tool } from 'modelware';
import { retry } from 'modelware/middleware';
import { type OpenAIExecutorOptions, openaiExecutor } from 'modelware/openai';
import { type FakeServer, type FakeStep, startOpenAIServer } from '../fixtures/servers/index.js';
import { collect } from '../fixtures/adapters.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const HELLO: ModelRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] };

/** Runs `fn` against a loopback Chat Completions server and the real SDK client, and closes both. */
async function withOpenAI(
  script: readonly FakeStep[],
  fn: (server: FakeServer, client: OpenAI) => Promise<void>,
  clientOptions: ConstructorParameters<typeof OpenAI>[0] = {},
): Promise<void> {
  const server = await startOpenAIServer(script);
  try {
    await fn(server, new OpenAI({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0, ...clientOptions }));
  } finally {
    await server.close();
  }
}

function app(client: OpenAI, options: Omit<OpenAIExecutorOptions, 'client'> = {}) {
  return pipeline(openaiExecutor({ client, ...options }));
}

describe('openaiExecutor: request mapping', () => {
  test('maps messages, tools, options and body extras to the Chat Completions wire', async () => {
    await withOpenAI(['ok'], async (server, client) => {
      await app(client, { body: { service_tier: 'flex', user: 'u1' }, systemRole: 'developer' }).generate({
        model: 'gpt-test',
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in these?' },
              { type: 'image', image: 'https://example.com/cat.png' },
              { type: 'image', image: PNG },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'reasoning', text: 'I should look it up.' },
              { type: 'text', text: 'Let me check.' },
              { type: 'tool-call', toolCallId: 'call_a', toolName: 'lookup', input: { q: 'cat' } },
            ],
          },
          { role: 'tool', toolCallId: 'call_a', toolName: 'lookup', content: '{"animal":"cat"}' },
        ],
        tools: [
          {
            name: 'lookup',
            description: 'Looks things up',
            inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
          },
        ],
        options: {
          temperature: 0.2,
          topP: 0.9,
          maxOutputTokens: 300,
          stopSequences: ['END'],
          seed: 7,
          toolChoice: { type: 'tool', toolName: 'lookup' },
          openai: { reasoning_effort: 'low', user: 'u2' },
        },
      });
      assert.equal(server.requests[0]?.path, '/v1/chat/completions');
      assert.deepEqual(server.requests[0]?.body, {
        model: 'gpt-test',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in these?' },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            ],
          },
          {
            role: 'assistant',
            content: 'Let me check.',
            tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{"q":"cat"}' } }],
          },
          { role: 'tool', tool_call_id: 'call_a', content: '{"animal":"cat"}' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'lookup',
              description: 'Looks things up',
              parameters: { type: 'object', properties: { q: { type: 'string' } } },
            },
          },
        ],
        temperature: 0.2,
        top_p: 0.9,
        max_completion_tokens: 300,
        stop: ['END'],
        seed: 7,
        tool_choice: { type: 'function', function: { name: 'lookup' } },
        service_tier: 'flex',
        reasoning_effort: 'low',
        user: 'u2',
        stream: false,
      });
    });
  });

  test('maxTokensField: max_tokens for servers that predate max_completion_tokens', async () => {
    await withOpenAI(['ok'], async (server, client) => {
      await app(client, { maxTokensField: 'max_tokens' }).generate({ ...HELLO, options: { maxOutputTokens: 50 } });
      assert.equal(server.requests[0]?.body.max_tokens, 50);
      assert.equal(server.requests[0]?.body.max_completion_tokens, undefined);
    });
  });

  test('rejects a missing client and bad options when the factory is called', () => {
    assert.throws(
      () => openaiExecutor({} as OpenAIExecutorOptions),
      /expected `client` to be an SDK client with chat\.completions\.create\(\)/,
    );
    const client = new OpenAI({ apiKey: 'k' });
    assert.throws(
      () => openaiExecutor({ client, systemRole: 'admin' as 'system' }),
      /expected `systemRole` to be 'system' or 'developer', got string `admin`/,
    );
    assert.throws(
      () => openaiExecutor({ client, body: 'fast' as never }),
      /openaiExecutor\(\): expected `body` to be an object of extra body fields, got string `fast`/,
    );
    assert.throws(
      () => openaiExecutor({ client, body: { max_tokens: 10 } }),
      /openaiExecutor\(\): `body\.max_tokens` would replace what the pipeline sends on every call\. Set `options\.maxOutputTokens`/,
    );
  });

  test('`options.openai` may not set a field the adapter maps (the full table is in test/security/adapters)', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/' });
    await assert.rejects(
      // @ts-expect-error a mapped field in options.openai is a compile error too (OpenAIProviderOptions)
      app(client).generate({ ...HELLO, options: { openai: { temperature: 2 } } }),
      /^InvalidRequestError: openai: `options\.openai\.temperature` would replace what the pipeline sends, unseen by its layers .*Set `options\.temperature`\.$/,
    );
  });
});

describe('openaiExecutor: responses', () => {
  test('maps text, model, finish reason and usage with cached and reasoning tokens', async () => {
    const usage = {
      prompt_tokens: 120,
      completion_tokens: 30,
      total_tokens: 150,
      prompt_tokens_details: { cached_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 12 },
    };
    await withOpenAI([{ text: 'Hi there!', model: 'gpt-test-2026-01-01', usage }], async (_server, client) => {
      const response = await app(client).generate(HELLO);
      assert.deepEqual(response, {
        message: { role: 'assistant', content: 'Hi there!' },
        finishReason: 'stop',
        model: 'gpt-test-2026-01-01',
        usage: { inputTokens: 120, outputTokens: 30, totalTokens: 150, cachedInputTokens: 100, reasoningTokens: 12 },
      });
    });
  });

  for (const [wire, ours] of [
    ['length', 'length'],
    ['content_filter', 'content-filter'],
    ['tool_calls', 'tool-calls'],
    ['something_new', 'other'],
  ] as const) {
    test(`maps finish_reason \`${wire}\` to \`${ours}\``, async () => {
      await withOpenAI([{ text: 'x', finishReason: wire }], async (_server, client) => {
        assert.equal((await app(client).generate(HELLO)).finishReason, ours);
      });
    });
  }

  test('a tool-call round trip inside runAgent: the call comes back parsed, the result goes out paired', async () => {
    const script: FakeStep[] = [
      {
        toolCalls: [{ id: 'call_w', name: 'weather', input: { city: 'Paris' } }],
        usage: { prompt_tokens: 20, completion_tokens: 8, total_tokens: 28 },
      },
      { text: 'Sunny in Paris.', usage: { prompt_tokens: 40, completion_tokens: 5, total_tokens: 45 } },
    ];
    await withOpenAI(script, async (server, client) => {
      const cities: string[] = [];
      const weather = tool({
        name: 'weather',
        description: 'Current weather',
        input: z.object({ city: z.string() }),
        execute: ({ city }) => {
          cities.push(city);
          return 'sunny, 24°C';
        },
      });
      const result = await runAgent({
        model: app(client),
        modelId: 'gpt-test',
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [weather],
      });
      assert.deepEqual(cities, ['Paris']);
      assert.equal(result.text, 'Sunny in Paris.');
      assert.equal(result.stopReason, 'no-tool-calls');
      assert.equal(result.usage.inputTokens, 60);
      assert.equal(result.usage.outputTokens, 13);
      assert.equal(server.requests[0]?.body.tools[0].function.name, 'weather');
      assert.deepEqual(server.requests[1]?.body.messages, [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_w', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_w', content: 'sunny, 24°C' },
      ]);
    });
  });
});

describe('openaiExecutor: the default model (`model`)', () => {
  test("runAgent without `modelId` sends the executor's `model`, never the executor or pipeline name", async () => {
    await withOpenAI(['one', 'two'], async (server, client) => {
      const executor = openaiExecutor({ client, model: 'gpt-default' });
      assert.equal(executor.defaultModel, 'gpt-default');
      await runAgent({ model: pipeline(executor), messages: [{ role: 'user', content: 'Hi' }] });
      await runAgent({ model: pipeline(executor), modelId: 'gpt-chosen', messages: [{ role: 'user', content: 'Hi' }] });
      assert.deepEqual(
        server.requests.map((r) => r.body.model),
        ['gpt-default', 'gpt-chosen'],
      );
    });
  });

  test('without `model`, runAgent needs `modelId` and the provider is never called', async () => {
    await withOpenAI(['unused'], async (server, client) => {
      assert.equal(openaiExecutor({ client }).defaultModel, undefined);
      await assert.rejects(runAgent({ model: app(client), messages: [{ role: 'user', content: 'Hi' }] } as never), {
        name: 'TypeError',
        message: /`modelId` is required.*`model` \(executor `pipeline`\) has no default model/,
      });
      assert.equal(server.requests.length, 0);
    });
  });
});

describe('openaiExecutor: streaming', () => {
  test('streams text and tool-call deltas, then the call and a finish part with usage from the last chunk', async () => {
    const turn = {
      text: 'On it.',
      toolCalls: [{ id: 'call_s', name: 'search', input: { q: 'ai' } }],
      chunkSize: 3,
      usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14, prompt_tokens_details: { cached_tokens: 4 } },
    };
    await withOpenAI([turn], async (server, client) => {
      const stream = app(client).stream(HELLO);
      const parts = await collect(stream);
      assert.deepEqual(parts, [
        { type: 'text-delta', text: 'On ' },
        { type: 'text-delta', text: 'it.' },
        { type: 'tool-call-delta', toolCallId: 'call_s', toolName: 'search', inputDelta: '' },
        { type: 'tool-call-delta', toolCallId: 'call_s', inputDelta: '{"q' },
        { type: 'tool-call-delta', toolCallId: 'call_s', inputDelta: '":"' },
        { type: 'tool-call-delta', toolCallId: 'call_s', inputDelta: 'ai"' },
        { type: 'tool-call-delta', toolCallId: 'call_s', inputDelta: '}' },
        { type: 'tool-call', toolCallId: 'call_s', toolName: 'search', input: { q: 'ai' } },
        {
          type: 'finish',
          finishReason: 'tool-calls',
          usage: { inputTokens: 9, outputTokens: 5, totalTokens: 14, cachedInputTokens: 4, reasoningTokens: 0 },
          model: 'gpt-test',
        },
      ]);
      assert.deepEqual((await stream.response).message.content, [
        { type: 'text', text: 'On it.' },
        { type: 'tool-call', toolCallId: 'call_s', toolName: 'search', input: { q: 'ai' } },
      ]);
      assert.equal(server.requests[0]?.body.stream, true);
      assert.deepEqual(server.requests[0]?.body.stream_options, { include_usage: true });
    });
  });

  test('streamUsage: false sends no stream_options and finishes without usage', async () => {
    await withOpenAI(['hi'], async (server, client) => {
      const parts = await collect(app(client, { streamUsage: false }).stream(HELLO));
      assert.equal(server.requests[0]?.body.stream_options, undefined);
      assert.deepEqual(parts.at(-1), { type: 'finish', finishReason: 'stop', model: 'gpt-test' });
    });
  });

  test('a stream cut before its finish reason fails with a retryable ProviderError', async () => {
    await withOpenAI([{ text: 'partial answer', cutAfterEvents: 2 }], async (_server, client) => {
      await assert.rejects(collect(app(client).stream(HELLO)), (error: unknown) => {
        assert.ok(ProviderError.isInstance(error));
        assert.equal(error.code, 'incomplete_stream');
        assert.equal(error.retryable, true);
        return true;
      });
    });
  });

  test('an error event mid-stream becomes a ProviderError, retryable for server errors', async () => {
    await withOpenAI(
      [{ text: 'partial answer', streamError: { afterEvents: 2, type: 'server_error' } }],
      async (_s, client) => {
        await assert.rejects(collect(app(client).stream(HELLO)), (error: unknown) => {
          assert.ok(ProviderError.isInstance(error));
          assert.equal(error.status, undefined);
          assert.equal(error.code, 'server_error');
          assert.equal(error.retryable, true);
          return true;
        });
      },
    );
  });
});

describe('openaiExecutor: errors', () => {
  const cases = [
    { status: 429, headers: { 'retry-after': '2' }, retryable: true, retryAfterMs: 2000, code: 'rate_limit_exceeded' },
    {
      status: 429,
      headers: { 'retry-after-ms': '150' },
      retryable: true,
      retryAfterMs: 150,
      code: 'rate_limit_exceeded',
    },
    { status: 500, headers: {}, retryable: true, retryAfterMs: undefined, code: 'server_error' },
    {
      status: 503,
      headers: { 'x-should-retry': 'false' },
      retryable: false,
      retryAfterMs: undefined,
      code: 'server_error',
    },
    { status: 400, headers: {}, retryable: false, retryAfterMs: undefined, code: 'invalid_request_error' },
    { status: 401, headers: {}, retryable: false, retryAfterMs: undefined, code: 'authentication_error' },
  ] as const;
  for (const { status, headers, retryable, retryAfterMs, code } of cases) {
    test(`HTTP ${status} ${JSON.stringify(headers)} → ProviderError retryable=${retryable}`, async () => {
      await withOpenAI([{ error: { status, headers } }], async (_server, client) => {
        await assert.rejects(app(client).generate(HELLO), (error: unknown) => {
          assert.ok(ProviderError.isInstance(error));
          assert.equal(error.provider, 'openai');
          assert.equal(error.status, status);
          assert.equal(error.retryable, retryable);
          assert.equal(error.retryAfterMs, retryAfterMs);
          assert.equal(error.code, code);
          assert.equal(error.requestId, 'req_fake');
          assert.match(
            error.message,
            new RegExp(
              `^openai: HTTP ${status} \\(${code}, request req_fake\\)\\. ${retryable ? 'Retryable' : 'Not retryable'}`,
            ),
          );
          assert.equal(error.providerMessage, `Fake error ${status}`);
          assert.ok(!error.message.includes('Fake error'));
          assert.equal((error.cause as { status?: number }).status, status);
          return true;
        });
      });
    });
  }

  test('retry() re-runs the call after a 429 and a 500, waiting what the provider asked', async () => {
    const script: FakeStep[] = [
      { error: { status: 429, headers: { 'retry-after-ms': '30' } } },
      { error: { status: 500 } },
      'Finally.',
    ];
    await withOpenAI(script, async (server, client) => {
      const delays: number[] = [];
      const model = app(client).use(
        retry({ retries: 2, initialDelayMs: 0, onRetry: ({ delayMs }) => delays.push(delayMs) }),
      );
      const response = await model.generate(HELLO);
      assert.equal(response.message.content, 'Finally.');
      assert.deepEqual(delays, [30, 0]);
      assert.equal(server.requests.length, 3);
    });
  });

  test('retry() gives up at once on a 400', async () => {
    await withOpenAI([{ error: { status: 400 } }, 'never'], async (server, client) => {
      await assert.rejects(
        app(client)
          .use(retry({ initialDelayMs: 0 }))
          .generate(HELLO),
        (error: unknown) => {
          assert.ok(ProviderError.isInstance(error) && error.status === 400);
          return true;
        },
      );
      assert.equal(server.requests.length, 1);
    });
  });

  test('a client timeout becomes a retryable ProviderError', async () => {
    await withOpenAI(
      [{ hang: true }],
      async (_server, client) => {
        await assert.rejects(app(client).generate(HELLO), (error: unknown) => {
          assert.ok(ProviderError.isInstance(error));
          assert.equal(error.code, 'timeout');
          assert.equal(error.retryable, true);
          assert.equal(error.status, undefined);
          return true;
        });
      },
      { timeout: 100 },
    );
  });

  test('an unreachable server becomes a retryable connection ProviderError', async () => {
    const server = await startOpenAIServer([]);
    const baseURL = server.baseURL;
    await server.close();
    const client = new OpenAI({ baseURL, apiKey: 'k', maxRetries: 0 });
    await assert.rejects(app(client).generate(HELLO), (error: unknown) => {
      assert.ok(ProviderError.isInstance(error));
      assert.equal(error.code, 'connection_error');
      assert.equal(error.retryable, true);
      return true;
    });
  });
});
