import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { z } from 'zod';
import {
  InvalidRequestError,
  type ModelRequest,
  ProviderError,
  pipeline,
  runAgent,
  streamAgent,
  tool,
} from 'modelware';
import { type OpenAIResponsesExecutorOptions, openaiResponsesExecutor } from 'modelware/openai';
import { type FakeServer, type FakeStep, startOpenAIResponsesServer } from '../fixtures/servers/index.js';
import { collect } from '../fixtures/adapters.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const HELLO: ModelRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] };

/** Runs `fn` against a loopback Responses API server and the real SDK client, and closes both. */
async function withResponses(
  script: readonly FakeStep[],
  fn: (server: FakeServer, client: OpenAI) => Promise<void>,
): Promise<void> {
  const server = await startOpenAIResponsesServer(script);
  try {
    await fn(server, new OpenAI({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0 }));
  } finally {
    await server.close();
  }
}

function app(client: OpenAI, options: Omit<OpenAIResponsesExecutorOptions, 'client'> = {}) {
  return pipeline(openaiResponsesExecutor({ client, ...options }));
}

const weatherTool = (cities: string[]) =>
  tool({
    name: 'weather',
    description: 'Current weather',
    input: z.object({ city: z.string() }),
    execute: ({ city }) => {
      cities.push(city);
      return 'sunny, 24°C';
    },
  });

describe('openaiResponsesExecutor: request mapping', () => {
  test('maps messages, reasoning items, tools, options and body extras to the Responses wire', async () => {
    await withResponses(['ok'], async (server, client) => {
      await app(client, { body: { store: false, user: 'u1' } }).generate({
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
              { type: 'reasoning', text: 'From Anthropic: no item id.', signature: 'sig' },
              {
                type: 'reasoning',
                text: 'I should look it up.',
                providerMetadata: { openai: { itemId: 'rs_a', encryptedContent: 'enc_a' } },
              },
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
          toolChoice: { type: 'tool', toolName: 'lookup' },
          openaiResponses: { reasoning: { effort: 'low' }, user: 'u2', text: { verbosity: 'low' } },
        },
      });
      assert.equal(server.requests[0]?.path, '/v1/responses');
      assert.deepEqual(server.requests[0]?.body, {
        model: 'gpt-test',
        input: [
          { role: 'developer', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'What is in these?' },
              { type: 'input_image', image_url: 'https://example.com/cat.png', detail: 'auto' },
              { type: 'input_image', image_url: `data:image/png;base64,${PNG}`, detail: 'auto' },
            ],
          },
          {
            type: 'reasoning',
            id: 'rs_a',
            summary: [{ type: 'summary_text', text: 'I should look it up.' }],
            encrypted_content: 'enc_a',
          },
          { role: 'assistant', content: 'Let me check.' },
          { type: 'function_call', call_id: 'call_a', name: 'lookup', arguments: '{"q":"cat"}' },
          { type: 'function_call_output', call_id: 'call_a', output: '{"animal":"cat"}' },
        ],
        tools: [
          {
            type: 'function',
            name: 'lookup',
            description: 'Looks things up',
            parameters: { type: 'object', properties: { q: { type: 'string' } } },
            strict: false,
          },
        ],
        temperature: 0.2,
        top_p: 0.9,
        max_output_tokens: 300,
        tool_choice: { type: 'function', name: 'lookup' },
        store: false,
        user: 'u2',
        reasoning: { effort: 'low' },
        text: { verbosity: 'low' },
        stream: false,
      });
    });
  });

  test('systemRole: system sends system messages with the system role', async () => {
    await withResponses(['ok'], async (server, client) => {
      await app(client, { systemRole: 'system' }).generate({
        model: 'gpt-test',
        messages: [{ role: 'system', content: 'S' }, ...HELLO.messages],
      });
      assert.deepEqual(server.requests[0]?.body.input[0], { role: 'system', content: 'S' });
    });
  });

  test('`stopSequences` and `seed` have no Responses form: sent without them, with a warning in both modes', async () => {
    await withResponses(['ok', 'ok'], async (server, client) => {
      const request: ModelRequest = { ...HELLO, options: { stopSequences: ['END'], seed: 1 } };
      const warnings = [
        {
          type: 'unsupported',
          feature: 'options.stopSequences',
          details:
            'The Responses API has no stop sequences; the call was sent without it. openaiExecutor() (Chat Completions) takes it.',
        },
        {
          type: 'unsupported',
          feature: 'options.seed',
          details:
            'The Responses API has no seed; the call was sent without it. openaiExecutor() (Chat Completions) takes it.',
        },
      ];
      assert.deepEqual((await app(client).generate(request)).warnings, warnings);
      const stream = app(client).stream(request);
      await collect(stream);
      assert.deepEqual((await stream.response).warnings, warnings);
      assert.equal(Object.hasOwn(server.requests[0]?.body, 'stop'), false);
      assert.equal(Object.hasOwn(server.requests[0]?.body, 'seed'), false);
    });
  });

  test('responseFormat maps to text.format (strict json_schema, json_object, text), merged with text.verbosity', async () => {
    await withResponses(['{}', '{}', 'ok'], async (server, client) => {
      const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };
      await app(client).generate({
        ...HELLO,
        responseFormat: { type: 'json', schema, name: 'answer', description: 'The answer' },
        options: { openaiResponses: { text: { verbosity: 'low' } } },
      });
      await app(client).generate({ ...HELLO, responseFormat: { type: 'json' } });
      await app(client).generate({ ...HELLO, responseFormat: { type: 'text' } });
      assert.deepEqual(
        server.requests.map((r) => r.body.text),
        [
          {
            verbosity: 'low',
            format: { type: 'json_schema', name: 'answer', schema, strict: true, description: 'The answer' },
          },
          { format: { type: 'json_object' } },
          { format: { type: 'text' } },
        ],
      );
    });
  });

  test('`options.openaiResponses` and `body` may not set a field the adapter maps', async () => {
    await withResponses(['ok'], async (server, client) => {
      await assert.rejects(
        app(client).generate({ ...HELLO, options: { openaiResponses: { input: [] } as never } }),
        (error: unknown) => {
          assert.ok(InvalidRequestError.isInstance(error));
          assert.deepEqual(error.path, ['options', 'openaiResponses', 'input']);
          return true;
        },
      );
      assert.equal(server.requests.length, 0);
    });
    assert.throws(() => openaiResponsesExecutor({ client: new OpenAI({ apiKey: 'k' }), body: { stream: true } }), {
      name: 'TypeError',
      message: /`body.stream` would replace what the pipeline sends/,
    });
    assert.deepEqual(openaiResponsesExecutor({ client: new OpenAI({ apiKey: 'k' }) }).capabilities, {
      responseFormat: 'schema',
    });
    assert.throws(() => openaiResponsesExecutor({ client: {} as never }), {
      name: 'TypeError',
      message: /expected `client` to be an SDK client with responses.create\(\)/,
    });
    assert.throws(() => openaiResponsesExecutor({ client: new OpenAI({ apiKey: 'k' }), systemRole: 'user' as never }), {
      name: 'TypeError',
      message: "openaiResponsesExecutor(): expected `systemRole` to be 'system' or 'developer', got string `user`.",
    });
  });
});

describe('openaiResponsesExecutor: responses', () => {
  test('maps reasoning (with its item metadata), text, model and usage with cached and reasoning tokens', async () => {
    const turn: FakeStep = {
      reasoning: 'Think first.',
      text: 'Hi there',
      model: 'gpt-test-2025',
      usage: {
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 8 },
        output_tokens: 9,
        output_tokens_details: { reasoning_tokens: 4 },
        total_tokens: 21,
      },
    };
    await withResponses([turn], async (_server, client) => {
      const response = await app(client).generate(HELLO);
      assert.deepEqual(response, {
        message: {
          role: 'assistant',
          content: [
            {
              type: 'reasoning',
              text: 'Think first.',
              providerMetadata: { openai: { itemId: 'rs_1', encryptedContent: 'enc_1' } },
            },
            { type: 'text', text: 'Hi there' },
          ],
        },
        finishReason: 'stop',
        model: 'gpt-test-2025',
        usage: { inputTokens: 12, outputTokens: 9, totalTokens: 21, cachedInputTokens: 8, reasoningTokens: 4 },
      });
    });
  });

  for (const [reason, ours] of [
    ['max_output_tokens', 'length'],
    ['content_filter', 'content-filter'],
  ] as const) {
    test(`an incomplete response (\`${reason}\`) finishes with \`${ours}\` in both modes`, async () => {
      const cut: FakeStep = { text: 'cut', finishReason: reason };
      await withResponses([cut, cut], async (_server, client) => {
        assert.equal((await app(client).generate(HELLO)).finishReason, ours);
        const parts = await collect(app(client).stream(HELLO));
        const finish = parts.at(-1);
        assert.equal(finish?.type === 'finish' && finish.finishReason, ours);
      });
    });
  }

  test('a failed response becomes a ProviderError without the provider text in its message', async () => {
    const failed = () => ({
      id: 'resp_f',
      object: 'response',
      status: 'failed',
      model: 'gpt-test',
      output: [],
      error: { code: 'server_error', message: 'secret prompt echoed' },
      usage: null,
    });
    // A client stub answers the failed JSON response: the fake server scripts turns only.
    const client = { responses: { create: async () => failed() } } as unknown as OpenAI;
    await assert.rejects(app(client).generate(HELLO), (error: unknown) => {
      assert.ok(ProviderError.isInstance(error));
      assert.equal(error.code, 'server_error');
      assert.equal(error.retryable, true);
      assert.equal(error.providerMessage, 'secret prompt echoed');
      assert.doesNotMatch(error.message, /secret/);
      return true;
    });
  });
});

describe('openaiResponsesExecutor: reasoning items round-trip between turns', () => {
  const script: FakeStep[] = [
    { reasoning: 'Need the weather.', toolCalls: [{ id: 'call_w', name: 'weather', input: { city: 'Paris' } }] },
    { reasoning: '', text: 'Sunny in Paris.' },
  ];
  const secondInput = [
    { role: 'user', content: 'Weather in Paris?' },
    {
      type: 'reasoning',
      id: 'rs_1',
      summary: [{ type: 'summary_text', text: 'Need the weather.' }],
      encrypted_content: 'enc_1',
    },
    { type: 'function_call', call_id: 'call_w', name: 'weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call_output', call_id: 'call_w', output: 'sunny, 24°C' },
  ];

  test('runAgent (generate): the reasoning item and the call go back before the tool result', async () => {
    await withResponses(script, async (server, client) => {
      const cities: string[] = [];
      const result = await runAgent({
        model: app(client),
        modelId: 'gpt-test',
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [weatherTool(cities)],
      });
      assert.deepEqual(cities, ['Paris']);
      assert.equal(result.text, 'Sunny in Paris.');
      assert.deepEqual(server.requests[1]?.body.input, secondInput);
      assert.equal(server.requests[0]?.body.tools[0].name, 'weather');
      // A reasoning item with no summary still round-trips (its id is what matters).
      assert.deepEqual(result.response.message.content, [
        { type: 'reasoning', text: '', providerMetadata: { openai: { itemId: 'rs_2', encryptedContent: 'enc_2' } } },
        { type: 'text', text: 'Sunny in Paris.' },
      ]);
    });
  });

  test('streamAgent (stream): the assembled reasoning part keeps the item metadata from output_item.done', async () => {
    await withResponses(script, async (server, client) => {
      const cities: string[] = [];
      const run = streamAgent({
        model: app(client),
        modelId: 'gpt-test',
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [weatherTool(cities)],
      });
      for await (const _event of run) {
        // drain
      }
      assert.deepEqual(cities, ['Paris']);
      assert.deepEqual(server.requests[1]?.body.input, secondInput);
      assert.equal(server.requests[1]?.body.stream, true);
    });
  });
});

describe('openaiResponsesExecutor: streaming', () => {
  test('streams reasoning, text and argument deltas, then the call and a finish part with usage', async () => {
    const turn: FakeStep = {
      reasoning: 'Hmm.',
      text: 'Checking',
      toolCalls: [{ id: 'call_s', name: 'weather', input: { city: 'Oslo' } }],
      chunkSize: 8,
      usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 },
    };
    await withResponses([turn], async (server, client) => {
      const parts = await collect(app(client).stream(HELLO));
      assert.equal(server.requests[0]?.body.stream, true);
      assert.deepEqual(parts, [
        { type: 'reasoning-delta', text: 'Hmm.' },
        {
          type: 'reasoning-delta',
          text: '',
          providerMetadata: { openai: { itemId: 'rs_1', encryptedContent: 'enc_1' } },
        },
        { type: 'text-delta', text: 'Checking' },
        { type: 'tool-call-delta', toolCallId: 'call_s', toolName: 'weather', inputDelta: '' },
        { type: 'tool-call-delta', toolCallId: 'call_s', inputDelta: '{"city":' },
        { type: 'tool-call-delta', toolCallId: 'call_s', inputDelta: '"Oslo"}' },
        { type: 'tool-call', toolCallId: 'call_s', toolName: 'weather', input: { city: 'Oslo' } },
        {
          type: 'finish',
          finishReason: 'tool-calls',
          usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7, cachedInputTokens: 0, reasoningTokens: 5 },
          model: 'gpt-test',
        },
      ]);
    });
  });

  test('a stream cut before response.completed fails with a retryable ProviderError', async () => {
    await withResponses([{ text: 'partial answer', cutAfterEvents: 5 }], async (_server, client) => {
      await assert.rejects(collect(app(client).stream(HELLO)), (error: unknown) => {
        assert.ok(ProviderError.isInstance(error));
        assert.equal(error.code, 'incomplete_stream');
        assert.equal(error.retryable, true);
        return true;
      });
    });
  });

  test('an `error` event mid-stream becomes a ProviderError, retryable for server errors', async () => {
    await withResponses(
      [{ text: 'partial answer', streamError: { afterEvents: 5, type: 'server_error' } }],
      async (_s, client) => {
        await assert.rejects(collect(app(client).stream(HELLO)), (error: unknown) => {
          assert.ok(ProviderError.isInstance(error));
          assert.equal(error.code, 'server_error');
          assert.equal(error.retryable, true);
          return true;
        });
      },
    );
  });
});

describe('openaiResponsesExecutor: errors', () => {
  test('HTTP 429 with retry-after → retryable ProviderError with retryAfterMs; 400 is not retryable', async () => {
    await withResponses(
      [{ error: { status: 429, headers: { 'retry-after': '2' } } }, { error: { status: 400 } }],
      async (_server, client) => {
        await assert.rejects(app(client).generate(HELLO), (error: unknown) => {
          assert.ok(ProviderError.isInstance(error));
          assert.equal(error.status, 429);
          assert.equal(error.retryable, true);
          assert.equal(error.retryAfterMs, 2000);
          assert.equal(error.provider, 'openai-responses');
          return true;
        });
        await assert.rejects(collect(app(client).stream(HELLO)), (error: unknown) => {
          assert.ok(ProviderError.isInstance(error));
          assert.equal(error.status, 400);
          assert.equal(error.retryable, false);
          return true;
        });
      },
    );
  });
});
