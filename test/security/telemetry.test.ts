// Issue 9, item 10 (adapters, config and errors): with content capture off (the default), a canary
// string in the prompt, the answer, tool arguments or a provider's error body never appears in
// serialised spans, audit records or error messages. Config errors are covered in config.test.ts.
//
// Not covered here: OutputValidationError (validateOutput) still embeds the answer in its message
// on this branch; that fix belongs to the guardrails work and its canary test lives with it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { APICallError } from '@ai-sdk/provider';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MockLanguageModelV4 } from 'ai/test';
import OpenAI from 'openai';
import { type Executor, type ModelRequest, pipeline } from 'modelware';
import { aiSdkExecutor } from 'modelware/ai-sdk';
import { anthropicExecutor } from 'modelware/anthropic';
import { type AuditRecord, auditLog, retry, tracing } from 'modelware/middleware';
import { openaiExecutor } from 'modelware/openai';
import { type FakeServer, type FakeStep, startAnthropicServer, startOpenAIServer } from '../fixtures/servers/index.js';
import { collect } from '../fixtures/adapters.js';

const CANARY = 'CANARY-5e1d7c';
const PROMPT: ModelRequest = {
  model: 'm-1',
  messages: [
    { role: 'system', content: `You guard ${CANARY}-system.` },
    { role: 'user', content: `Tell me about ${CANARY}-user.` },
  ],
  tools: [{ name: 'lookup', description: 'Looks up', inputSchema: { type: 'object' } }],
};

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
after(() => provider.shutdown());

/** Everything an exporter would send for the finished spans. */
function exportedSpans(): string {
  return JSON.stringify(
    exporter.getFinishedSpans().map((span) => ({
      name: span.name,
      attributes: span.attributes,
      events: span.events,
      status: span.status,
      links: span.links,
    })),
  );
}

/** The executor inside tracing and auditLog (defaults: no content), with retry() between them. */
function observed(executor: Executor) {
  exporter.reset();
  const records: AuditRecord[] = [];
  const app = pipeline(executor).use(
    auditLog({ sink: (record) => void records.push(record) }),
    tracing({ tracer: provider.getTracer('canary') }),
    retry({ retries: 1, initialDelayMs: 0 }),
  );
  return { app, records };
}

function assertNoCanary(where: string, text: string): void {
  assert.ok(!text.includes(CANARY), `${where} contains the canary: ${text.slice(0, 2000)}`);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('the call succeeded');
}

const SERVERS = [
  {
    name: 'openai',
    start: startOpenAIServer,
    executor: (server: FakeServer) =>
      openaiExecutor({ client: new OpenAI({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 }) }),
  },
  {
    name: 'anthropic',
    start: startAnthropicServer,
    executor: (server: FakeServer) =>
      anthropicExecutor({ client: new Anthropic({ baseURL: server.baseURL, apiKey: 'k', maxRetries: 0 }) }),
  },
] as const;

async function withServer(
  adapter: (typeof SERVERS)[number],
  script: FakeStep[],
  fn: (executor: Executor) => Promise<void>,
): Promise<void> {
  const server = await adapter.start(script);
  try {
    await fn(adapter.executor(server));
  } finally {
    await server.close();
  }
}

for (const adapter of SERVERS) {
  describe(`${adapter.name}: no content in default telemetry`, () => {
    for (const mode of ['generate', 'stream'] as const) {
      test(`${mode}: prompt, answer and tool arguments stay out of spans and audit records`, async () => {
        const turn = {
          text: `The answer is ${CANARY}-answer.`,
          toolCalls: [{ name: 'lookup', input: { q: `${CANARY}-args` } }],
        };
        await withServer(adapter, [turn], async (executor) => {
          const { app, records } = observed(executor);
          if (mode === 'generate') await app.generate(PROMPT);
          else await collect(app.stream(PROMPT));
          assert.equal(records[0]?.outcome, 'completed');
          assertNoCanary('spans', exportedSpans());
          assertNoCanary('audit records', JSON.stringify(records));
        });
      });

      test(`${mode}: a provider error body that echoes the prompt stays out of the message, spans and audit`, async () => {
        const echo = { error: { status: 400, type: 'invalid_request_error', message: `Bad input: ${CANARY}-user` } };
        await withServer(adapter, [echo], async (executor) => {
          const { app, records } = observed(executor);
          const error = await failure(mode === 'generate' ? app.generate(PROMPT) : collect(app.stream(PROMPT)));
          assert.equal((error as { providerMessage?: string }).providerMessage, `Bad input: ${CANARY}-user`);
          assertNoCanary('the error message', `${error.message}\n${error.stack}`);
          assert.equal(records[0]?.outcome, 'failed');
          assertNoCanary('spans', exportedSpans());
          assertNoCanary('audit records', JSON.stringify(records));
        });
      });
    }

    test('a stream error event that echoes the prompt stays out of everything', async () => {
      const turn = {
        text: 'partial',
        streamError: { afterEvents: 3, type: 'server_error', message: `Bad input: ${CANARY}-user` },
      };
      await withServer(adapter, [turn, turn], async (executor) => {
        const { app, records } = observed(executor);
        const error = await failure(collect(app.stream(PROMPT)));
        assertNoCanary('the error message', `${error.message}\n${error.stack}`);
        assertNoCanary('spans', exportedSpans());
        assertNoCanary('audit records', JSON.stringify(records));
      });
    });

    test('an image the adapter cannot send is not quoted in the error', async () => {
      await withServer(adapter, [], async (executor) => {
        const { app, records } = observed(executor);
        const request: ModelRequest = {
          model: 'm-1',
          messages: [{ role: 'user', content: [{ type: 'image', image: `data:text/plain,${CANARY}` }] }],
        };
        const error = await failure(app.generate(request));
        assert.match(error.message, /only base64 `data:` URLs are supported/);
        assertNoCanary('the error message', `${error.message}\n${error.stack}`);
        assertNoCanary('spans', exportedSpans());
        assertNoCanary('audit records', JSON.stringify(records));
      });
    });
  });
}

describe('ai-sdk: no content in default telemetry', () => {
  test('an APICallError whose message quotes the prompt stays out of the message, spans and audit', async () => {
    const apiError = new APICallError({
      message: `Bad input: ${CANARY}-user`,
      url: 'https://api.example.com/v1/chat',
      requestBodyValues: { prompt: PROMPT.messages },
      statusCode: 400,
      responseBody: JSON.stringify({ error: `Bad input: ${CANARY}-user` }),
      isRetryable: false,
    });
    const model = new MockLanguageModelV4({
      doGenerate: async () => {
        throw apiError;
      },
    });
    const { app, records } = observed(aiSdkExecutor(model));
    const error = await failure(app.generate(PROMPT));
    assert.match(error.message, /^ai-sdk:mock-provider: HTTP 400\. Not retryable/);
    assert.equal((error as { providerMessage?: string }).providerMessage, `Bad input: ${CANARY}-user`);
    assertNoCanary('the error message', `${error.message}\n${error.stack}`);
    assertNoCanary('spans', exportedSpans());
    assertNoCanary('audit records', JSON.stringify(records));
  });
});
