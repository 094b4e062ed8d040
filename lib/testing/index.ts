export { scriptedExecutor } from './scripted.js';
export type {
  RecordedCall,
  ScriptStep,
  ScriptedExecutor,
  ScriptedExecutorOptions,
  ScriptedReply,
  ScriptedToolCall,
} from './scripted.js';
