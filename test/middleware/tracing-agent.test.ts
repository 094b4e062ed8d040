import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { SpanKind, SpanStatusCode, context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DataPointType, type HistogramMetricData, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { defineMiddleware, pipeline, runAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { tracing } from '../../middleware/tracing/index.js';
import { USER, add } from '../fixtures/agent.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');
const contextManager = new AsyncLocalStorageContextManager();

/** Collects on demand: no timers, nothing left running. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

before(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterEach(() => exporter.reset());
after(async () => {
  context.disable();
  await provider.shutdown();
});

const spans = () => exporter.getFinishedSpans();
const byName = (name: string) => spans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan | undefined) => span?.spanContext().spanId;
const USAGE = { inputTokens: 10, outputTokens: 2, totalTokens: 12 };

function twoTurns() {
  return scriptedExecutor([
    { toolCalls: [{ id: 'c1', name: 'add', input: { a: 1, b: 2 } }], usage: USAGE },
    { text: '3', usage: USAGE },
  ]);
}

describe('tracing: agent spans', () => {
  test('invoke_agent > turn > chat and execute_tool, with GenAI attributes', async () => {
    const app = pipeline(twoTurns()).use(tracing({ tracer, agentName: 'calculator', provider: 'openai' }));
    const result = await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [add] });
    const [run] = byName('invoke_agent calculator');
    const turns = byName('turn');
    const chats = byName('chat m');
    const [toolSpan] = byName('execute_tool add');
    assert.equal(turns.length, 2);
    assert.equal(chats.length, 2);
    assert.equal(run?.kind, SpanKind.INTERNAL);
    assert.deepEqual(run?.attributes, {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'calculator',
      'gen_ai.provider.name': 'openai',
      'modelware.run.id': result.runId,
      'gen_ai.usage.input_tokens': 20,
      'gen_ai.usage.output_tokens': 4,
      'gen_ai.response.finish_reasons': ['stop'],
      'modelware.run.turns': 2,
      'modelware.run.stop_reason': 'no-tool-calls',
    });
    // Nesting: run > turn > (chat, execute_tool).
    for (const turn of turns) assert.equal(parentOf(turn), idOf(run));
    assert.equal(parentOf(chats[0]), idOf(turns[0]));
    assert.equal(parentOf(chats[1]), idOf(turns[1]));
    assert.equal(parentOf(toolSpan), idOf(turns[0]));
    assert.deepEqual(toolSpan?.attributes, {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.call.id': 'c1',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.name': 'add',
      'gen_ai.tool.description': 'Adds two numbers',
      'modelware.run.id': result.runId,
      'modelware.run.turn': 1,
    });
    assert.equal(toolSpan?.kind, SpanKind.INTERNAL);
    assert.deepEqual(turns[0]?.attributes, {
      'modelware.run.id': result.runId,
      'modelware.run.turn': 1,
      'modelware.turn.tool_calls': 1,
    });
  });

  test('content stays off by default; captureContent records tool arguments, results and the final output', async () => {
    const run = async (captureContent: boolean) => {
      exporter.reset();
      const app = pipeline(twoTurns()).use(tracing({ tracer, captureContent }));
      await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [add] });
      return spans();
    };
    const off = await run(false);
    const keys = off.flatMap((s) => Object.keys(s.attributes));
    for (const key of [
      'gen_ai.tool.call.arguments',
      'gen_ai.tool.call.result',
      'gen_ai.input.messages',
      'gen_ai.output.messages',
    ]) {
      assert.ok(!keys.includes(key), key);
    }
    const on = await run(true);
    const toolSpan = on.find((s) => s.name === 'execute_tool add');
    assert.equal(toolSpan?.attributes['gen_ai.tool.call.arguments'], '{"a":1,"b":2}');
    assert.equal(toolSpan?.attributes['gen_ai.tool.call.result'], '3');
    const runSpan = on.find((s) => s.name === 'invoke_agent');
    assert.equal(
      runSpan?.attributes['gen_ai.output.messages'],
      '[{"role":"assistant","parts":[{"type":"text","content":"3"}]}]',
    );
  });

  test('a failed tool: error.type and status ERROR on its span, the run goes on', async () => {
    const broken = tool({
      name: 'add',
      input: z.object({}).passthrough(),
      execute: () => {
        throw new RangeError('secret detail');
      },
    });
    const app = pipeline(twoTurns()).use(tracing({ tracer }));
    await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [broken] });
    const [toolSpan] = byName('execute_tool add');
    assert.equal(toolSpan?.attributes['error.type'], 'RangeError');
    assert.equal(toolSpan?.status.code, SpanStatusCode.ERROR);
    assert.ok(!JSON.stringify(toolSpan?.attributes).includes('secret detail'));
  });

  test('an unknown tool name from the model stays out of the span', async () => {
    const model = scriptedExecutor([{ toolCalls: [{ id: 'c1', name: 'rm -rf', input: {} }] }, 'ok']);
    await runAgent({ model: pipeline(model).use(tracing({ tracer })), modelId: 'm', messages: [USER], tools: [add] });
    const [toolSpan] = byName('execute_tool');
    assert.equal(toolSpan?.attributes['gen_ai.tool.name'], undefined);
    assert.ok(!JSON.stringify([toolSpan?.name, toolSpan?.attributes]).includes('rm -rf'));
  });

  test('a failed run: error.type on the run span', async () => {
    const model = scriptedExecutor([new TypeError('boom')]);
    const app = pipeline(model).use(tracing({ tracer }));
    await assert.rejects(runAgent({ model: app, modelId: 'm', messages: [USER] }));
    const [run] = byName('invoke_agent');
    assert.equal(run?.status.code, SpanStatusCode.ERROR);
    assert.equal(run?.attributes['error.type'], 'TypeError');
  });

  test('turnSpans: false leaves the calls directly under the run span', async () => {
    const app = pipeline(twoTurns()).use(tracing({ tracer, turnSpans: false }));
    await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [add] });
    assert.equal(byName('turn').length, 0);
    const [run] = byName('invoke_agent');
    for (const chat of byName('chat m')) assert.equal(parentOf(chat), idOf(run));
  });

  test("a layer's own model call is a child span marked internal", async () => {
    const summarizer = pipeline(scriptedExecutor(['short'], { whenDone: 'repeat-last' })).use(tracing({ tracer }));
    const asker = defineMiddleware({
      name: 'asker',
      async call(ctx, next) {
        await ctx.callModel(
          { model: 'small', messages: [{ role: 'user', content: 'x' }] },
          {
            executor: summarizer,
            purpose: 'summary',
          },
        );
        await next();
      },
    });
    const app = pipeline(twoTurns()).use(tracing({ tracer }), asker);
    const result = await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [add] });
    const internal = byName('chat small');
    const chats = byName('chat m');
    assert.equal(internal.length, 2);
    assert.equal(parentOf(internal[0]), idOf(chats[0]));
    assert.deepEqual(
      [
        internal[0]?.attributes['modelware.internal'],
        internal[0]?.attributes['modelware.internal.by'],
        internal[0]?.attributes['modelware.internal.purpose'],
        internal[0]?.attributes['modelware.internal.parent_call.id'],
        internal[0]?.attributes['modelware.run.id'],
        internal[1]?.attributes['modelware.run.turn'],
      ],
      [true, 'asker', 'summary', chats[0]?.attributes['modelware.call.id'], result.runId, 2],
    );
  });

  test('rejects unknown options', () => {
    assert.throws(() => tracing({ agent: 'x' } as never), /unknown option `agent`/);
    assert.throws(() => tracing({ meter: {} as never }), /expected `meter` to be an OpenTelemetry Meter/);
  });
});

describe('tracing: GenAI client metrics', () => {
  test('gen_ai.client.token.usage and gen_ai.client.operation.duration', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    try {
      const meter = meterProvider.getMeter('test');
      const app = pipeline(twoTurns()).use(tracing({ tracer, meter, provider: 'openai' }));
      await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [add] });
      const failing = pipeline(scriptedExecutor([new TypeError('down')])).use(tracing({ tracer, meter }));
      await assert.rejects(failing.generate({ model: 'm', messages: [USER] }));
      const { resourceMetrics } = await reader.collect();
      const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics) as HistogramMetricData[];
      const tokens = metrics.find((m) => m.descriptor.name === 'gen_ai.client.token.usage');
      const duration = metrics.find((m) => m.descriptor.name === 'gen_ai.client.operation.duration');
      assert.equal(tokens?.dataPointType, DataPointType.HISTOGRAM);
      assert.equal(tokens?.descriptor.unit, '{token}');
      assert.equal(duration?.descriptor.unit, 's');
      const points = (tokens?.dataPoints ?? []).map((p) => [
        p.attributes['gen_ai.token.type'],
        p.value.count,
        p.value.sum,
      ]);
      assert.deepEqual(points, [
        ['input', 2, 20],
        ['output', 2, 4],
      ]);
      assert.deepEqual(tokens?.dataPoints[0]?.attributes, {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'm',
        'gen_ai.provider.name': 'openai',
        'gen_ai.response.model': 'm',
        'gen_ai.token.type': 'input',
      });
      assert.deepEqual(tokens?.dataPoints[0]?.value.buckets.boundaries.slice(0, 3), [1, 4, 16]);
      const ok = duration?.dataPoints.find((p) => p.attributes['error.type'] === undefined);
      const failed = duration?.dataPoints.find((p) => p.attributes['error.type'] === 'TypeError');
      assert.equal(ok?.value.count, 2);
      assert.equal(failed?.value.count, 1);
      assert.deepEqual(ok?.value.buckets.boundaries.slice(0, 2), [0.01, 0.02]);
    } finally {
      await meterProvider.shutdown();
    }
  });
});
