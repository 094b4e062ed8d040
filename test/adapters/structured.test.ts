// Issue 14 items 1 and 3 against the loopback wire servers and the real SDK clients: responseFormat,
// warnings for options an adapter cannot honour, Anthropic prompt caching and cache usage.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Output, generateText } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import OpenAI from 'openai';
import { type ModelRequest, jsonResponseFormat, pipeline } from 'modelware';
import { aiSdkExecutor, toLanguageModel } from 'modelware/ai-sdk';
import { anthropicExecutor } from 'modelware/anthropic';
import { openaiExecutor } from 'modelware/openai';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { collect } from '../fixtures/adapters.js';
import { type FakeServer, type FakeStep, startAnthropicServer, startOpenAIServer } from '../fixtures/servers/index.js';

const City = z.object({ city: z.string(), population: z.number() });
const FORMAT = jsonResponseFormat(City, { name: 'city' });
const ASK: ModelRequest = { model: 'm', messages: [{ role: 'user', content: 'Biggest city?' }] };
const ANSWER = '{"city":"Tokyo","population":37000000}';

async function withOpenAI(script: readonly FakeStep[], fn: (s: FakeServer, c: OpenAI) => Promise<void>) {
  const server = await startOpenAIServer(script);
  try {
    await fn(server, new OpenAI({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 }));
  } finally {
    await server.close();
  }
}

async function withAnthropic(script: readonly FakeStep[], fn: (s: FakeServer, c: Anthropic) => Promise<void>) {
  const server = await startAnthropicServer(script);
  try {
    await fn(server, new Anthropic({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 }));
  } finally {
    await server.close();
  }
}

const body = (server: FakeServer, i = 0) => server.requests[i]?.body as Record<string, unknown>;

describe('openaiExecutor: responseFormat', () => {
  test('a schema becomes a strict json_schema response_format; json alone json_object; text text', async () => {
    await withOpenAI([ANSWER, '{}', 'hi'], async (server, client) => {
      const app = pipeline(openaiExecutor({ client }));
      const response = await app.generate({ ...ASK, responseFormat: FORMAT });
      assert.equal(response.message.content, ANSWER);
      assert.deepEqual(body(server).response_format, {
        type: 'json_schema',
        json_schema: { name: 'city', schema: FORMAT.schema, strict: true },
      });
      await app.generate({ ...ASK, responseFormat: { type: 'json' } });
      assert.deepEqual(body(server, 1).response_format, { type: 'json_object' });
      await app.generate({ ...ASK, responseFormat: { type: 'text' } });
      assert.deepEqual(body(server, 2).response_format, { type: 'text' });
    });
  });

  test('description and strict: false pass through; streaming sends the same field', async () => {
    await withOpenAI([ANSWER], async (server, client) => {
      const app = pipeline(openaiExecutor({ client }));
      const responseFormat = { type: 'json', schema: { type: 'object' }, description: 'd', strict: false } as const;
      await collect(app.stream({ ...ASK, responseFormat }));
      assert.deepEqual(body(server).response_format, {
        type: 'json_schema',
        json_schema: { name: 'response', schema: { type: 'object' }, strict: false, description: 'd' },
      });
    });
  });

  test('options.openai.response_format is refused, pointing at request.responseFormat', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/' });
    await assert.rejects(
      pipeline(openaiExecutor({ client })).generate({
        ...ASK,
        // @ts-expect-error mapped fields are compile errors in options.openai
        options: { openai: { response_format: { type: 'json_object' } } },
      }),
      /`options\.openai\.response_format`.*Set `request\.responseFormat`/,
    );
  });
});

describe('anthropicExecutor: responseFormat, warnings and prompt caching', () => {
  test('a schema becomes output_config.format, merged with options.anthropic.output_config', async () => {
    await withAnthropic([ANSWER], async (server, client) => {
      const app = pipeline(anthropicExecutor({ client }));
      const response = await app.generate({
        ...ASK,
        responseFormat: FORMAT,
        options: { anthropic: { output_config: { effort: 'low' } } },
      });
      assert.equal(response.message.content, ANSWER);
      assert.equal(response.warnings, undefined);
      assert.deepEqual(body(server).output_config, {
        effort: 'low',
        format: { type: 'json_schema', schema: FORMAT.schema },
      });
    });
  });

  test('temperature, topP, seed and schema-less JSON are warnings on the response and the finish part', async () => {
    await withAnthropic(['a', 'b'], async (server, client) => {
      const app = pipeline(anthropicExecutor({ client }));
      const request: ModelRequest = {
        ...ASK,
        responseFormat: { type: 'json' },
        options: { temperature: 0.2, topP: 0.9, seed: 3 },
      };
      const response = await app.generate(request);
      assert.deepEqual(
        response.warnings?.map((w) => w.feature),
        ['options.temperature', 'options.topP', 'options.seed', 'responseFormat'],
      );
      assert.ok(response.warnings?.every((w) => w.type === 'unsupported' && w.details));
      for (const key of ['temperature', 'top_p', 'seed', 'output_config']) assert.equal(key in body(server), false);
      const parts = await collect(app.stream(request));
      const finish = parts.at(-1);
      assert.equal(finish?.type === 'finish' && finish.warnings?.length, 4);
    });
  });

  test('a temperature set in the executor body is sent as it is (for servers that still take it)', async () => {
    await withAnthropic(['a'], async (server, client) => {
      await pipeline(anthropicExecutor({ client, body: { temperature: 0.5 } })).generate(ASK);
      assert.equal(body(server).temperature, 0.5);
    });
  });

  test('cacheControl on system, parts, tool results and tools becomes cache_control; usage has cache writes', async () => {
    const usage = { input_tokens: 5, cache_creation_input_tokens: 1000, cache_read_input_tokens: 200 };
    await withAnthropic([{ text: 'ok', usage }], async (server, client) => {
      const ephemeral = { type: 'ephemeral' } as const;
      const response = await pipeline(anthropicExecutor({ client })).generate({
        model: 'm',
        messages: [
          { role: 'system', content: 'Long instructions.', cacheControl: { type: 'ephemeral', ttl: '1h' } },
          { role: 'system', content: 'More.' },
          { role: 'user', content: [{ type: 'text', text: 'Doc', cacheControl: ephemeral }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Looking.', cacheControl: ephemeral },
              { type: 'tool-call', toolCallId: 't1', toolName: 'find', input: {} },
            ],
          },
          { role: 'tool', toolCallId: 't1', toolName: 'find', content: 'found', cacheControl: ephemeral },
        ],
        tools: [{ name: 'find', inputSchema: { type: 'object' }, cacheControl: ephemeral }],
      });
      const sent = body(server);
      assert.deepEqual(sent.system, [
        { type: 'text', text: 'Long instructions.', cache_control: { type: 'ephemeral', ttl: '1h' } },
        { type: 'text', text: 'More.' },
      ]);
      assert.deepEqual(sent.messages, [
        { role: 'user', content: [{ type: 'text', text: 'Doc', cache_control: { type: 'ephemeral' } }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Looking.', cache_control: { type: 'ephemeral' } },
            { type: 'tool_use', id: 't1', name: 'find', input: {} },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't1', content: 'found', cache_control: { type: 'ephemeral' } }],
        },
      ]);
      assert.deepEqual(sent.tools, [
        { name: 'find', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } },
      ]);
      assert.equal(response.usage?.inputTokens, 1205);
      assert.equal(response.usage?.cachedInputTokens, 200);
      assert.equal(response.usage?.cacheWriteTokens, 1000);
    });
  });

  test('without breakpoints the system prompt stays one string', async () => {
    await withAnthropic(['ok'], async (server, client) => {
      await pipeline(anthropicExecutor({ client })).generate({
        model: 'm',
        messages: [
          { role: 'system', content: 'A' },
          { role: 'system', content: 'B' },
          { role: 'user', content: 'hi' },
        ],
      });
      assert.equal(body(server).system, 'A\n\nB');
    });
  });
});

describe('AI SDK: responseFormat both ways', () => {
  test('aiSdkExecutor sends responseFormat and reports the model warnings on the response', async () => {
    const model = new MockLanguageModelV4({
      provider: 'openai.chat',
      modelId: 'x',
      doGenerate: {
        content: [{ type: 'text', text: ANSWER }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: 10, noCache: 2, cacheRead: 3, cacheWrite: 5 },
          outputTokens: { total: 4, text: 4, reasoning: undefined },
        },
        warnings: [{ type: 'unsupported', feature: 'topK' }],
      },
    });
    const response = await pipeline(aiSdkExecutor(model)).generate({ ...ASK, responseFormat: FORMAT });
    assert.deepEqual(model.doGenerateCalls[0]?.responseFormat, {
      type: 'json',
      schema: FORMAT.schema,
      name: 'city',
    });
    assert.deepEqual(response.warnings, [{ type: 'unsupported', feature: 'topK' }]);
    assert.equal(response.usage?.cacheWriteTokens, 5);
  });

  test("toLanguageModel takes generateText's Output.object: the pipeline sees the schema", async () => {
    const executor = scriptedExecutor([ANSWER]);
    const result = await generateText({
      model: toLanguageModel(pipeline(executor), { modelId: 'demo' }),
      prompt: 'Biggest city?',
      output: Output.object({ schema: City }),
    });
    assert.deepEqual(result.output, { city: 'Tokyo', population: 37000000 });
    const format = executor.calls[0]?.request.responseFormat;
    assert.equal(format?.type, 'json');
    assert.deepEqual(format?.type === 'json' && format.schema?.required, ['city', 'population']);
  });
});
