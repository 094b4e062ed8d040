import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  PluginManager,
  runAgent,
  tool,
  block,
  definePlugin,
  type Middleware,
  type RecordingRecord,
  type RecordingRecordOf,
  type RecordingRecordType,
  ProviderError,
  defineMiddleware,
  parseRecording,
  pipeline,
} from 'modelware';
import { fileSink, memorySink, plugins, recorder, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const SECRET = 'the secret prompt';
const REQUEST = { model: 'm', messages: [{ role: 'user' as const, content: SECRET }], options: { temperature: 0.5 } };

/** A clock that ticks one millisecond per reading, so timings are exact. */
function tick() {
  let t = 0;
  return () => t++;
}

function named(
  name: string,
  body?: (ctx: Parameters<NonNullable<Extract<Middleware, { call?: unknown }>['call']>>[0]) => void,
): Middleware {
  return defineMiddleware({
    name,
    async call(ctx, next) {
      body?.(ctx);
      await next();
    },
  });
}

const ofType = <T extends RecordingRecordType>(records: readonly RecordingRecord[], type: T) =>
  records.filter((r): r is RecordingRecordOf<T> => r.type === type);

function timeline(records: readonly RecordingRecord[]): string[] {
  return records.flatMap((r) =>
    r.type === 'layer'
      ? [`${r.layer}:${r.phase}#${r.attempt}`]
      : r.type === 'dispatch'
        ? [`executor#${r.attempt}`]
        : [],
  );
}

describe('recorder: the onion timeline', () => {
  test('every layer inside it: enter, next, back, exit, in onion order, around the dispatch', async () => {
    const sink = memorySink();
    const app = pipeline(scriptedExecutor(['ok'])).use(recorder({ sink, now: tick() }), named('a'), named('b'));
    await app.generate(REQUEST);
    assert.deepEqual(timeline(sink.records), [
      'a:enter#1',
      'a:next#1',
      'b:enter#1',
      'b:next#1',
      'executor#1',
      'b:back#1',
      'b:exit#1',
      'a:back#1',
      'a:exit#1',
    ]);
    assert.deepEqual(
      sink.records.map((r) => r.type),
      ['header', 'call_start', ...Array(4).fill('layer'), 'dispatch', ...Array(4).fill('layer'), 'call_end'],
    );
  });

  test('a layer that answers without next() has no next/back, and layers outside the recorder are not shown', async () => {
    const sink = memorySink();
    const answer = defineMiddleware({
      name: 'answer',
      call(ctx) {
        ctx.response = { message: { role: 'assistant', content: 'cached' }, finishReason: 'stop' };
      },
    });
    const app = pipeline(scriptedExecutor(['ok'])).use(named('outside'), recorder({ sink }), answer);
    await app.generate(REQUEST);
    assert.deepEqual(timeline(sink.records), ['answer:enter#1', 'answer:exit#1']);
    const end = ofType(sink.records, 'call_end')[0];
    assert.equal(end?.attempts, 0);
    assert.equal(end?.finishReason, 'stop');
  });

  test('retries: an attempt record with the error, the inner layers and the dispatch again with attempt 2', async () => {
    const sink = memorySink();
    const flaky = new ProviderError({ message: 'overloaded', status: 529, provider: 'test' } as never);
    const app = pipeline(scriptedExecutor([flaky, 'ok'])).use(
      recorder({ sink, now: tick() }),
      retry({ retries: 1, initialDelayMs: 0, shouldRetry: () => true }),
      named('inner'),
    );
    await app.generate(REQUEST);
    assert.deepEqual(timeline(sink.records), [
      'retry:enter#1',
      'retry:next#1',
      'inner:enter#1',
      'inner:next#1',
      'executor#1',
      'inner:back#1',
      'inner:exit#1',
      'retry:back#1',
      'retry:next#1',
      'inner:enter#2',
      'inner:next#2',
      'executor#2',
      'inner:back#2',
      'inner:exit#2',
      'retry:back#1',
      'retry:exit#1',
    ]);
    const [attempt] = ofType(sink.records, 'attempt');
    assert.equal(attempt?.layer, 'retry');
    assert.equal(attempt?.attempt, 2);
    assert.equal(attempt?.error?.name, 'ProviderError');
    const dispatches = ofType(sink.records, 'dispatch');
    assert.equal(dispatches[0]?.error?.name, 'ProviderError');
    assert.equal(dispatches[1]?.error, undefined);
    assert.equal(ofType(sink.records, 'call_end')[0]?.attempts, 2);
  });

  test('an error is recorded on the layer that threw, and on call_end naming it', async () => {
    const sink = memorySink();
    const boom = defineMiddleware({
      name: 'boom',
      async call(_ctx, next) {
        await next();
        throw new Error('broken on the way out');
      },
    });
    const app = pipeline(scriptedExecutor(['ok'])).use(recorder({ sink }), named('a'), boom);
    await assert.rejects(app.generate(REQUEST));
    const exits = ofType(sink.records, 'layer').filter((r) => r.phase === 'exit');
    assert.deepEqual(
      exits.map((r) => [r.layer, r.error?.name]),
      [
        ['boom', 'Error'],
        ['a', 'Error'],
      ],
    );
    // A foreign error's message may hold content: not recorded without captureContent.
    assert.equal(exits[0]?.error?.message, undefined);
    assert.ok(ofType(sink.records, 'call_end')[0]?.error);
  });
});

describe('recorder: changes per layer', () => {
  test('an unshift is one message_added at index 0; an option change shows numbers', async () => {
    const sink = memorySink();
    const app = pipeline(scriptedExecutor(['ok'])).use(
      recorder({ sink }),
      named('prepend', (ctx) =>
        ctx.update((d) => {
          d.messages.unshift({ role: 'system', content: 'be brief' });
          d.options = { ...d.options, temperature: 0 };
        }),
      ),
    );
    await app.generate(REQUEST);
    const [change] = ofType(sink.records, 'change');
    assert.equal(change?.layer, 'prepend');
    assert.deepEqual(change?.changes, [
      { kind: 'message_added', index: 0, shape: { role: 'system', length: 8 } },
      { kind: 'option_changed', key: 'temperature', before: 0.5, after: 0 },
    ]);
  });

  test('a rewritten response text is text_replaced on message 0 of the response', async () => {
    const sink = memorySink();
    const upper = defineMiddleware({
      name: 'upper',
      async call(ctx, next) {
        await next();
        ctx.updateResponse((d) => {
          d.message.content = 'OK!';
        });
      },
    });
    const app = pipeline(scriptedExecutor(['ok'])).use(recorder({ sink, captureContent: true }), upper);
    await app.generate(REQUEST);
    const [change] = ofType(sink.records, 'change');
    assert.equal(change?.target, 'response');
    assert.deepEqual(change?.changes, [
      { kind: 'text_replaced', index: 0, role: 'assistant', from: 2, to: 3, before: 'ok', after: 'OK!' },
    ]);
  });

  test('without captureContent no record holds content; with it, the request and response are there', async () => {
    for (const captureContent of [false, true]) {
      const sink = memorySink();
      const app = pipeline(scriptedExecutor(['the secret answer'])).use(
        recorder({ sink, captureContent }),
        named('edit', (ctx) =>
          ctx.update((d) => {
            d.messages.push({ role: 'user', content: `${SECRET} again` });
          }),
        ),
      );
      await app.generate(REQUEST);
      const text = sink.toNDJSON();
      assert.equal(text.includes('secret'), captureContent, `captureContent: ${captureContent}`);
    }
  });
});

describe('recorder: streams, format, options, sinks', () => {
  test('stream timing: first part, parts and duration, then call_end with usage', async () => {
    const sink = memorySink();
    const app = pipeline(scriptedExecutor(['hello there'])).use(recorder({ sink, now: tick() }), named('a'));
    const stream = app.stream(REQUEST);
    for await (const _ of stream) {
      // drain
    }
    const [s] = ofType(sink.records, 'stream');
    assert.ok(s && s.parts >= 2, 'parts counted');
    assert.ok(s?.firstPartMs !== undefined && s.firstPartMs > 0);
    const types = sink.records.map((r) => r.type);
    assert.ok(types.indexOf('stream') < types.indexOf('call_end'));
    const [dispatch] = ofType(sink.records, 'dispatch');
    assert.ok(dispatch, 'the dispatch is written when its parts end');
    assert.equal(ofType(sink.records, 'call_end')[0]?.finishReason, 'stop');
  });

  test('every record validates against the schema', async () => {
    const sink = memorySink();
    const app = pipeline(scriptedExecutor(['a', 'b'])).use(
      recorder({ sink, captureContent: true }),
      named('x', (ctx) => ctx.update((d) => void d.messages.push({ role: 'user', content: 'more' }))),
    );
    await app.generate(REQUEST);
    for await (const _ of app.stream(REQUEST)) {
      // drain
    }
    const parsed = parseRecording(sink.toNDJSON());
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.records.length, sink.records.length);
  });

  test('options are checked when the factory is called', () => {
    assert.throws(() => recorder({} as never), /recorder\(\): expected `sink`/);
    assert.throws(
      () => recorder({ sink: memorySink(), captureContnet: true } as never),
      /unknown option `captureContnet`/,
    );
    assert.throws(() => recorder({ sink: memorySink(), captureContent: 'yes' } as never), /`captureContent`/);
    assert.throws(() => memorySink({ maxRecords: 0 }), /`maxRecords`/);
  });

  test('memorySink keeps at most maxRecords and marks the drop once', () => {
    const sink = memorySink({ maxRecords: 2 });
    for (let t = 0; t < 5; t++) sink.write({ type: 'turn_start', t, runId: 'r', turn: t });
    assert.deepEqual(
      sink.records.map((r) => r.type),
      ['turn_start', 'turn_start', 'dropped'],
    );
  });

  test('fileSink writes NDJSON and stops at maxBytes with one dropped record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recorder-'));
    try {
      const path = join(dir, 'run.ndjson');
      const sink = fileSink(path, { maxBytes: 200 });
      for (let t = 0; t < 10; t++) sink.write({ type: 'turn_start', t, runId: 'r', turn: t });
      await sink.close();
      const lines = readFileSync(path, 'utf8').trim().split('\n');
      assert.ok(lines.length < 10);
      assert.deepEqual(JSON.parse(lines.at(-1) as string), {
        type: 'dropped',
        t: lines.length - 1,
        reason: 'max_bytes',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('recorder: plugin decisions', () => {
  test('a plugin that modifies and one that blocks are recorded with the hook and the code', async () => {
    const sink = memorySink();
    const setTemperature = definePlugin({
      name: 'set-temperature',
      priority: 1,
      hooks: {
        llm_input(draft) {
          draft.request.options = { temperature: 0 };
        },
      },
    });
    const refuse = definePlugin({
      name: 'refuse',
      priority: 2,
      hooks: { llm_input: () => block('no', 'NO_001') },
    });
    const manager = new PluginManager({ plugins: [setTemperature, refuse] });
    const app = pipeline(scriptedExecutor(['ok'])).use(recorder({ sink }), plugins(manager));
    await assert.rejects(app.generate(REQUEST));
    assert.deepEqual(
      ofType(sink.records, 'plugin').map((r) => [r.plugin, r.hook, r.decision, r.code]),
      [
        ['set-temperature', 'llm_input', 'modified', undefined],
        ['refuse', 'llm_input', 'blocked', 'NO_001'],
      ],
    );
  });
});

describe('recorder: runs, turns and tools', () => {
  test('run, turn and tool records, with a tool layer that rewrote the input', async () => {
    const sink = memorySink();
    const search = tool({
      name: 'search',
      description: 'S',
      input: z.object({ q: z.string() }),
      execute: ({ q }) => `found ${q}`,
    });
    const clamp = defineMiddleware({
      name: 'clamp',
      async tool(ctx, next) {
        ctx.updateInput((d) => {
          const input = d as { q: string };
          input.q = input.q.slice(0, 3);
        });
        await next();
      },
    });
    const model = scriptedExecutor([{ toolCalls: [{ name: 'search', input: { q: 'onions' } }] }, 'done']);
    const app = pipeline(model).use(recorder({ sink, captureContent: true }), clamp);
    await runAgent({ model: app, modelId: 'm', messages: REQUEST.messages, tools: [search] });
    assert.deepEqual(
      sink.records.filter((r) => r.type !== 'layer' && r.type !== 'dispatch').map((r) => r.type),
      [
        'header',
        'run_start',
        'turn_start',
        'call_start',
        'call_end',
        'tool',
        'turn_end',
        'turn_start',
        'call_start',
        'call_end',
        'turn_end',
        'run_end',
      ],
    );
    const [t] = ofType(sink.records, 'tool');
    assert.equal(t?.tool, 'search');
    assert.equal(t?.inputChanged, true);
    assert.deepEqual(t?.input, { q: 'onions' });
    assert.equal(t?.result, 'found oni');
    const end = ofType(sink.records, 'run_end')[0];
    assert.equal(end?.turns, 2);
    assert.equal(end?.stopReason, 'no-tool-calls');
    // The second call writes only the messages the first did not have.
    const starts = ofType(sink.records, 'call_start');
    assert.equal(starts[1]?.from, 1);
    assert.deepEqual(
      starts[1]?.shapes.map((s) => s.role),
      ['assistant', 'tool'],
    );
  });
});
