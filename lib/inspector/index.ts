// `modelware/inspector`: the local viewer of recordings. Node only (an HTTP server); the main
// `modelware` entry never imports it.
export { InspectorError } from './errors.js';
export { INSPECTOR_FORMAT_VERSION, loadRecordingFile, readRecordingText } from './load.js';
export { startInspector } from './server.js';

export type { InspectorErrorCode } from './errors.js';
export type { LoadedRecording, RecordingProblem } from './load.js';
export type { Inspector, InspectorOptions } from './server.js';
