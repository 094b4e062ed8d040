export { compose, defineMiddleware, defineMiddlewareFactory } from './compose.js';
export { Context } from './context.js';
export {
  BufferLimitError,
  InvalidRequestError,
  InvalidResponseError,
  MiddlewareError,
  ModelwareError,
  OutputValidationError,
  PolicyViolationError,
  ProviderError,
  RateLimitError,
  RetryError,
  StoreError,
  TimeoutError,
  isRetryable,
} from './errors.js';
export {
  AssistantMessageSchema,
  CallOptionsSchema,
  FinishReasonSchema,
  ImagePartSchema,
  MessageSchema,
  ModelRequestSchema,
  ModelResponseSchema,
  ReasoningPartSchema,
  StreamPartSchema,
  SystemMessageSchema,
  TextPartSchema,
  ToolCallPartSchema,
  ToolMessageSchema,
  ToolSpecSchema,
  UsageSchema,
  UserMessageSchema,
  textOf,
  toolCallsOf,
} from './messages.js';
export { ModelStream } from './model-stream.js';
export { pipeline } from './pipeline.js';
export { sleep } from './signals.js';
export { assemble } from './stream.js';
export { runAgent } from './agent.js';
export { AgentStream, streamAgent } from './agent-stream.js';
export { AgentError, BudgetExceededError } from './errors.js';
export { hasToolCall, stepCountIs } from './stop.js';
export { ToolContext } from './tool-context.js';
export { tool } from './tools.js';
export { countTokens } from './tokens.js';
export { PluginConfigError, PluginError } from './errors.js';
export { HOOKS } from './hook-points.js';
export { block, defineHook } from './hooks.js';
export { fireHook } from './fire-hook.js';
export { definePlugin, pluginSet, withSettings } from './plugins.js';
export { PluginManager } from './plugin-manager.js';
export { PluginScope } from './plugin-scope.js';
export { loadPluginConfig, parsePluginConfig, pluginFactory } from './config.js';

export type { Middleware, MiddlewareDefinition, MiddlewareFn, Next } from './compose.js';
export type {
  CallState,
  LayerPatches,
  RequestRecipe,
  ResponseRecipe,
  RunContext,
  RunState,
} from './context.js';
export type { IssuePath, StoreOperation, Violation } from './errors.js';
export type { EffectiveModel, ModelEvent, ModelEventListener, ModelEventOf, ModelEventType } from './events.js';
export type { ExecuteOptions, Executor, ExecutorWithDefaultModel, ReadonlyModelRequest } from './executor.js';
export type {
  AssistantContentPart,
  AssistantMessage,
  CallOptions,
  FinishReason,
  ImagePart,
  Message,
  ModelRequest,
  ModelResponse,
  ProviderFields,
  ReasoningPart,
  StreamPart,
  SystemMessage,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolMessage,
  ToolSpec,
  Usage,
  UserContentPart,
  UserMessage,
} from './messages.js';
export type { CallSettings, Pipeline, PipelineOptions } from './pipeline.js';
export type { PartMapper, StreamObserver } from './stream.js';
export type { RunAgentCommonOptions, RunAgentOptions } from './agent.js';
export type { AgentEvent } from './agent-stream.js';
export type { AgentErrorReason } from './errors.js';
export type {
  AgentResult,
  RunLayerContext,
  RunMiddlewareFn,
  StopReason,
  TurnLayerContext,
  TurnMiddlewareFn,
  TurnRecord,
} from './run-context.js';
export type { StopCondition, StopState } from './stop.js';
export type { ToolCallState, ToolMiddlewareFn, ToolResult } from './tool-context.js';
export type { AnyTool, Tool, ToolDefinition, ToolExecuteOptions } from './tools.js';
export type { CountTokensOptions, Tokenizer } from './tokens.js';
export type { PluginFailure } from './errors.js';
export type { HookRegistry, ValidationFailure } from './hook-points.js';
export type {
  DefineHookOptions,
  HookBlock,
  HookContext,
  HookDraft,
  HookHandler,
  HookHandlerOf,
  HookName,
  HookPayload,
  HookPoint,
  HookResult,
  HookSubject,
} from './hooks.js';
export type {
  BreakerOptions,
  ClassPlugin,
  ClassPluginHooks,
  Plugin,
  PluginConditions,
  PluginErrorPolicy,
  PluginHooks,
  PluginLike,
  PluginMode,
  PluginOptions,
  PluginSet,
  PluginSettings,
} from './plugins.js';
export type { DispatchOptions, PluginManagerOptions } from './plugin-manager.js';
export type { PluginEvent } from './plugin-events.js';
export type { BreakerState } from './plugin-policy.js';
export type { PluginFactories, PluginFactory } from './config.js';
export { memoryStore } from './stores/memory.js';
export { redisStore } from './stores/redis.js';
export type { Store, StoreCallOptions, StoreTtlOptions, TakeOptions, TakeResult } from './stores/store.js';
export type { MemoryStore, MemoryStoreOptions } from './stores/memory.js';
export type { RedisClientLike, RedisStoreOptions } from './stores/redis.js';
