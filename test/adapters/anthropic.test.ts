import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { type ModelRequest, ProviderError, type StreamPart, pipeline, runAgent, tool } from 'modelware';
import { type AnthropicExecutorOptions, anthropicExecutor } from 'modelware/anthropic';
import { retry } from 'modelware/middleware';
import { type FakeServer, type FakeStep, startAnthropicServer } from '../fixtures/servers/index.js';
import { collect } from '../fixtures/adapters.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const HELLO: ModelRequest = { model: 'claude-test', messages: [{ role: 'user', content: 'Hello' }] };
const LOOKUP = { name: 'lookup', inputSchema: { type: 'object' } };

/** Runs `fn` against a loopback Messages API server and the real SDK client, and closes both. */
async function withAnthropic(
  script: readonly FakeStep[],
  fn: (server: FakeServer, client: Anthropic) => Promise<void>,
): Promise<void> {
  const server = await startAnthropicServer(script);
  try {
    await fn(server, new Anthropic({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0 }));
  } finally {
    await server.close();
  }
}

function app(client: Anthropic, options: Omit<AnthropicExecutorOptions, 'client'> = {}) {
  return pipeline(anthropicExecutor({ client, ...options }));
}

describe('anthropicExecutor: request mapping', () => {
  test('extracts the system prompt, groups tool results, maps images, thinking, tools and options', async () => {
    await withAnthropic(['ok'], async (server, client) => {
      await app(client, {
        thinking: { type: 'enabled', budget_tokens: 1024 },
        body: { service_tier: 'auto' },
      }).generate({
        model: 'claude-test',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'system', content: 'Answer in English.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare these.' },
              { type: 'image', image: 'https://example.com/a.jpg' },
              { type: 'image', image: `data:image/jpeg;base64,/9j/AAAA` },
              { type: 'image', image: PNG },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'reasoning', text: 'Two lookups needed.', signature: 'sig_prev' },
              { type: 'reasoning', text: 'unsigned thoughts cannot be sent back' },
              { type: 'text', text: '' },
              { type: 'tool-call', toolCallId: 'toolu_a', toolName: 'lookup', input: { id: 'a' } },
              { type: 'tool-call', toolCallId: 'toolu_b', toolName: 'lookup', input: { id: 'b' } },
            ],
          },
          { role: 'tool', toolCallId: 'toolu_a', toolName: 'lookup', content: 'A is red' },
          { role: 'tool', toolCallId: 'toolu_b', toolName: 'lookup', content: 'not found', isError: true },
          { role: 'system', content: 'Now be extra careful.' },
          { role: 'user', content: 'Which one?' },
        ],
        tools: [
          {
            name: 'lookup',
            description: 'Finds an item',
            inputSchema: { type: 'object', properties: { id: { type: 'string' } } },
          },
        ],
        options: {
          temperature: 0.3,
          stopSequences: ['STOP'],
          toolChoice: 'required',
          anthropic: { metadata: { user_id: 'u1' } },
        },
      });
      assert.equal(server.requests[0]?.path, '/v1/messages');
      assert.deepEqual(server.requests[0]?.body, {
        model: 'claude-test',
        max_tokens: 4096,
        system: 'You are terse.\n\nAnswer in English.',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare these.' },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
              { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: '/9j/AAAA' } },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'Two lookups needed.', signature: 'sig_prev' },
              { type: 'tool_use', id: 'toolu_a', name: 'lookup', input: { id: 'a' } },
              { type: 'tool_use', id: 'toolu_b', name: 'lookup', input: { id: 'b' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_a', content: 'A is red' },
              { type: 'tool_result', tool_use_id: 'toolu_b', content: 'not found', is_error: true },
            ],
          },
          { role: 'system', content: 'Now be extra careful.' },
          { role: 'user', content: 'Which one?' },
        ],
        tools: [
          {
            name: 'lookup',
            description: 'Finds an item',
            input_schema: { type: 'object', properties: { id: { type: 'string' } } },
          },
        ],
        stop_sequences: ['STOP'],
        tool_choice: { type: 'any' },
        thinking: { type: 'enabled', budget_tokens: 1024 },
        service_tier: 'auto',
        metadata: { user_id: 'u1' },
        stream: false,
      });
    });
  });

  test('max_tokens: options.maxOutputTokens, else the maxTokens option, else 4096', async () => {
    await withAnthropic(['a', 'b', 'c'], async (server, client) => {
      await app(client).generate(HELLO);
      await app(client, { maxTokens: 1000 }).generate(HELLO);
      await app(client, { maxTokens: 1000 }).generate({ ...HELLO, options: { maxOutputTokens: 50 } });
      assert.deepEqual(
        server.requests.map((r) => r.body.max_tokens),
        [4096, 1000, 50],
      );
    });
  });

  for (const [choice, wire] of [
    ['auto', { type: 'auto' }],
    ['none', { type: 'none' }],
    [
      { type: 'tool', toolName: 'lookup' },
      { type: 'tool', name: 'lookup' },
    ],
  ] as const) {
    test(`maps toolChoice ${JSON.stringify(choice)}`, async () => {
      await withAnthropic(['ok'], async (server, client) => {
        await app(client).generate({ ...HELLO, tools: [LOOKUP], options: { toolChoice: choice } });
        assert.deepEqual(server.requests[0]?.body.tool_choice, wire);
      });
    });
  }

  test('rejects a missing client and a bad maxTokens when the factory is called', () => {
    assert.throws(
      () => anthropicExecutor({} as AnthropicExecutorOptions),
      /expected `client` to be an SDK client with messages\.create\(\)/,
    );
    const client = new Anthropic({ apiKey: 'k' });
    assert.throws(
      () => anthropicExecutor({ client, maxTokens: 0 }),
      /expected `maxTokens` to be a positive integer, got number `0`/,
    );
  });
});

describe('anthropicExecutor: responses', () => {
  test('maps thinking (with signature), text and tool_use blocks, usage and the model', async () => {
    const turn = {
      reasoning: 'The user wants weather.',
      signature: 'sig_xyz',
      text: 'Checking.',
      toolCalls: [{ id: 'toolu_1', name: 'weather', input: { city: 'Oslo' } }],
      model: 'claude-test-20260101',
      usage: {
        input_tokens: 20,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 30,
        output_tokens: 40,
        output_tokens_details: { thinking_tokens: 25 },
      },
    };
    await withAnthropic([turn], async (_server, client) => {
      assert.deepEqual(await app(client).generate(HELLO), {
        message: {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'The user wants weather.', signature: 'sig_xyz' },
            { type: 'text', text: 'Checking.' },
            { type: 'tool-call', toolCallId: 'toolu_1', toolName: 'weather', input: { city: 'Oslo' } },
          ],
        },
        finishReason: 'tool-calls',
        usage: {
          inputTokens: 150,
          outputTokens: 40,
          totalTokens: 190,
          cachedInputTokens: 100,
          cacheWriteTokens: 30,
          reasoningTokens: 25,
        },
        model: 'claude-test-20260101',
      });
    });
  });

  for (const [wire, ours] of [
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['refusal', 'content-filter'],
    ['pause_turn', 'other'],
  ] as const) {
    test(`maps stop_reason \`${wire}\` to \`${ours}\``, async () => {
      await withAnthropic([{ text: 'x', finishReason: wire }], async (_server, client) => {
        assert.equal((await app(client).generate(HELLO)).finishReason, ours);
      });
    });
  }

  test('a tool-call round trip with thinking inside runAgent: signed thinking and tool_use go back with the tool_result', async () => {
    const script: FakeStep[] = [
      {
        reasoning: 'Need the weather.',
        signature: 'sig_1',
        toolCalls: [{ id: 'toolu_w', name: 'weather', input: { city: 'Oslo' } }],
      },
      'Cold in Oslo.',
    ];
    await withAnthropic(script, async (server, client) => {
      const weather = tool({
        name: 'weather',
        input: z.object({ city: z.string() }),
        execute: ({ city }) => (city === 'Oslo' ? '-3°C' : 'unknown'),
      });
      const result = await runAgent({
        model: app(client),
        modelId: 'claude-test',
        messages: [{ role: 'user', content: 'Weather in Oslo?' }],
        tools: [weather],
      });
      assert.equal(result.text, 'Cold in Oslo.');
      assert.equal(result.turns.length, 2);
      assert.deepEqual(server.requests[1]?.body.messages, [
        { role: 'user', content: 'Weather in Oslo?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Need the weather.', signature: 'sig_1' },
            { type: 'tool_use', id: 'toolu_w', name: 'weather', input: { city: 'Oslo' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_w', content: '-3°C' }] },
      ]);
    });
  });
});

describe('anthropicExecutor: the default model (`model`)', () => {
  test("runAgent without `modelId` sends the executor's `model`; without one it needs `modelId`", async () => {
    await withAnthropic(['one'], async (server, client) => {
      await runAgent({
        model: pipeline(anthropicExecutor({ client, model: 'claude-default' })),
        messages: [{ role: 'user', content: 'Hi' }],
      });
      await assert.rejects(runAgent({ model: app(client), messages: [{ role: 'user', content: 'Hi' }] } as never), {
        name: 'TypeError',
        message: /`modelId` is required.*`model` \(executor `pipeline`\) has no default model/,
      });
      assert.deepEqual(
        server.requests.map((r) => r.body.model),
        ['claude-default'],
      );
    });
  });
});

describe('anthropicExecutor: streaming', () => {
  test('maps the event sequence to reasoning, text and tool-call deltas, then a finish with merged usage', async () => {
    const turn = {
      reasoning: 'Hmm, ok.',
      signature: 'sig_s',
      text: 'Sure thing',
      toolCalls: [{ id: 'toolu_s', name: 'search', input: { q: 'x' } }],
      chunkSize: 5,
      usage: {
        input_tokens: 12,
        cache_read_input_tokens: 8,
        output_tokens: 33,
        output_tokens_details: { thinking_tokens: 9 },
      },
    };
    await withAnthropic([turn], async (server, client) => {
      const stream = app(client).stream(HELLO);
      const parts = await collect(stream);
      assert.deepEqual(parts, [
        { type: 'reasoning-delta', text: 'Hmm, ' },
        { type: 'reasoning-delta', text: 'ok.' },
        { type: 'reasoning-delta', text: '', signature: 'sig_s' },
        { type: 'text-delta', text: 'Sure ' },
        { type: 'text-delta', text: 'thing' },
        { type: 'tool-call-delta', toolCallId: 'toolu_s', toolName: 'search', inputDelta: '' },
        { type: 'tool-call-delta', toolCallId: 'toolu_s', inputDelta: '{"q":' },
        { type: 'tool-call-delta', toolCallId: 'toolu_s', inputDelta: '"x"}' },
        { type: 'tool-call', toolCallId: 'toolu_s', toolName: 'search', input: { q: 'x' } },
        {
          type: 'finish',
          finishReason: 'tool-calls',
          usage: {
            inputTokens: 20,
            outputTokens: 33,
            totalTokens: 53,
            cachedInputTokens: 8,
            cacheWriteTokens: 0,
            reasoningTokens: 9,
          },
          model: 'claude-test',
        },
      ]);
      assert.deepEqual((await stream.response).message.content, [
        { type: 'reasoning', text: 'Hmm, ok.', signature: 'sig_s' },
        { type: 'text', text: 'Sure thing' },
        { type: 'tool-call', toolCallId: 'toolu_s', toolName: 'search', input: { q: 'x' } },
      ]);
      assert.equal(server.requests[0]?.body.stream, true);
    });
  });

  test('an overloaded_error event mid-stream becomes a retryable ProviderError', async () => {
    await withAnthropic(
      [{ text: 'partial answer', streamError: { afterEvents: 4, type: 'overloaded_error' } }],
      async (_s, client) => {
        const seen: StreamPart[] = [];
        await assert.rejects(
          (async () => {
            for await (const part of app(client).stream(HELLO)) seen.push(part);
          })(),
          (error: unknown) => {
            assert.ok(ProviderError.isInstance(error));
            assert.equal(error.code, 'overloaded_error');
            assert.equal(error.retryable, true);
            assert.match(error.message, /^anthropic: the provider reported an error \(overloaded_error\)\. Retryable/);
            assert.equal(error.providerMessage, 'Fake overloaded_error mid-stream');
            return true;
          },
        );
        assert.deepEqual(seen, [{ type: 'text-delta', text: 'part' }]);
      },
    );
  });

  test('a stream cut before message_stop fails with a retryable ProviderError', async () => {
    await withAnthropic([{ text: 'partial answer', cutAfterEvents: 5 }], async (_server, client) => {
      await assert.rejects(collect(app(client).stream(HELLO)), (error: unknown) => {
        assert.ok(ProviderError.isInstance(error) && error.code === 'incomplete_stream' && error.retryable);
        return true;
      });
    });
  });
});

describe('anthropicExecutor: errors', () => {
  const cases = [
    { status: 429, headers: { 'retry-after': '2' }, retryable: true, retryAfterMs: 2000, code: 'rate_limit_error' },
    { status: 529, headers: {}, retryable: true, retryAfterMs: undefined, code: 'overloaded_error' },
    { status: 500, headers: {}, retryable: true, retryAfterMs: undefined, code: 'api_error' },
    { status: 400, headers: {}, retryable: false, retryAfterMs: undefined, code: 'invalid_request_error' },
    { status: 404, headers: {}, retryable: false, retryAfterMs: undefined, code: 'not_found_error' },
  ] as const;
  for (const { status, headers, retryable, retryAfterMs, code } of cases) {
    test(`HTTP ${status} → ProviderError retryable=${retryable}, code ${code}`, async () => {
      await withAnthropic([{ error: { status, headers } }], async (_server, client) => {
        await assert.rejects(app(client).generate(HELLO), (error: unknown) => {
          assert.ok(ProviderError.isInstance(error));
          assert.equal(error.provider, 'anthropic');
          assert.equal(error.status, status);
          assert.equal(error.retryable, retryable);
          assert.equal(error.retryAfterMs, retryAfterMs);
          assert.equal(error.code, code);
          assert.equal(error.requestId, 'req_fake');
          assert.match(
            error.message,
            new RegExp(
              `^anthropic: HTTP ${status} \\(${code}, request req_fake\\)\\. ${retryable ? 'Retryable' : 'Not retryable'}`,
            ),
          );
          assert.equal(error.providerMessage, `Fake error ${status}`);
          assert.ok(!error.message.includes('Fake error'));
          return true;
        });
      });
    });
  }

  test('retry() re-runs the call after a 529 and a 429, waiting what the provider asked', async () => {
    const script: FakeStep[] = [
      { error: { status: 529 } },
      { error: { status: 429, headers: { 'retry-after': '0.02' } } },
      'Done.',
    ];
    await withAnthropic(script, async (server, client) => {
      const delays: number[] = [];
      const model = app(client).use(
        retry({ retries: 3, initialDelayMs: 0, onRetry: ({ delayMs }) => delays.push(delayMs) }),
      );
      assert.equal((await model.generate(HELLO)).message.content, 'Done.');
      assert.deepEqual(delays, [0, 20]);
      assert.equal(server.requests.length, 3);
    });
  });
});
