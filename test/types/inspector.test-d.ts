// Type tests for `modelware/inspector`: checked by `npx tsc --noEmit`. Nothing here runs; each
// `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import type { ModelwareError, RecordingSink } from 'modelware';
import {
  type Inspector,
  InspectorError,
  type InspectorErrorCode,
  type InspectorOptions,
  type LoadedRecording,
  loadRecordingFile,
  readRecordingText,
  startInspector,
} from 'modelware/inspector';
import { recorder } from 'modelware/middleware';

declare const inspector: Inspector;

// A running inspector is a recording sink: the recorder streams to it.
const sink: RecordingSink = inspector;
recorder({ sink: inspector });
const url: string = inspector.url;
const port: number = inspector.port;
const closed: Promise<void> = inspector.close();

const options: InspectorOptions = { port: 0, host: '127.0.0.1', strictPort: true, maxRecords: 1000, maxClients: 4 };
const started: Promise<Inspector> = startInspector(options);
const loaded: LoadedRecording = readRecordingText('', 'run.ndjson');
const fromFile: Promise<LoadedRecording> = loadRecordingFile('run.ndjson', { maxBytes: 1024 });
startInspector({ recording: loaded, signal: AbortSignal.timeout(1000) });

// @ts-expect-error the port is a number
startInspector({ port: '4983' });
// @ts-expect-error options are read-only
options.port = 1;
// @ts-expect-error only records of the format are written
inspector.write({ type: 'nope' });
// @ts-expect-error the recording's records are read-only
loaded.records.push({});

// The error is one of the family, with a closed set of codes.
declare const error: unknown;
if (InspectorError.isInstance(error)) {
  const code: InspectorErrorCode = error.code;
  const option: string | undefined = error.option;
  const base: ModelwareError = error;
  // @ts-expect-error not a code the inspector raises
  const other: InspectorErrorCode = 'ENOENT';
  void [code, option, base, other];
}
void [sink, url, port, closed, started, fromFile];
