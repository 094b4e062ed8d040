export { compactToolResults } from './compact-tool-results.js';
export { fallback } from './fallback.js';
export { retry } from './retry.js';
export { tokenBudget } from './token-budget/index.js';
export { transformContext } from './transform-context/index.js';
export { mapMessages } from './map-messages.js';
export { plugins, runPlugins } from './plugins/index.js';
export { timeout } from './timeout.js';
export type { CompactToolResultsOptions } from './compact-tool-results.js';
export type { FallbackOptions } from './fallback.js';
export type { MapMessagesOptions, MessageMapper } from './map-messages.js';
export type { RetryOptions } from './retry.js';
export type { TokenBudgetInfo, TokenBudgetOptions, TokenBudgetStrategy } from './token-budget/index.js';
export type {
  TransformContextInfo,
  TransformContextOptions,
  TransformContextRecipe,
} from './transform-context/index.js';
export type { PluginsOptions } from './plugins/index.js';
export type { TimeoutOptions } from './timeout.js';
export { cache, requestHash } from './cache.js';
export { rateLimit } from './rate-limit.js';
export type { CacheOptions } from './cache.js';
export type { RateLimitOptions } from './rate-limit.js';
export { auditLog, jsonLinesSink } from './audit-log.js';
export { router } from './router.js';
export { tracing } from './tracing/index.js';
export { usage } from './usage.js';
export type { AuditLogOptions, AuditRecord, AuditSink, WritableLike } from './audit-log.js';
export type { Route, RouteFunction, RouterOptions } from './router.js';
export type { TracingOptions } from './tracing/index.js';
export type { CallUsage, ModelPrice, UsageBudget, UsageOptions, UsageReport, UsageTotals } from './usage.js';
export { budget } from './budget.js';
export { callLimit } from './call-limit.js';
export { circuitBreaker } from './circuit-breaker.js';
export { guard } from './guard.js';
export { redactPii } from './redact-pii/index.js';
export { validateOutput } from './validate-output.js';
export { callbackSink, fileSink, memorySink, recorder } from './recorder/index.js';
export type { FileSink, FileSinkOptions, MemorySink, MemorySinkOptions, RecorderOptions } from './recorder/index.js';
export type { BudgetEstimate, BudgetLimit, BudgetOptions } from './budget.js';
export type { CallLimitOptions } from './call-limit.js';
export type { CircuitBreakerMiddleware, CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
export type {
  GuardBlock,
  GuardInputCheck,
  GuardOptions,
  GuardOutputCheck,
  GuardOutputInfo,
  GuardVerdict,
} from './guard.js';
export type {
  BuiltinPiiDetector,
  PiiDetector,
  PiiRole,
  PiiScope,
  PiiStrategy,
  RedactPiiOptions,
} from './redact-pii/index.js';
export type { RepairInfo, ValidateOutputMiddleware, ValidateOutputOptions } from './validate-output.js';
export { summarize } from './summarize/index.js';
export type { SummarizeOptions, SummaryInfo } from './summarize/index.js';
export { toolCallLimit } from './tool-call-limit.js';
export { toolRetry } from './tool-retry.js';
export { toolTimeout } from './tool-timeout.js';
export type { ToolCallLimitOptions } from './tool-call-limit.js';
export type { ToolBackoff, ToolBackoffOptions, ToolRetryOptions } from './tool-retry.js';
export type { ToolTimeoutOptions } from './tool-timeout.js';

// Every built-in factory carries the factory mark, so `app.use(retry)` (not called) fails at `use()`
// with "call it: retry()". Marked here, where the public entry point is assembled, once.
import { defineMiddlewareFactory } from '../lib/core/compose.js';
import { auditLog as auditLogFactory } from './audit-log.js';
import { budget as budgetFactory } from './budget.js';
import { cache as cacheFactory } from './cache.js';
import { callLimit as callLimitFactory } from './call-limit.js';
import { circuitBreaker as circuitBreakerFactory } from './circuit-breaker.js';
import { compactToolResults as compactToolResultsFactory } from './compact-tool-results.js';
import { fallback as fallbackFactory } from './fallback.js';
import { guard as guardFactory } from './guard.js';
import { plugins as pluginsFactory } from './plugins/index.js';
import { rateLimit as rateLimitFactory } from './rate-limit.js';
import { recorder as recorderFactory } from './recorder/index.js';
import { redactPii as redactPiiFactory } from './redact-pii/index.js';
import { retry as retryFactory } from './retry.js';
import { router as routerFactory } from './router.js';
import { timeout as timeoutFactory } from './timeout.js';
import { tokenBudget as tokenBudgetFactory } from './token-budget/index.js';
import { summarize as summarizeFactory } from './summarize/index.js';
import { toolCallLimit as toolCallLimitFactory } from './tool-call-limit.js';
import { toolRetry as toolRetryFactory } from './tool-retry.js';
import { toolTimeout as toolTimeoutFactory } from './tool-timeout.js';
import { tracing as tracingFactory } from './tracing/index.js';
import { transformContext as transformContextFactory } from './transform-context/index.js';
import { mapMessages as mapMessagesFactory } from './map-messages.js';
import { usage as usageFactory } from './usage.js';
import { validateOutput as validateOutputFactory } from './validate-output.js';

for (const factory of [
  auditLogFactory,
  budgetFactory,
  cacheFactory,
  callLimitFactory,
  circuitBreakerFactory,
  compactToolResultsFactory,
  fallbackFactory,
  mapMessagesFactory,
  guardFactory,
  pluginsFactory,
  rateLimitFactory,
  recorderFactory,
  redactPiiFactory,
  retryFactory,
  routerFactory,
  timeoutFactory,
  tokenBudgetFactory,
  summarizeFactory,
  toolCallLimitFactory,
  toolRetryFactory,
  toolTimeoutFactory,
  tracingFactory,
  transformContextFactory,
  usageFactory,
  validateOutputFactory,
]) {
  defineMiddlewareFactory(factory as (...args: never[]) => unknown);
}
