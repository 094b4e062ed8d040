import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type Context, type Executor, RetryError, defineMiddleware, pipeline, runAgent } from 'modelware';
import { fallback, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { tracing } from '../../middleware/tracing/index.js';
import { USER, add } from '../fixtures/agent.js';
import { providerError } from '../fixtures/core.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();

before(() => {
  // Without a context manager, active spans do not follow `await`, and nothing nests.
  context.setGlobalContextManager(contextManager.enable());
});
afterEach(() => exporter.reset());
after(async () => {
  context.disable();
  await provider.shutdown();
});

const REQUEST = {
  model: 'a',
  messages: [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'hi' },
  ],
  options: { temperature: 0.2, topP: 0.9, maxOutputTokens: 100 },
} as const;
const USAGE = { inputTokens: 12, outputTokens: 3, totalTokens: 15 };

const spans = () => exporter.getFinishedSpans();
const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan | undefined) => span?.spanContext().spanId;
/** Attributes without the random call id, which is checked apart. */
function attrs(span: ReadableSpan | undefined): Record<string, unknown> {
  const { 'modelware.call.id': id, ...rest } = span?.attributes ?? {};
  assert.match(String(id), /^call_/);
  return rest;
}

describe('tracing: generate', () => {
  test('one CLIENT span per call with the GenAI attributes', async () => {
    const app = pipeline(scriptedExecutor([{ text: 'hello', usage: USAGE }])).use(tracing({ tracer }));
    await app.generate(REQUEST);
    const [span] = spans();
    assert.equal(spans().length, 1);
    assert.equal(span?.name, 'chat a');
    assert.equal(span?.kind, SpanKind.CLIENT);
    assert.deepEqual(attrs(span), {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'a',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.max_tokens': 100,
      'gen_ai.response.model': 'a',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
    });
    assert.deepEqual(span?.status, { code: SpanStatusCode.UNSET });
    assert.equal(parentOf(span), undefined);
  });

  test('provider, cache and reasoning tokens, tool-call finish reason in semconv spelling', async () => {
    const app = pipeline(
      scriptedExecutor([
        {
          toolCalls: [{ name: 'add', input: { a: 1, b: 2 } }],
          usage: { ...USAGE, cachedInputTokens: 8, reasoningTokens: 2 },
        },
      ]),
    ).use(tracing({ tracer, provider: 'openai' }));
    await app.generate({ model: 'a', messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(attrs(spans()[0]), {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'a',
      'gen_ai.response.model': 'a',
      'gen_ai.response.finish_reasons': ['tool_call'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
      'gen_ai.usage.cache_read.input_tokens': 8,
      'gen_ai.usage.reasoning.output_tokens': 2,
    });
  });

  test('a failed call: error.type and status ERROR without the message, no exception event, the error rethrown', async () => {
    const boom = Object.assign(new TypeError('bad gateway'), { retryable: false });
    const app = pipeline(scriptedExecutor([boom])).use(tracing({ tracer }));
    await assert.rejects(app.generate(REQUEST), (e) => e === boom);
    const [span] = spans();
    assert.deepEqual(attrs(span), {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'a',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.max_tokens': 100,
      'error.type': 'TypeError',
    });
    // An error's message may quote the call's content: with content capture off, only its type.
    assert.deepEqual(span?.status, { code: SpanStatusCode.ERROR });
    assert.deepEqual(span?.events, []);
  });

  test('with captureContent, a failed call also records the message and the exception event', async () => {
    const boom = Object.assign(new TypeError('bad gateway'), { retryable: false });
    const app = pipeline(scriptedExecutor([boom])).use(tracing({ tracer, captureContent: true }));
    await assert.rejects(app.generate(REQUEST), (e) => e === boom);
    const [span] = spans();
    assert.deepEqual(span?.status, { code: SpanStatusCode.ERROR, message: 'bad gateway' });
    assert.deepEqual(
      span?.events.map((e) => [e.name, e.attributes?.['exception.type'], e.attributes?.['exception.message']]),
      [['exception', 'TypeError', 'bad gateway']],
    );
  });
});

describe('tracing: nesting and the effective model', () => {
  test('outside fallback: one span whose response model is the fallback model; inside: one per attempt, nested', async () => {
    const model = scriptedExecutor([providerError('a down'), { text: 'ok', usage: USAGE }]);
    const app = pipeline(model).use(
      tracing({ tracer, name: 'outerTracing' }),
      fallback({ models: ['b'] }),
      tracing({ tracer, name: 'innerTracing' }),
    );
    await app.generate(REQUEST);
    const [first, second, outer] = spans();
    assert.deepEqual(
      spans().map((s) => [s.name, s.attributes['gen_ai.response.model'], s.attributes['error.type'], s.status.code]),
      [
        ['chat a', undefined, 'Error', SpanStatusCode.ERROR],
        ['chat b', 'b', undefined, SpanStatusCode.UNSET],
        ['chat a', 'b', undefined, SpanStatusCode.UNSET],
      ],
    );
    assert.equal(parentOf(first), idOf(outer));
    assert.equal(parentOf(second), idOf(outer));
    assert.equal(parentOf(outer), undefined);
    assert.equal(first?.spanContext().traceId, outer?.spanContext().traceId);
  });

  test('every model failing: the outer span records the RetryError', async () => {
    const app = pipeline(scriptedExecutor([providerError('a down'), providerError('b down')])).use(
      tracing({ tracer }),
      fallback({ models: ['b'] }),
    );
    await assert.rejects(app.generate(REQUEST), RetryError);
    const [span] = spans();
    assert.equal(span?.attributes['error.type'], 'RetryError');
    assert.equal(span?.status.code, SpanStatusCode.ERROR);
    assert.equal(span?.status.message, undefined);
  });

  test("a nested pipeline's spans and a layer's own spans are children of the call span", async () => {
    const inner = pipeline(scriptedExecutor(['ok'])).use(
      tracing({ tracer }),
      defineMiddleware({
        name: 'work',
        async call(_ctx, next) {
          await tracer.startActiveSpan('inner work', async (span) => {
            await next();
            span.end();
          });
        },
      }),
    );
    const outer = pipeline(inner).use(tracing({ tracer }));
    await tracer.startActiveSpan('request handler', async (root) => {
      await outer.generate(REQUEST);
      root.end();
    });
    const byName = (name: string, nth = 0) => spans().filter((s) => s.name === name)[nth];
    assert.deepEqual(
      spans().map((s) => s.name),
      ['inner work', 'chat a', 'chat a', 'request handler'],
    );
    const [innerCall, outerCall] = [byName('chat a', 0), byName('chat a', 1)];
    assert.equal(parentOf(byName('inner work')), idOf(innerCall));
    assert.equal(parentOf(innerCall), idOf(outerCall));
    assert.equal(parentOf(outerCall), idOf(byName('request handler')));
  });

  test('inside runAgent each call carries the run id and turn', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ id: 'c1', name: 'add', input: { a: 1, b: 2 } }] }, '3']);
    const result = await runAgent({
      model: pipeline(model).use(tracing({ tracer })),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
    });
    assert.deepEqual(
      spans()
        .filter((s) => s.name.startsWith('chat '))
        .map((s) => [s.attributes['modelware.run.id'] === result.runId, s.attributes['modelware.run.turn']]),
      [
        [true, 1],
        [true, 2],
      ],
    );
  });
});

describe('tracing: stream', () => {
  test('the span ends when the stream ends, with usage from the final part', async () => {
    const app = pipeline(scriptedExecutor([{ text: 'a streamed answer', usage: USAGE }], { chunkSize: 4 })).use(
      tracing({ tracer }),
    );
    const stream = app.stream(REQUEST);
    let parts = 0;
    for await (const _ of stream) {
      parts++;
      assert.equal(spans().length, 0, 'no span may end before the stream does');
    }
    assert.equal(parts, 6);
    assert.deepEqual(attrs(spans()[0]), {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'a',
      'gen_ai.request.stream': true,
      'gen_ai.request.temperature': 0.2,
      'gen_ai.request.top_p': 0.9,
      'gen_ai.request.max_tokens': 100,
      'gen_ai.response.model': 'a',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
    });
  });

  test('a consumer that stops early ends the span as cancelled, without an error status', async () => {
    const app = pipeline(scriptedExecutor(['a long streamed answer'])).use(tracing({ tracer }));
    for await (const _ of app.stream(REQUEST)) break;
    const [span] = spans();
    assert.equal(spans().length, 1);
    assert.equal(span?.attributes['modelware.stream.cancelled'], true);
    assert.equal(span?.attributes['gen_ai.response.model'], undefined);
    assert.equal(span?.status.code, SpanStatusCode.UNSET);
  });

  test('a stream failing midway ends the span with the error', async () => {
    const broken: Executor = {
      name: 'broken',
      generate: () => Promise.reject(new Error('unused')),
      async *stream() {
        yield { type: 'text-delta', text: 'par' };
        throw new TypeError('connection reset');
      },
    };
    const app = pipeline(broken).use(tracing({ tracer }));
    await assert.rejects(app.stream(REQUEST).text(), /connection reset/);
    const [span] = spans();
    assert.equal(span?.attributes['error.type'], 'TypeError');
    assert.deepEqual(span?.status, { code: SpanStatusCode.ERROR });
  });

  test('fallback in stream mode: the span names the model that streamed', async () => {
    const app = pipeline(scriptedExecutor([providerError('a down'), 'from b'])).use(
      tracing({ tracer }),
      fallback({ models: ['b'] }),
    );
    assert.equal(await app.stream(REQUEST).text(), 'from b');
    assert.deepEqual(
      spans().map((s) => [s.name, s.attributes['gen_ai.response.model']]),
      [['chat a', 'b']],
    );
  });
});

describe('tracing: content', () => {
  test('captureContent records input and output messages in the semconv shape', async () => {
    const app = pipeline(
      scriptedExecutor([
        { text: 'Sum:', reasoning: 'add them', toolCalls: [{ id: 't1', name: 'add', input: { a: 1 } }] },
      ]),
    ).use(tracing({ tracer, captureContent: true }));
    await app.generate({
      model: 'a',
      messages: [
        { role: 'system', content: 'be brief' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image', image: 'https://x/y.png' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 't0', toolName: 'add', input: {} }] },
        { role: 'tool', toolCallId: 't0', toolName: 'add', content: '0' },
      ],
    });
    const [span] = spans();
    assert.deepEqual(JSON.parse(String(span?.attributes['gen_ai.input.messages'])), [
      { role: 'system', parts: [{ type: 'text', content: 'be brief' }] },
      {
        role: 'user',
        parts: [
          { type: 'text', content: 'see' },
          { type: 'uri', modality: 'image', uri: 'https://x/y.png' },
        ],
      },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 't0', name: 'add', arguments: {} }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 't0', result: '0' }] },
    ]);
    assert.deepEqual(JSON.parse(String(span?.attributes['gen_ai.output.messages'])), [
      {
        role: 'assistant',
        parts: [
          { type: 'reasoning', content: 'add them' },
          { type: 'text', content: 'Sum:' },
          { type: 'tool_call', id: 't1', name: 'add', arguments: { a: 1 } },
        ],
        finish_reason: 'tool_call',
      },
    ]);
  });

  test('content is not captured by default', async () => {
    await pipeline(scriptedExecutor(['secret']))
      .use(tracing({ tracer }))
      .generate(REQUEST);
    const keys = Object.keys(spans()[0]?.attributes ?? {});
    assert.deepEqual(
      keys.filter((k) => k.includes('messages')),
      [],
    );
    assert.doesNotMatch(JSON.stringify(spans()[0]?.attributes), /secret|be brief/);
  });
});

describe('tracing: the default tracer', () => {
  test('without `tracer`, @opentelemetry/api is loaded on the first call and the global provider is used', async () => {
    assert.ok(trace.setGlobalTracerProvider(provider));
    try {
      await pipeline(scriptedExecutor(['ok']))
        .use(tracing())
        .generate(REQUEST);
    } finally {
      trace.disable();
    }
    assert.deepEqual(
      spans().map((s) => [s.name, s.instrumentationScope.name]),
      [['chat a', 'modelware']],
    );
  });
});

describe('tracing: options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['tracer without startActiveSpan', { tracer: {} }, /`tracer` to be an OpenTelemetry Tracer/],
    ['captureContent not a boolean', { captureContent: 'yes' }, /`captureContent` to be a boolean, got string `yes`/],
    ['empty provider', { provider: '' }, /`provider` to be a non-empty string/],
  ];
  for (const [name, options, message] of cases) {
    test(`${name} is rejected at factory time`, () => {
      assert.throws(() => tracing(options as never), { name: 'TypeError', message });
    });
  }
});

describe('tracing: layerSpans', () => {
  const layer = (name: string, body?: (ctx: Context) => void) =>
    defineMiddleware({
      name,
      async call(ctx, next) {
        body?.(ctx);
        await next();
      },
    });
  const byName = (name: string, nth = 0) => spans().filter((s) => s.name === name)[nth];
  const tree = () =>
    spans().map((s) => {
      const parent = spans().find((p) => idOf(p) === parentOf(s));
      return [s.name, parent?.name, s.attributes['modelware.layer.attempt'], s.status.code];
    });

  test('a span per inner layer per attempt, nested as the onion, with attempt and changes', async () => {
    const model = scriptedExecutor([providerError('down'), { text: 'ok', usage: USAGE }]);
    const app = pipeline(model).use(
      tracing({ tracer, layerSpans: true }),
      layer('shape', (ctx) => ctx.update((r) => ({ ...r, options: { ...r.options, temperature: 0 } }))),
      retry({ retries: 1, initialDelayMs: 0 }),
      layer('inner'),
    );
    await app.generate(REQUEST);
    assert.deepEqual(tree(), [
      ['modelware.layer inner', 'modelware.layer retry', 1, SpanStatusCode.UNSET],
      ['modelware.layer inner', 'modelware.layer retry', 2, SpanStatusCode.UNSET],
      ['modelware.layer retry', 'modelware.layer shape', 1, SpanStatusCode.UNSET],
      ['modelware.layer shape', 'chat a', 1, SpanStatusCode.UNSET],
      ['chat a', undefined, undefined, SpanStatusCode.UNSET],
    ]);
    assert.deepEqual(byName('modelware.layer shape')?.attributes, {
      'modelware.layer.name': 'shape',
      'modelware.layer.attempt': 1,
      'modelware.layer.changed_request': true,
      'modelware.layer.changed_response': false,
    });
    assert.equal(byName('modelware.layer inner')?.attributes['modelware.layer.changed_request'], false);
    const call = byName('chat a');
    for (const span of spans()) assert.equal(span.spanContext().traceId, call?.spanContext().traceId);
  });

  test('status ERROR on the layer where the error started, not on those it passed through', async () => {
    const app = pipeline(scriptedExecutor(['ok'])).use(
      tracing({ tracer, layerSpans: true }),
      layer('outer'),
      layer('guard', () => {
        throw new Error('blocked');
      }),
      layer('never'),
    );
    await assert.rejects(app.generate(REQUEST), /blocked/);
    assert.deepEqual(tree(), [
      ['modelware.layer guard', 'modelware.layer outer', 1, SpanStatusCode.ERROR],
      ['modelware.layer outer', 'chat a', 1, SpanStatusCode.UNSET],
      ['chat a', undefined, undefined, SpanStatusCode.ERROR],
    ]);
    const guard = byName('modelware.layer guard');
    assert.equal(guard?.attributes['error.type'], 'Error');
    assert.equal(guard?.status.message, undefined, 'the message may echo content');
    assert.deepEqual(guard?.events, []);
  });

  test('stream mode: layer spans end when the layers return, the call span with the stream', async () => {
    const app = pipeline(scriptedExecutor(['a streamed answer'], { chunkSize: 4 })).use(
      tracing({ tracer, layerSpans: true }),
      layer('outer'),
      layer('inner'),
    );
    const stream = app.stream(REQUEST);
    for await (const _ of stream) {
      assert.deepEqual(
        spans().map((s) => s.name),
        ['modelware.layer inner', 'modelware.layer outer'],
      );
    }
    assert.deepEqual(tree(), [
      ['modelware.layer inner', 'modelware.layer outer', 1, SpanStatusCode.UNSET],
      ['modelware.layer outer', 'chat a', 1, SpanStatusCode.UNSET],
      ['chat a', undefined, undefined, SpanStatusCode.UNSET],
    ]);
  });

  test('off by default: no layer spans, and nothing observes the inner layers', async () => {
    const seen: boolean[] = [];
    const app = pipeline(scriptedExecutor(['ok'])).use(
      tracing({ tracer }),
      layer('a', (ctx) => seen.push(ctx.observed)),
      layer('b', (ctx) => seen.push(ctx.observed)),
    );
    await app.generate(REQUEST);
    assert.deepEqual(seen, [false, false]);
    assert.deepEqual(
      spans().map((s) => s.name),
      ['chat a'],
    );
  });

  test('beside another observer, inside a fallback: attempts per replay layer, the other observer untouched', async () => {
    const seen: string[] = [];
    const outer = defineMiddleware({
      name: 'watch',
      async call(ctx, next) {
        const stop = ctx.observe({ onLayer: (e) => seen.push(`${e.layer}:${e.phase}`) });
        await next();
        stop();
      },
    });
    const model = scriptedExecutor([providerError('a down'), 'ok']);
    const app = pipeline(model).use(
      outer,
      tracing({ tracer, layerSpans: true }),
      fallback({ models: ['b'] }),
      layer('inner', (ctx) => assert.equal(ctx.observed, true)),
    );
    await app.generate(REQUEST);
    assert.deepEqual(tree(), [
      ['modelware.layer inner', 'modelware.layer fallback', 1, SpanStatusCode.UNSET],
      ['modelware.layer inner', 'modelware.layer fallback', 2, SpanStatusCode.UNSET],
      ['modelware.layer fallback', 'chat a', 1, SpanStatusCode.UNSET],
      ['chat a', undefined, undefined, SpanStatusCode.UNSET],
    ]);
    assert.equal(seen.filter((e) => e === 'inner:enter').length, 2);
    assert.equal(seen[0], 'tracing:enter');
  });

  test('layerSpans must be a boolean', () => {
    assert.throws(() => tracing({ tracer, layerSpans: 'yes' as never }), /layerSpans/);
  });
});
