import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { RECORDING_FORMAT_VERSION, RecordingFormatError, RecordingRecordSchema, parseRecording } from 'modelware';

const HEADER = {
  type: 'header',
  t: 0,
  format: 'modelware.recording',
  version: RECORDING_FORMAT_VERSION,
  startedAt: '2026-12-03T00:00:00.000Z',
  captureContent: false,
};
const CALL_START = {
  type: 'call_start',
  t: 1.5,
  callId: 'call_1',
  mode: 'generate',
  model: 'm',
  messages: 1,
  from: 0,
  shapes: [{ role: 'user', length: 5 }],
  tools: [],
  options: [],
};
const LAYER = { type: 'layer', t: 2, callId: 'call_1', attempt: 1, layer: 'retry', index: 0, phase: 'enter' };

const ndjson = (...lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');

describe('parseRecording', () => {
  test('reads a well-formed recording, header first, records in order', () => {
    const parsed = parseRecording(`${ndjson(HEADER, CALL_START, LAYER)}\n`);
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.header?.version, 1);
    assert.deepEqual(
      parsed.records.map((r) => r.type),
      ['header', 'call_start', 'layer'],
    );
  });

  test('names corrupt, truncated and unknown lines by number, without their content, and keeps the rest', () => {
    const secret = 'SECRET-PROMPT-TEXT';
    const text = ndjson(
      HEADER,
      `{"type":"call_start","t":1,"callId":"${secret}`,
      LAYER,
      { type: 'layer', t: 3, callId: 'c', attempt: 1, layer: secret, index: 0, phase: 'sideways' },
      { type: 'mystery', t: 4 },
      '',
      `not json ${secret}`,
    );
    const parsed = parseRecording(text);
    assert.deepEqual(
      parsed.records.map((r) => r.type),
      ['header', 'layer'],
    );
    assert.deepEqual(
      parsed.problems.map((p) => p.line),
      [2, 4, 5, 7],
    );
    for (const p of parsed.problems) assert.ok(!p.message.includes(secret), p.message);
    assert.match(parsed.problems[0]?.message ?? '', /not valid JSON/);
    assert.match(parsed.problems[1]?.message ?? '', /`layer` record .*phase/);
  });

  test('a recording without a header is reported on its first line', () => {
    const parsed = parseRecording(ndjson(CALL_START));
    assert.equal(parsed.header, undefined);
    assert.deepEqual(parsed.problems, [{ line: 1, message: 'the recording does not start with a header record' }]);
    assert.equal(parsed.records.length, 1);
  });

  test('another format version throws RecordingFormatError naming both versions', () => {
    assert.throws(
      () => parseRecording(ndjson({ ...HEADER, version: 99 }, CALL_START)),
      (e: unknown) =>
        RecordingFormatError.isInstance(e) &&
        e.code === 'RECORDING_VERSION' &&
        /version 99/.test(e.message) &&
        /reads version 1/.test(e.message),
    );
  });

  test('the schema is a discriminated union on type', () => {
    assert.equal(RecordingRecordSchema.safeParse(HEADER).success, true);
    assert.equal(RecordingRecordSchema.safeParse({ ...HEADER, type: 'nope' }).success, false);
  });
});

describe('the committed fixture recording (scripts/record-fixture.ts)', () => {
  test('validates against the schema and holds every kind of record the viewer shows', () => {
    const text = readFileSync(new URL('../../fixtures/recordings/agent-loop.ndjson', import.meta.url), 'utf8');
    const { header, records, problems } = parseRecording(text);
    assert.deepEqual(problems, []);
    assert.equal(header?.captureContent, true);
    const types = new Set(records.map((r) => r.type));
    for (const type of [
      'run_start',
      'turn_start',
      'call_start',
      'layer',
      'change',
      'attempt',
      'dispatch',
      'tool',
      'call_end',
      'turn_end',
      'run_end',
    ]) {
      assert.ok(types.has(type as never), type);
    }
    assert.ok(
      records.some((r) => r.type === 'layer' && r.error !== undefined),
      'an error shown on its layer',
    );
  });
});
