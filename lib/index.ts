export { compose, defineMiddleware } from './compose.js';
export { Context } from './context.js';
export {
  InvalidRequestError,
  InvalidResponseError,
  MiddlewareError,
  ModelwareError,
  PolicyViolationError,
  ProviderError,
  RetryError,
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

export type { Middleware, MiddlewareDefinition, MiddlewareFn, Next } from './compose.js';
export type {
  CallState,
  LayerPatches,
  RequestRecipe,
  ResponseRecipe,
  RunContext,
  RunState,
} from './context.js';
export type { IssuePath, Violation } from './errors.js';
export type { EffectiveModel, ModelEvent, ModelEventListener, ModelEventOf, ModelEventType } from './events.js';
export type { ExecuteOptions, Executor, ReadonlyModelRequest } from './executor.js';
export type {
  AssistantMessage,
  CallOptions,
  FinishReason,
  ImagePart,
  Message,
  ModelRequest,
  ModelResponse,
  ReasoningPart,
  StreamPart,
  SystemMessage,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolMessage,
  ToolSpec,
  Usage,
  UserMessage,
} from './messages.js';
export type { CallSettings, Pipeline, PipelineOptions } from './pipeline.js';
export type { PartMapper, StreamObserver } from './stream.js';
