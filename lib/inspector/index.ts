// `modelware/inspector`: the local viewer of recordings. Node only (an HTTP server); the main
// `modelware` entry never imports it.
export { InspectorError } from './errors.js';
export { loadRecordingFile, readRecordingText } from './load.js';
export { startInspector } from './server.js';

export type { InspectorErrorCode } from './errors.js';
export type { LoadedRecording } from './load.js';
export type { Inspector, InspectorOptions } from './server.js';
