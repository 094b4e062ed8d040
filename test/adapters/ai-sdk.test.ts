import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APICallError, type LanguageModelV4StreamPart, type LanguageModelV4Usage } from '@ai-sdk/provider';
import { tool as aiTool, generateText, jsonSchema, stepCountIs, streamText } from 'ai';
import { MockLanguageModelV4, convertArrayToReadableStream } from 'ai/test';
import OpenAI from 'openai';
import { type ModelRequest, ProviderError, type StreamPart, defineMiddleware, pipeline, runAgent } from 'modelware';
import { aiSdkExecutor, toLanguageModel } from 'modelware/ai-sdk';
import { retry } from 'modelware/middleware';
import { openaiExecutor } from 'modelware/openai';
import { scriptedExecutor } from 'modelware/testing';
import { startOpenAIServer } from '../fixtures/servers/index.js';
import { collect, settles } from '../fixtures/adapters.js';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const HELLO: ModelRequest = { model: 'claude-x', messages: [{ role: 'user', content: 'Hello' }] };

function usage(
  input: number,
  output: number,
  extra: { cacheRead?: number; reasoning?: number } = {},
): LanguageModelV4Usage {
  return {
    inputTokens: { total: input, noCache: undefined, cacheRead: extra.cacheRead, cacheWrite: undefined },
    outputTokens: { total: output, text: undefined, reasoning: extra.reasoning },
  };
}

const TEXT_RESULT = {
  content: [{ type: 'text' as const, text: 'ok' }],
  finishReason: { unified: 'stop' as const, raw: 'end_turn' },
  usage: usage(3, 1),
  warnings: [],
};

/** Plain JSON (URL objects become their href) so the whole call compares with deepEqual. */
const plain = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('aiSdkExecutor: an AI SDK model as an executor', () => {
  test('maps the request to a v4 call: prompt, tools, tool choice, settings, providerOptions, abortSignal', async () => {
    const model = new MockLanguageModelV4({
      provider: 'anthropic.messages',
      modelId: 'claude-x',
      doGenerate: TEXT_RESULT,
    });
    const signal = new AbortController().signal;
    await pipeline(aiSdkExecutor(model)).generate(
      {
        model: 'claude-x',
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Look:' },
              { type: 'image', image: 'https://example.com/a.png' },
              { type: 'image', image: PNG },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'reasoning', text: 'Two calls.', signature: 'sig_1' },
              { type: 'tool-call', toolCallId: 't1', toolName: 'lookup', input: { id: 1 } },
              { type: 'tool-call', toolCallId: 't2', toolName: 'lookup', input: { id: 2 } },
            ],
          },
          { role: 'tool', toolCallId: 't1', toolName: 'lookup', content: 'one' },
          { role: 'tool', toolCallId: 't2', toolName: 'lookup', content: 'missing', isError: true },
        ],
        tools: [{ name: 'lookup', description: 'Finds', inputSchema: { type: 'object' } }],
        options: {
          temperature: 0.1,
          topP: 0.5,
          maxOutputTokens: 99,
          stopSequences: ['X'],
          seed: 3,
          toolChoice: 'required',
          providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 1000 } } },
        },
      },
      { signal },
    );
    const call = model.doGenerateCalls[0];
    assert.ok(call?.abortSignal instanceof AbortSignal);
    assert.deepEqual(plain({ ...call, abortSignal: undefined }), {
      prompt: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look:' },
            { type: 'file', mediaType: 'image', data: { type: 'url', url: 'https://example.com/a.png' } },
            { type: 'file', mediaType: 'image/png', data: { type: 'data', data: PNG } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'Two calls.', providerOptions: { anthropic: { signature: 'sig_1' } } },
            { type: 'tool-call', toolCallId: 't1', toolName: 'lookup', input: { id: 1 } },
            { type: 'tool-call', toolCallId: 't2', toolName: 'lookup', input: { id: 2 } },
          ],
        },
        {
          role: 'tool',
          content: [
            { type: 'tool-result', toolCallId: 't1', toolName: 'lookup', output: { type: 'text', value: 'one' } },
            {
              type: 'tool-result',
              toolCallId: 't2',
              toolName: 'lookup',
              output: { type: 'error-text', value: 'missing' },
            },
          ],
        },
      ],
      tools: [{ type: 'function', name: 'lookup', description: 'Finds', inputSchema: { type: 'object' } }],
      maxOutputTokens: 99,
      temperature: 0.1,
      topP: 0.5,
      stopSequences: ['X'],
      seed: 3,
      toolChoice: { type: 'required' },
      providerOptions: { anthropic: { thinking: { type: 'enabled', budgetTokens: 1000 } } },
    });
  });

  test('maps the result: reasoning with its signature, text, parsed tool calls, usage, finish, model', async () => {
    const model = new MockLanguageModelV4({
      provider: 'anthropic.messages',
      modelId: 'claude-x',
      doGenerate: {
        content: [
          { type: 'reasoning', text: 'Thinking.', providerMetadata: { anthropic: { signature: 'sig_9' } } },
          { type: 'text', text: 'Calling.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: '{"id":7}' },
          { type: 'tool-call', toolCallId: 'srv', toolName: 'web_search', input: '{}', providerExecuted: true },
          { type: 'source', sourceType: 'url', id: 's1', url: 'https://example.com' },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_use' },
        usage: usage(100, 20, { cacheRead: 60, reasoning: 8 }),
        response: { modelId: 'claude-x-2026' },
        warnings: [],
      },
    });
    assert.deepEqual(await pipeline(aiSdkExecutor(model)).generate(HELLO), {
      message: {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'Thinking.', signature: 'sig_9' },
          { type: 'text', text: 'Calling.' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { id: 7 } },
        ],
      },
      finishReason: 'tool-calls',
      usage: { inputTokens: 100, outputTokens: 20, totalTokens: 120, cachedInputTokens: 60, reasoningTokens: 8 },
      model: 'claude-x-2026',
    });
  });

  test('maps the v4 stream: block deltas, the signature at reasoning-end, tool input, response model, finish; skips provider-run tools', async () => {
    const parts: LanguageModelV4StreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', modelId: 'claude-x-2026' },
      { type: 'reasoning-start', id: 'r' },
      { type: 'reasoning-delta', id: 'r', delta: 'Hm' },
      { type: 'reasoning-end', id: 'r', providerMetadata: { anthropic: { signature: 'sig_s' } } },
      { type: 'text-start', id: 't' },
      { type: 'text-delta', id: 't', delta: 'Hel' },
      { type: 'text-delta', id: 't', delta: 'lo' },
      { type: 'text-end', id: 't' },
      { type: 'tool-input-start', id: 'c1', toolName: 'lookup' },
      { type: 'tool-input-delta', id: 'c1', delta: '{"id"' },
      { type: 'tool-input-delta', id: 'c1', delta: ':1}' },
      { type: 'tool-input-end', id: 'c1' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: '{"id":1}' },
      // The provider's own tools are not the agent loop's to run: no parts for them.
      { type: 'tool-input-start', id: 'srv', toolName: 'web_search', providerExecuted: true },
      { type: 'tool-input-delta', id: 'srv', delta: '{"q":"x"}' },
      { type: 'tool-input-end', id: 'srv' },
      { type: 'tool-call', toolCallId: 'srv', toolName: 'web_search', input: '{"q":"x"}', providerExecuted: true },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: usage(10, 5) },
    ];
    const model = new MockLanguageModelV4({
      provider: 'anthropic.messages',
      doStream: { stream: convertArrayToReadableStream(parts) },
    });
    assert.deepEqual(await collect(pipeline(aiSdkExecutor(model)).stream(HELLO)), [
      { type: 'reasoning-delta', text: 'Hm' },
      { type: 'reasoning-delta', text: '', signature: 'sig_s' },
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'tool-call-delta', toolCallId: 'c1', toolName: 'lookup', inputDelta: '' },
      { type: 'tool-call-delta', toolCallId: 'c1', inputDelta: '{"id"' },
      { type: 'tool-call-delta', toolCallId: 'c1', inputDelta: ':1}' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { id: 1 } },
      {
        type: 'finish',
        finishReason: 'tool-calls',
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
        model: 'claude-x-2026',
      },
    ]);
  });

  test('an APICallError becomes a ProviderError that retry() re-runs after the asked delay', async () => {
    let calls = 0;
    const model = new MockLanguageModelV4({
      doGenerate: async () => {
        if (++calls === 1) {
          throw new APICallError({
            message: 'Too many requests',
            url: 'https://api.example.com',
            requestBodyValues: {},
            statusCode: 429,
            responseHeaders: { 'retry-after-ms': '25' },
          });
        }
        return TEXT_RESULT;
      },
    });
    const failures: unknown[] = [];
    const app = pipeline(aiSdkExecutor(model)).use(
      retry({ initialDelayMs: 0, onRetry: ({ error, delayMs }) => failures.push(error, delayMs) }),
    );
    assert.equal((await app.generate(HELLO)).message.content, 'ok');
    const [error, delayMs] = failures;
    assert.ok(ProviderError.isInstance(error));
    assert.equal(error.provider, 'ai-sdk:mock-provider');
    assert.equal(error.status, 429);
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 25);
    assert.ok(APICallError.isInstance(error.cause));
    assert.equal(delayMs, 25);
  });

  test('a non-retryable APICallError and errors that are not API errors', async () => {
    const bad = new APICallError({ message: 'Bad', url: 'u', requestBodyValues: {}, statusCode: 400 });
    const other = new TypeError('mapping bug');
    for (const [thrown, check] of [
      [bad, (e: unknown) => ProviderError.isInstance(e) && e.status === 400 && !e.retryable],
      [other, (e: unknown) => e === other],
    ] as const) {
      const model = new MockLanguageModelV4({
        doGenerate: async () => {
          throw thrown;
        },
      });
      await assert.rejects(pipeline(aiSdkExecutor(model)).generate(HELLO), check);
    }
  });

  test('an error part mid-stream rejects the stream with the mapped error', async () => {
    const overloaded = new APICallError({ message: 'Overloaded', url: 'u', requestBodyValues: {}, statusCode: 529 });
    const model = new MockLanguageModelV4({
      doStream: {
        stream: convertArrayToReadableStream<LanguageModelV4StreamPart>([
          { type: 'text-start', id: 't' },
          { type: 'text-delta', id: 't', delta: 'par' },
          { type: 'error', error: overloaded },
        ]),
      },
    });
    await assert.rejects(collect(pipeline(aiSdkExecutor(model)).stream(HELLO)), (error: unknown) => {
      return ProviderError.isInstance(error) && error.status === 529 && error.retryable && error.cause === overloaded;
    });
  });

  test("breaking out of the stream cancels the model's ReadableStream", async () => {
    let cancelled: unknown = 'not cancelled';
    const model = new MockLanguageModelV4({
      doStream: {
        stream: new ReadableStream<LanguageModelV4StreamPart>({
          start(controller) {
            controller.enqueue({ type: 'text-start', id: 't' });
            controller.enqueue({ type: 'text-delta', id: 't', delta: 'first' });
            // No more parts: a provider still waiting on the network.
          },
          cancel(reason) {
            cancelled = reason;
          },
        }),
      },
    });
    for await (const part of pipeline(aiSdkExecutor(model)).stream(HELLO)) {
      assert.deepEqual(part, { type: 'text-delta', text: 'first' });
      break;
    }
    assert.notEqual(cancelled, 'not cancelled');
  });

  test('aborting rejects with the signal reason: the signal is the abortSignal the model got', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: (options) =>
        new Promise((_, reject) =>
          options.abortSignal?.addEventListener('abort', () => reject(new Error('fetch aborted'))),
        ),
    });
    const controller = new AbortController();
    const pending = pipeline(aiSdkExecutor(model)).generate(HELLO, { signal: controller.signal });
    const reason = new Error('user cancelled');
    controller.abort(reason);
    await assert.rejects(pending, (error: unknown) => error === reason);
  });

  test('a resolver picks the model from request.model, so routing can switch models', async () => {
    const models = {
      small: new MockLanguageModelV4({ modelId: 'small', doGenerate: TEXT_RESULT }),
      large: new MockLanguageModelV4({ modelId: 'large', doGenerate: TEXT_RESULT }),
    };
    const executor = aiSdkExecutor((id) => models[id as keyof typeof models]);
    assert.equal(executor.name, 'ai-sdk');
    const app = pipeline(executor);
    assert.equal((await app.generate({ ...HELLO, model: 'large' })).model, 'large');
    assert.equal((await app.generate({ ...HELLO, model: 'small' })).model, 'small');
    assert.deepEqual([models.small.doGenerateCalls.length, models.large.doGenerateCalls.length], [1, 1]);
  });

  test('rejects a model of an older specification when the factory is called', () => {
    const v3 = { specificationVersion: 'v3', provider: 'p', modelId: 'm', doGenerate() {}, doStream() {} };
    assert.throws(
      () => aiSdkExecutor(v3 as never),
      /expected a LanguageModelV4 \(specificationVersion 'v4'\), got string `v3`/,
    );
  });
});

describe('aiSdkExecutor: the default model', () => {
  test("a model's `modelId` is the executor's `defaultModel`, which runAgent sends; a resolver has none", async () => {
    const model = new MockLanguageModelV4({ provider: 'openai.chat', modelId: 'gpt-mock', doGenerate: TEXT_RESULT });
    const executor = aiSdkExecutor(model);
    assert.equal(executor.defaultModel, 'gpt-mock');
    const result = await runAgent({ model: pipeline(executor), messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(result.text, 'ok');
    assert.equal(aiSdkExecutor(() => model).defaultModel, undefined);
    const resolved: string[] = [];
    const byId = aiSdkExecutor((id) => {
      resolved.push(id);
      return model;
    });
    await runAgent({ model: byId, modelId: 'gpt-chosen', messages: [{ role: 'user', content: 'Hi' }] });
    assert.deepEqual(resolved, ['gpt-chosen']);
  });
});

describe('toLanguageModel: a pipeline inside the AI SDK', () => {
  test('generateText runs the pipeline: middleware in order, metadata, settings, text, usage', async () => {
    const log: string[] = [];
    const executor = scriptedExecutor([
      { text: 'Paris.', usage: { inputTokens: 12, outputTokens: 2, cachedInputTokens: 10 }, model: 'demo-2026' },
    ]);
    const app = pipeline(executor).use(
      defineMiddleware({
        name: 'audit',
        async call(ctx, next) {
          log.push(`audit:in ${ctx.request.model} tenant=${String(ctx.request.metadata?.tenant)}`);
          await next();
          log.push('audit:out');
        },
      }),
    );
    const result = await generateText({
      model: toLanguageModel(app, { modelId: 'demo' }),
      system: 'Be brief.',
      prompt: 'Capital of France?',
      temperature: 0.3,
      providerOptions: { modelware: { metadata: { tenant: 'acme' } } },
    });
    assert.deepEqual(log, ['audit:in demo tenant=acme', 'audit:out']);
    assert.equal(result.text, 'Paris.');
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.usage.inputTokens, 12);
    assert.equal(result.usage.outputTokens, 2);
    assert.equal(result.usage.inputTokenDetails.cacheReadTokens, 10);
    assert.equal(result.usage.inputTokenDetails.noCacheTokens, 2);
    assert.equal(result.response.modelId, 'demo-2026');
    assert.deepEqual(executor.calls[0]?.request, {
      model: 'demo',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Capital of France?' },
      ],
      options: { temperature: 0.3 },
      metadata: { tenant: 'acme' },
    });
  });

  test('a generateText tool loop: AI SDK runs the tool, the pipeline sees the paired result next call', async () => {
    const executor = scriptedExecutor([
      { toolCalls: [{ id: 'c1', name: 'weather', input: { city: 'Rome' } }] },
      'Warm in Rome.',
    ]);
    const result = await generateText({
      model: toLanguageModel(pipeline(executor), { modelId: 'demo' }),
      prompt: 'Weather in Rome?',
      tools: {
        weather: aiTool({
          description: 'Current weather',
          inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } } }),
          execute: async ({ city }) => `22°C in ${city}`,
        }),
      },
      stopWhen: stepCountIs(3),
    });
    assert.equal(result.text, 'Warm in Rome.');
    assert.equal(executor.calls[0]?.request.tools?.[0]?.name, 'weather');
    assert.deepEqual(executor.calls[1]?.request.messages.slice(1), [
      {
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'weather', input: { city: 'Rome' } }],
      },
      { role: 'tool', toolCallId: 'c1', toolName: 'weather', content: '22°C in Rome' },
    ]);
  });

  test('streamText streams the pipeline: text chunks, reasoning with its signature, usage', async () => {
    const executor = scriptedExecutor([{ reasoning: 'Short one.', text: 'Streamed hello world' }], { chunkSize: 8 });
    const model = toLanguageModel(pipeline(executor), { modelId: 'demo' });
    const result = streamText({ model, prompt: 'Hi' });
    const chunks: string[] = [];
    for await (const chunk of result.textStream) chunks.push(chunk);
    assert.deepEqual(chunks, ['Streamed', ' hello w', 'orld']);
    assert.equal(await result.reasoningText, 'Short one.');
    assert.equal(await result.finishReason, 'stop');
    assert.equal((await result.usage).outputTokens, 8);
  });

  test('doStream brackets deltas in start/end parts and carries the signature in providerMetadata', async () => {
    const script = [
      {
        message: {
          role: 'assistant' as const,
          content: [
            { type: 'reasoning' as const, text: 'Hm', signature: 'sig' },
            { type: 'text' as const, text: 'Hi' },
          ],
        },
        finishReason: 'stop' as const,
        model: 'demo',
      },
    ];
    const model = toLanguageModel(pipeline(scriptedExecutor(script)), { modelId: 'demo', provider: 'mw' });
    const { stream } = await model.doStream({ prompt: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] });
    const parts: LanguageModelV4StreamPart[] = [];
    const reader = stream.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value);
    assert.deepEqual(parts, [
      { type: 'stream-start', warnings: [] },
      { type: 'reasoning-start', id: 'reasoning-0' },
      { type: 'reasoning-delta', id: 'reasoning-0', delta: 'Hm' },
      { type: 'reasoning-end', id: 'reasoning-0', providerMetadata: { mw: { signature: 'sig' } } },
      { type: 'text-start', id: 'text-1' },
      { type: 'text-delta', id: 'text-1', delta: 'Hi' },
      { type: 'text-end', id: 'text-1' },
      { type: 'response-metadata', modelId: 'demo' },
      {
        type: 'finish',
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: {
          inputTokens: { total: undefined, noCache: undefined, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: undefined, text: undefined, reasoning: undefined },
        },
      },
    ]);
  });

  test('reports unsupported settings as warnings', async () => {
    const result = await generateText({
      model: toLanguageModel(pipeline(scriptedExecutor(['ok'])), { modelId: 'demo' }),
      prompt: 'Hi',
      topK: 3,
    });
    assert.deepEqual(result.warnings, [{ type: 'unsupported', feature: 'topK' }]);
  });

  test('rejects a missing modelId when called', () => {
    assert.throws(
      () => toLanguageModel(pipeline(scriptedExecutor([])), {} as never),
      /expected `modelId` to be a non-empty string, got `undefined`/,
    );
  });
});

describe('toLanguageModel over the real OpenAI client on a loopback server', () => {
  test('streamText → pipeline → openai SDK → HTTP and back', async () => {
    const server = await startOpenAIServer([{ text: 'Hello from the wire', chunkSize: 6 }]);
    try {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 });
      const model = toLanguageModel(pipeline(openaiExecutor({ client })), { modelId: 'gpt-test' });
      const result = streamText({ model, system: 'Be kind.', prompt: 'Hi' });
      let text = '';
      for await (const chunk of result.textStream) text += chunk;
      assert.equal(text, 'Hello from the wire');
      assert.equal((await result.usage).inputTokens, 10);
      assert.deepEqual(server.requests[0]?.body.messages, [
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'Hi' },
      ]);
    } finally {
      await server.close();
    }
  });

  test('an abortSignal given to streamText closes the HTTP connection mid-stream', async () => {
    const server = await startOpenAIServer([
      { text: 'a long answer that never ends', chunkSize: 2, stallAfterEvents: 3 },
    ]);
    try {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 });
      const model = toLanguageModel(pipeline(openaiExecutor({ client })), { modelId: 'gpt-test' });
      const controller = new AbortController();
      const result = streamText({ model, prompt: 'Hi', abortSignal: controller.signal });
      const consume = async () => {
        for await (const chunk of result.textStream) {
          assert.equal(chunk, 'a ');
          controller.abort();
        }
      };
      await settles(
        consume().catch(() => {}),
        'the AI SDK stream stopping on abort',
      );
      assert.equal(await settles(server.requests[0]?.closedEarly, 'the server seeing the connection close'), true);
    } finally {
      await server.close();
    }
  });

  test('a 400 from the provider rejects generateText with the ProviderError, without AI SDK retries', async () => {
    const server = await startOpenAIServer([{ error: { status: 400, message: 'Bad model' } }, 'never']);
    try {
      const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 });
      const model = toLanguageModel(pipeline(openaiExecutor({ client })), { modelId: 'gpt-test' });
      await assert.rejects(generateText({ model, prompt: 'Hi' }), (error: unknown) => {
        return ProviderError.isInstance(error) && error.status === 400;
      });
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });
});

// Keeps the StreamPart import honest: the fixtures' collect() returns modelware parts.
export type { StreamPart };
