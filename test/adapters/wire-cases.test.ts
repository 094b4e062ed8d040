import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { type Executor, type ModelRequest, type StreamPart, pipeline } from 'modelware';
import { anthropicExecutor } from 'modelware/anthropic';
import { openaiExecutor, openaiResponsesExecutor } from 'modelware/openai';
import {
  type FakeServer,
  type FakeStep,
  startAnthropicServer,
  startOpenAIResponsesServer,
  startOpenAIServer,
} from '../fixtures/servers/index.js';
import { settles, until } from '../fixtures/adapters.js';

/**
 * The cases that are one behaviour over several wire formats: each runs against the OpenAI Chat
 * Completions, OpenAI Responses and Anthropic loopback servers with the real SDK client. Wire-specific mapping stays in
 * openai.test.ts and anthropic.test.ts.
 */
interface Wire {
  readonly name: string;
  readonly request: ModelRequest;
  /** Events before the first text delta (Anthropic opens with message_start and a block start). */
  readonly preamble: number;
  run(script: readonly FakeStep[], fn: (server: FakeServer, executor: Executor) => Promise<void>): Promise<void>;
  /** The factory with a client that is never called, for option checks. */
  readonly factory: string;
  create(options: { readonly model?: unknown }): Executor;
}

const WIRES: readonly Wire[] = [
  {
    name: 'openai',
    request: { model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] },
    preamble: 1,
    async run(script, fn) {
      const server = await startOpenAIServer(script);
      try {
        const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0 });
        await fn(server, openaiExecutor({ client }));
      } finally {
        await server.close();
      }
    },
    factory: 'openaiExecutor()',
    create: (options) => openaiExecutor({ client: new OpenAI({ apiKey: 'k' }), ...(options as { model?: string }) }),
  },
  {
    name: 'openai-responses',
    request: { model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] },
    // response.created, response.in_progress, response.output_item.added, response.content_part.added
    preamble: 4,
    async run(script, fn) {
      const server = await startOpenAIResponsesServer(script);
      try {
        const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0 });
        await fn(server, openaiResponsesExecutor({ client }));
      } finally {
        await server.close();
      }
    },
    factory: 'openaiResponsesExecutor()',
    create: (options) =>
      openaiResponsesExecutor({ client: new OpenAI({ apiKey: 'k' }), ...(options as { model?: string }) }),
  },
  {
    name: 'anthropic',
    request: { model: 'claude-test', messages: [{ role: 'user', content: 'Hello' }] },
    preamble: 3,
    async run(script, fn) {
      const server = await startAnthropicServer(script);
      try {
        const client = new Anthropic({ baseURL: server.baseURL, apiKey: 'test-key', maxRetries: 0 });
        await fn(server, anthropicExecutor({ client }));
      } finally {
        await server.close();
      }
    },
    factory: 'anthropicExecutor()',
    create: (options) =>
      anthropicExecutor({ client: new Anthropic({ apiKey: 'k' }), ...(options as { model?: string }) }),
  },
];

const closed = (server: FakeServer) =>
  settles(server.requests[0]?.closedEarly, 'the server seeing the connection close');

for (const wire of WIRES) {
  const { request } = wire;
  const stalling: FakeStep = {
    text: 'a long answer that never ends',
    chunkSize: 2,
    stallAfterEvents: wire.preamble + 2,
  };

  describe(`${wire.name} wire: requests and options`, () => {
    test('sends no tool_choice when the request has no tools (the API would reject it)', async () => {
      await wire.run(['ok'], async (server, executor) => {
        await pipeline(executor).generate({ ...request, options: { toolChoice: 'required' } });
        assert.equal(Object.hasOwn(server.requests[0]?.body ?? {}, 'tool_choice'), false);
      });
    });

    test('rejects a `model` that is not a non-empty string at factory time', () => {
      const says = `${wire.factory}: expected \`model\` (the default model id) to be a non-empty string, got`;
      assert.throws(() => wire.create({ model: '' }), { name: 'TypeError', message: `${says} string \`\`.` });
      assert.throws(() => wire.create({ model: 5 }), { name: 'TypeError', message: `${says} number \`5\`.` });
    });
  });

  describe(`${wire.name} wire: cancellation`, () => {
    test('aborting mid-stream closes the HTTP connection before the server finished writing', async () => {
      await wire.run([stalling], async (server, executor) => {
        const controller = new AbortController();
        const seen: StreamPart[] = [];
        const consume = async () => {
          for await (const part of pipeline(executor).stream(request, { signal: controller.signal })) {
            seen.push(part);
            controller.abort();
          }
        };
        await assert.rejects(settles(consume(), 'the stream stopping on abort'), { name: 'AbortError' });
        assert.deepEqual(seen, [{ type: 'text-delta', text: 'a ' }]);
        assert.equal(await closed(server), true);
      });
    });

    test('breaking out of the stream closes the HTTP connection', async () => {
      await wire.run([stalling], async (server, executor) => {
        for await (const part of pipeline(executor).stream(request)) {
          assert.equal(part.type, 'text-delta');
          break;
        }
        assert.equal(await closed(server), true);
      });
    });

    test('aborting a pending generate() rejects with the signal reason and closes the connection', async () => {
      await wire.run([{ hang: true }], async (server, executor) => {
        const controller = new AbortController();
        const pending = pipeline(executor).generate(request, { signal: controller.signal });
        await until(() => server.requests.length > 0, 'the request reaching the server');
        const reason = new Error('user cancelled');
        controller.abort(reason);
        await assert.rejects(settles(pending, 'generate() rejecting on abort'), (error: unknown) => error === reason);
        assert.equal(await closed(server), true);
      });
    });
  });
}
