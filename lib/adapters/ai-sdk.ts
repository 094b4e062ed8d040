// `modelware/ai-sdk`: the Vercel AI SDK both ways. Types only from `@ai-sdk/provider`; the models
// come from the caller.
export { aiSdkExecutor } from './ai-sdk-executor.js';
export { toLanguageModel } from './ai-sdk-model.js';

export type { AiSdkExecutorOptions } from './ai-sdk-executor.js';
export type { ToLanguageModelOptions } from './ai-sdk-model.js';
