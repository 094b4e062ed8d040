export { assertLayerChanges, layerChanges, replayExecutor } from './replay.js';
export type { RecordingInput, ReplayExecutor } from './replay.js';
export { scriptedExecutor } from './scripted.js';
export type {
  RecordedCall,
  ScriptStep,
  ScriptedExecutor,
  ScriptedExecutorOptions,
  ScriptedReply,
  ScriptedToolCall,
} from './scripted.js';
