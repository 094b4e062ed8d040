// Type tests for the recorder, the recording format and replay: checked by `npx tsc --noEmit`.
import {
  type CallObserver,
  type RecordingRecord,
  type RecordingRecordOf,
  type RecordingSink,
  type RecordingRecordSchema,
  defineMiddleware,
  parseRecording,
  pipeline,
} from 'modelware';
import { callbackSink, fileSink, memorySink, recorder } from 'modelware/middleware';
import { assertLayerChanges, layerChanges, replayExecutor } from 'modelware/testing';
import type { z } from 'zod';

declare const executor: Parameters<typeof pipeline>[0];

// The record type is the schema's.
const fromSchema: z.infer<typeof RecordingRecordSchema> = {} as RecordingRecord;
void fromSchema;

// Narrowing by `type`.
declare const record: RecordingRecord;
if (record.type === 'layer') {
  const phase: 'enter' | 'next' | 'back' | 'exit' = record.phase;
  void phase;
}
const end: RecordingRecordOf<'call_end'>['resolvedModel'] = 'model';
void end;

// Sinks: the built-ins and a custom one are all RecordingSinks.
const sinks: RecordingSink[] = [memorySink(), fileSink('run.ndjson'), callbackSink((r) => void r.t), { write() {} }];
void sinks;
pipeline(executor).use(recorder({ sink: memorySink(), captureContent: true }));
// @ts-expect-error the sink is required
recorder({});
// @ts-expect-error unknown options are errors
recorder({ sink: memorySink(), capture: true });

// ctx.observe takes an observer and returns the function that stops it.
defineMiddleware({
  name: 'watch',
  async call(ctx, next) {
    const observer: CallObserver = { onLayer: (e) => void e.phase, onUpdate: (e) => void e.target };
    const stop: () => void = ctx.observe(observer);
    await next();
    stop();
  },
});

// Replay and snapshots take text, records, a sink or a parsed recording.
const sink = memorySink();
replayExecutor(sink);
replayExecutor(sink.toNDJSON());
replayExecutor(parseRecording(''));
const lines: string[] = layerChanges(sink.records);
assertLayerChanges(sink, lines);
// @ts-expect-error a number is not a recording
replayExecutor(42);
