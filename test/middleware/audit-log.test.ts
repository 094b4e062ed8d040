import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { type Executor, RetryError, defineMiddleware, pipeline, runAgent } from 'modelware';
import { fallback } from 'modelware/middleware';
import { type ScriptStep, scriptedExecutor } from 'modelware/testing';
import { type AuditLogOptions, type AuditRecord, auditLog, jsonLinesSink } from '../../middleware/audit-log.js';
import { USER, add } from '../fixtures/agent.js';
import { providerError } from '../fixtures/core.js';

const REQUEST = {
  model: 'a',
  messages: [{ role: 'user', content: 'hi' }],
  metadata: { tenant: 't1' },
} as const;
const USAGE = { inputTokens: 12, outputTokens: 3, totalTokens: 15 };

/** A clock the model advances by 250 ms per call, so latencies are exact. */
function setup(script: ScriptStep[], extra: Partial<AuditLogOptions> = {}) {
  const clock = { t: 1_000 };
  const records: AuditRecord[] = [];
  const steps = script.map(
    (step): ScriptStep =>
      () => {
        clock.t += 250;
        return step;
      },
  );
  const model = scriptedExecutor(steps, { chunkSize: 4 });
  const layer = auditLog({ sink: (r) => void records.push(r), now: () => clock.t, ...extra });
  return { clock, records, model, layer };
}

describe('auditLog: generate', () => {
  test('one exact record per call, with the effective model after fallback', async () => {
    const { records, model, layer } = setup([providerError('a down'), { text: 'ok', usage: USAGE, model: 'b-2026' }]);
    const app = pipeline(model).use(layer, fallback({ models: ['b'] }));
    await app.generate(REQUEST);
    assert.deepEqual(records, [
      {
        callId: records[0]?.callId,
        parentId: null,
        runId: null,
        turn: null,
        mode: 'generate',
        model: { requested: 'a', resolved: 'b' },
        providerModel: 'b-2026',
        metadata: { tenant: 't1' },
        startedAt: 1_000,
        latencyMs: 500,
        outcome: 'completed',
        finishReason: 'stop',
        usage: USAGE,
        error: null,
      },
    ]);
    assert.match(String(records[0]?.callId), /^call_/);
  });

  test('a failed call is recorded with the error class and message, and the error is rethrown as is', async () => {
    const { records, model, layer } = setup([providerError('a down'), providerError('b down')]);
    const app = pipeline(model).use(layer, fallback({ models: ['b'] }));
    await assert.rejects(app.generate(REQUEST), RetryError);
    assert.deepEqual(
      records.map(({ outcome, model, error, latencyMs, finishReason, usage }) => ({
        outcome,
        model,
        error,
        latencyMs,
        finishReason,
        usage,
      })),
      [
        {
          outcome: 'failed',
          model: { requested: 'a', resolved: 'b' },
          error: {
            name: 'RetryError',
            message: 'fallback: every model failed (a, b); the last error: b down.',
          },
          latencyMs: 500,
          finishReason: null,
          usage: null,
        },
      ],
    );
  });

  test('inside fallback it writes one record per attempt', async () => {
    const { records, model, layer } = setup([providerError('a down'), { text: 'ok', usage: USAGE }]);
    const app = pipeline(model).use(fallback({ models: ['b'] }), layer);
    await app.generate(REQUEST);
    assert.deepEqual(
      records.map((r) => [r.outcome, r.model.resolved, r.startedAt, r.latencyMs, r.error?.message ?? null]),
      [
        ['failed', 'a', 1_000, 250, 'a down'],
        ['completed', 'b', 1_250, 250, null],
      ],
    );
  });

  test("include: request, response and patches (the request as the model got it, each layer's changes)", async () => {
    const { records, model, layer } = setup([{ text: 'ok', usage: USAGE }], {
      include: ['request', 'response', 'patches'],
    });
    const app = pipeline({ executor: model, inspect: true }).use(
      layer,
      defineMiddleware({
        name: 'addSystem',
        call(ctx, next) {
          ctx.update((draft) => void draft.messages.unshift({ role: 'system', content: 'be brief' }));
          return next();
        },
      }),
    );
    await app.generate({ ...REQUEST, options: { temperature: 0 } });
    const [record] = records;
    assert.deepEqual(record?.request, {
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      options: { temperature: 0 },
    });
    assert.deepEqual(record?.response, { message: { role: 'assistant', content: 'ok' } });
    assert.deepEqual(
      record?.patches?.map((p) => [p.layer, p.target, p.patches.map((x) => `${x.op} ${x.path.join('.')}`)]),
      [['addSystem', 'request', ['replace messages.0', 'add messages.1']]],
    );
    // The records are plain data.
    assert.deepEqual(JSON.parse(JSON.stringify(record)), record);
  });

  test('without include, no content is recorded', async () => {
    const { records, model, layer } = setup([{ text: 'secret answer' }]);
    await pipeline(model).use(layer).generate(REQUEST);
    assert.deepEqual(
      Object.keys(records[0] ?? {}).filter((k) => ['request', 'response', 'patches'].includes(k)),
      [],
    );
    assert.doesNotMatch(JSON.stringify(records), /secret|hi/);
  });
});

describe('auditLog: runs and nesting', () => {
  test('each turn of a run carries the run id and turn', async () => {
    const { records, model, layer } = setup([
      { toolCalls: [{ id: 'c1', name: 'add', input: { a: 1, b: 2 } }], usage: USAGE },
      { text: '3', usage: USAGE },
    ]);
    const result = await runAgent({
      model: pipeline(model).use(layer),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
    });
    assert.deepEqual(
      records.map((r) => [r.runId === result.runId, r.turn, r.finishReason]),
      [
        [true, 1, 'tool-calls'],
        [true, 2, 'stop'],
      ],
    );
  });

  test('a pipeline used as another pipeline’s executor records the outer call as parent', async () => {
    const { records, model, layer } = setup([{ text: 'ok' }]);
    const outerRecords: AuditRecord[] = [];
    const inner = pipeline(model).use(layer);
    const outer = pipeline(inner).use(auditLog({ sink: (r) => void outerRecords.push(r) }));
    await outer.generate(REQUEST);
    assert.equal(records[0]?.parentId, outerRecords[0]?.callId);
    assert.equal(outerRecords[0]?.parentId, null);
  });
});

describe('auditLog: stream', () => {
  test('the record is written when the stream ends, with usage from the final part', async () => {
    const { records, model, layer } = setup([{ text: 'streamed answer', usage: USAGE }]);
    const stream = pipeline(model).use(layer).stream(REQUEST);
    const parts: string[] = [];
    for await (const part of stream) {
      parts.push(part.type);
      if (part.type === 'text-delta') assert.equal(records.length, 0);
    }
    assert.deepEqual(
      records.map((r) => [r.mode, r.outcome, r.finishReason, r.usage, r.latencyMs]),
      [['stream', 'completed', 'stop', USAGE, 250]],
    );
  });

  test('a consumer that stops early gets a cancelled record', async () => {
    const { records, model, layer } = setup([{ text: 'a long streamed answer' }]);
    for await (const _ of pipeline(model).use(layer).stream(REQUEST)) break;
    assert.deepEqual(
      records.map((r) => [r.outcome, r.finishReason, r.error]),
      [['cancelled', null, null]],
    );
  });

  test('a stream failing midway gets a failed record', async () => {
    const records: AuditRecord[] = [];
    const broken: Executor = {
      name: 'broken',
      generate: () => Promise.reject(new Error('unused')),
      async *stream() {
        yield { type: 'text-delta', text: 'par' };
        throw new TypeError('connection reset');
      },
    };
    const stream = pipeline(broken)
      .use(auditLog({ sink: (r) => void records.push(r) }))
      .stream(REQUEST);
    await assert.rejects(stream.text(), /connection reset/);
    assert.deepEqual(
      records.map((r) => [r.outcome, r.error]),
      [['failed', { name: 'TypeError', message: 'connection reset' }]],
    );
  });
});

describe('auditLog: failures never reach the call', () => {
  test('a throwing sink: the call succeeds and console.warn is called once', async (t) => {
    const warn = t.mock.method(console, 'warn', () => {});
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model).use(
      auditLog({
        sink: () => {
          throw new Error('disk full');
        },
      }),
    );
    assert.equal((await app.generate(REQUEST)).message.content, 'ok');
    assert.equal((await app.generate(REQUEST)).message.content, 'ok');
    assert.equal(warn.mock.callCount(), 1);
    assert.match(String(warn.mock.calls[0]?.arguments[0]), /auditLog: writing an audit record failed \(disk full\)/);
  });

  test('a rejecting async sink goes to onError with the record, every time', async () => {
    const failures: [string, string][] = [];
    const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(
      auditLog({
        sink: async () => Promise.reject(new Error('offline')),
        onError: (error, record) => failures.push([(error as Error).message, record.outcome]),
      }),
    );
    await app.generate(REQUEST);
    await app.generate(REQUEST);
    assert.deepEqual(failures, [
      ['offline', 'completed'],
      ['offline', 'completed'],
    ]);
  });

  test('redact rewrites records; a throwing redact drops the record instead of writing it unredacted', async () => {
    const records: AuditRecord[] = [];
    const failures: string[] = [];
    let fail = false;
    const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(
      auditLog({
        sink: (r) => void records.push(r),
        include: ['request'],
        redact: (record) => {
          if (fail) throw new Error('redactor broke');
          return { ...record, metadata: null, request: { messages: [] } };
        },
        onError: (error) => failures.push((error as Error).message),
      }),
    );
    await app.generate(REQUEST);
    fail = true;
    await app.generate(REQUEST);
    assert.deepEqual(
      records.map((r) => [r.metadata, r.request]),
      [[null, { messages: [] }]],
    );
    assert.deepEqual(failures, ['redactor broke']);
  });
});

describe('jsonLinesSink', () => {
  test('writes one JSON line per record, in order', async () => {
    const chunks: string[] = [];
    const out = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    const clock = { t: 5 };
    const app = pipeline(scriptedExecutor([{ text: 'one', usage: USAGE }, 'two'])).use(
      auditLog({ sink: jsonLinesSink(out), now: () => clock.t }),
    );
    await app.generate(REQUEST);
    await app.generate({ ...REQUEST, model: 'z', metadata: undefined });
    const lines = chunks.join('').split('\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[2], '');
    const [first, second] = lines.slice(0, 2).map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(
      [first, second].map((r) => [r?.model.resolved, r?.startedAt, r?.latencyMs, r?.metadata, r?.usage?.totalTokens]),
      [
        ['a', 5, 0, { tenant: 't1' }, 15],
        ['z', 5, 0, null, 2],
      ],
    );
  });

  test('a failing stream reaches onError, the call still succeeds', async () => {
    const failures: string[] = [];
    const out = new Writable({
      write(_chunk, _encoding, done) {
        done(new Error('EPIPE'));
      },
    });
    out.on('error', () => {}); // the stream owner's handler
    const app = pipeline(scriptedExecutor(['ok'])).use(
      auditLog({ sink: jsonLinesSink(out), onError: (e) => failures.push((e as Error).message) }),
    );
    assert.equal((await app.generate(REQUEST)).message.content, 'ok');
    assert.deepEqual(failures, ['EPIPE']);
  });

  test('rejects something that is not a stream', () => {
    assert.throws(() => jsonLinesSink({} as never), /expected a writable stream/);
  });
});

describe('auditLog: options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['missing sink', {}, /`sink` to be a function .* got `undefined`/],
    ['redact not a function', { sink: () => {}, redact: 'x' }, /`redact` to be a function, got string `x`/],
    ['now not a function', { sink: () => {}, now: 5 }, /`now` to be a function/],
    ['unknown include', { sink: () => {}, include: ['body'] }, /`include` to be an array of .* got `\["body"\]`/],
  ];
  for (const [name, options, message] of cases) {
    test(`${name} is rejected at factory time`, () => {
      assert.throws(() => auditLog(options as never), { name: 'TypeError', message });
    });
  }
});
