export { compose, defineMiddleware, defineMiddlewareFactory } from './core/compose.js';
export type { StackContexts, StackMiddlewareFn } from './core/compose.js';
export type { Context } from './core/context.js';
export type {
  AttemptEvent,
  CallObserver,
  DispatchEvent,
  LayerEvent,
  PluginDecisionEvent,
  UpdateEvent,
} from './core/observe.js';
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
  RecordingFormatError,
  ReplayError,
  RetryError,
  TimeoutError,
  isRetryable,
} from './core/errors.js';
export {
  AssistantMessageSchema,
  CacheControlSchema,
  CallOptionsSchema,
  CallWarningSchema,
  FinishReasonSchema,
  ImagePartSchema,
  MessageSchema,
  ModelRequestSchema,
  ModelResponseSchema,
  JsonResponseFormatSchema,
  ReasoningPartSchema,
  ResponseFormatSchema,
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
} from './core/messages.js';
export type { ModelStream } from './core/model-stream.js';
export { pipeline } from './core/pipeline.js';
export {
  chainHash,
  fingerprintDifference,
  hashValue,
  messageFingerprint,
  messagesHash,
  requestHashOf,
} from './core/fingerprint.js';
export {
  AttemptRecordSchema,
  CallEndRecordSchema,
  CallStartRecordSchema,
  ChangeRecordSchema,
  ChangeSchema,
  DispatchRecordSchema,
  DroppedRecordSchema,
  HeaderRecordSchema,
  LayerRecordSchema,
  MessageFingerprintSchema,
  MessageShapeSchema,
  PluginRecordSchema,
  RECORDING_FORMAT_VERSION,
  RecordedErrorSchema,
  RecordingRecordSchema,
  RunEndRecordSchema,
  RunStartRecordSchema,
  StreamRecordSchema,
  ToolRecordSchema,
  TurnEndRecordSchema,
  TurnStartRecordSchema,
  parseRecording,
} from './core/recording.js';
export { executeWithHooks, streamWithHooks } from './core/executor-hooks.js';
export { jsonResponseFormat } from './core/response-format.js';
export type { JsonResponseFormatOptions } from './core/response-format.js';
export { runAgent } from './agent/agent.js';
export { streamAgent } from './agent/stream.js';
export type { AgentStream } from './agent/stream.js';
export { AgentError, BudgetExceededError, CircuitOpenError } from './core/errors.js';
export { hasToolCall, stepCountIs } from './agent/stop.js';
export { ResumeError, SnapshotError } from './core/errors.js';
export { RUN_SNAPSHOT_VERSION, RunSnapshotSchema, loadRunSnapshot } from './agent/snapshot.js';
export { openRunSnapshot, sealRunSnapshot } from './agent/snapshot-seal.js';
export type { OpenRunSnapshotOptions, SealRunSnapshotOptions, SnapshotKey } from './agent/snapshot-seal.js';
export type { ToolContext } from './agent/tool-context.js';
export { tool } from './agent/tools.js';
export { countTokens } from './core/tokens.js';
export { PluginConfigError, PluginError } from './core/errors.js';
export { block, defineHook, requireApproval } from './plugins/hooks.js';
export { fireHook } from './plugins/fire-hook.js';
export { hookPoints } from './plugins/hook-points.js';
export { approvalRequestOf } from './plugins/phases.js';
export { definePlugin, pluginSet, withSettings } from './plugins/plugins.js';
export { PluginManager } from './plugins/manager.js';
export type { PluginScope } from './plugins/scope.js';
export { loadPluginConfig, parsePluginConfig, pluginFactory } from './plugins/config.js';

export type { Middleware, MiddlewareDefinition, MiddlewareFn, Next } from './core/compose.js';
export type {
  CallState,
  LayerPatches,
  RequestRecipe,
  ResponseRecipe,
  RunContext,
  RunState,
} from './core/context.js';
export type { IssuePath, RecordingFormatErrorCode, ReplayErrorCode, Violation } from './core/errors.js';
export type {
  MessageFingerprint,
  MessageShape,
  ParsedRecording,
  RecordedChange,
  RecordedError,
  RecordingProblem,
  RecordingRecord,
  RecordingRecordOf,
  RecordingRecordType,
  RecordingSink,
} from './core/recording.js';
export type { EffectiveModel, ModelEvent, ModelEventListener, ModelEventOf, ModelEventType } from './core/events.js';
export type {
  ExecuteOptions,
  Executor,
  ExecutorAttempt,
  ExecutorCapabilities,
  ExecutorHooks,
  ExecutorWithDefaultModel,
  InternalCall,
  ReadonlyModelRequest,
} from './core/executor.js';
export type { CallModelOptions } from './core/context.js';
export type { MessageReplacements, ReplaceMessagesOptions } from './core/replace-messages.js';
export type {
  AssistantContentPart,
  AssistantMessage,
  CacheControl,
  CallOptions,
  CallWarning,
  FinishReason,
  ImagePart,
  JsonResponseFormat,
  Message,
  ModelRequest,
  ModelResponse,
  ProviderFields,
  ProviderOptionTypes,
  ProviderOptionsOf,
  ReasoningPart,
  ResponseFormat,
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
} from './core/messages.js';
export type { CallSettings, Pipeline, PipelineOptions } from './core/pipeline.js';
export type { PartMapper, StreamObserver, StreamTransform } from './core/stream.js';
export type { RunAgentCommonOptions, RunAgentOptions } from './agent/agent.js';
export type { CheckpointEntry, CheckpointOptions, CheckpointStore } from './agent/checkpoint.js';
export type { CrashInterruptionPayload, ResumeFromCheckpointOptions } from './agent/checkpoint-resume.js';
export type { AgentEvent } from './agent/stream.js';
export type { AgentErrorReason, ResumeErrorCode, SnapshotErrorCode, SnapshotIssue } from './core/errors.js';
export type {
  Decision,
  InterruptSource,
  Interruption,
  PauseInterruption,
  ToolCallInterruption,
} from './agent/interrupts.js';
export type { ResumeOptions } from './agent/resume.js';
export type { PendingTurn, RunSnapshot, RunSnapshotStatus } from './agent/snapshot.js';
export type {
  AgentResult,
  RunLayerContext,
  RunMiddlewareFn,
  StopReason,
  TurnLayerContext,
  TurnMiddlewareFn,
  TurnRecord,
} from './agent/run-context.js';
export type { StopCondition, StopState } from './agent/stop.js';
export type { InterruptOrigin, ToolCallState, ToolMiddlewareFn, ToolResult } from './agent/tool-context.js';
export type { AnyTool, NeedsApprovalContext, Tool, ToolDefinition, ToolExecuteOptions } from './agent/tools.js';
export type { CountTokensOptions, Tokenizer } from './core/tokens.js';
export type { PluginFailure } from './core/errors.js';
export type { HookHandler, HookName, HookPayload, HookRegistry, ValidationFailure } from './plugins/hook-points.js';
export type {
  DefineHookOptions,
  HookApproval,
  HookBlock,
  HookContext,
  HookDraft,
  HookHandlerOf,
  HookPoint,
  HookResult,
  HookSubject,
} from './plugins/hooks.js';
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
} from './plugins/plugins.js';
export type { DispatchOptions, PluginManagerOptions } from './plugins/manager.js';
export type { ApprovalRequest } from './plugins/hooks.js';
export type { PluginEvent } from './plugins/events.js';
export type { BreakerState, BreakerStateStore } from './plugins/handler-guards.js';
export type { PluginFactories, PluginFactory } from './plugins/config.js';
export { StoreError } from './stores/errors.js';
export type { StoreOperation } from './stores/errors.js';
export { memoryStore } from './stores/memory.js';
export { redisStore } from './stores/redis.js';
export { isLedgerStore } from './stores/store.js';
export type {
  LedgerAmounts,
  LedgerStore,
  ReserveOptions,
  ReserveResult,
  SettleOptions,
  SettleResult,
  Store,
  StoreCallOptions,
  StoreTtlOptions,
  TakeOptions,
  TakeResult,
} from './stores/store.js';
export type { MemoryStore, MemoryStoreOptions } from './stores/memory.js';
export type { RedisClientLike, RedisStoreOptions } from './stores/redis.js';
export { generateObject, streamObject } from './core/object.js';
export type { DeepPartial, GenerateObjectOptions, GenerateObjectResult, ObjectStreamEvent } from './core/object.js';
export { RunLeaseError, RunStoreError } from './stores/run-store.js';
export { memoryRunStore } from './stores/run-store-memory.js';
export { redisRunStore } from './stores/run-store-redis.js';
export type {
  RunAppendOptions,
  RunLease,
  RunLeaseOptions,
  RunLog,
  RunLogEntry,
  RunLogEntryType,
  RunReadOptions,
  RunStore,
  RunStoreCallOptions,
  RunStoreErrorCode,
  RunStoreLimits,
} from './stores/run-store.js';
export type { MemoryRunStore, MemoryRunStoreOptions } from './stores/run-store-memory.js';
export type { RedisRunStoreOptions } from './stores/run-store-redis.js';
