import type { z } from 'zod';
import type { Message, Usage } from './messages.js';

const MARKER = Symbol.for('modelware.error');

/**
 * Base of every error modelware throws. `isInstance` works across duplicate copies of the package
 * (each class carries a `Symbol.for` marker), where `instanceof` would not.
 */
export class ModelwareError extends Error {
  override readonly name: string = 'ModelwareError';
  readonly [MARKER] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }

  static isInstance(error: unknown): error is ModelwareError {
    return hasMarker(error, MARKER);
  }
}

function hasMarker(error: unknown, marker: symbol): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
}

function defineMarker(cls: { prototype: object }, name: string): symbol {
  const marker = Symbol.for(`modelware.error.${name}`);
  Object.defineProperty(cls.prototype, marker, { value: true });
  return marker;
}

export type IssuePath = readonly PropertyKey[];

/** A request (or a layer's change to it) failed validation against the message schemas. */
export class InvalidRequestError extends ModelwareError {
  override readonly name = 'InvalidRequestError';
  /** The layer whose update broke the request, or `'caller'` for the request passed in. */
  readonly layer: string;
  /** Where the first problem is, e.g. `['messages', 3, 'toolCallId']`. */
  readonly path: IssuePath;
  readonly issues: readonly z.core.$ZodIssue[];

  constructor(init: { layer: string; path: IssuePath; issues: readonly z.core.$ZodIssue[]; message: string }) {
    super(init.message);
    this.layer = init.layer;
    this.path = init.path;
    this.issues = init.issues;
  }

  static override isInstance(error: unknown): error is InvalidRequestError {
    return hasMarker(error, INVALID_REQUEST);
  }
}
const INVALID_REQUEST = defineMarker(InvalidRequestError, 'InvalidRequestError');

/** An executor (or a layer's response change) produced a response that fails the schemas. */
export class InvalidResponseError extends ModelwareError {
  override readonly name = 'InvalidResponseError';
  /** The executor or layer that produced the response. */
  readonly source: string;
  readonly path: IssuePath;
  readonly issues: readonly z.core.$ZodIssue[];

  constructor(init: { source: string; path: IssuePath; issues: readonly z.core.$ZodIssue[]; message: string }) {
    super(init.message);
    this.source = init.source;
    this.path = init.path;
    this.issues = init.issues;
  }

  static override isInstance(error: unknown): error is InvalidResponseError {
    return hasMarker(error, INVALID_RESPONSE);
  }
}
const INVALID_RESPONSE = defineMarker(InvalidResponseError, 'InvalidResponseError');

/** A middleware broke the contract: `next()` twice, concurrent replay, a non-Error thrown. */
export class MiddlewareError extends ModelwareError {
  override readonly name = 'MiddlewareError';
  readonly layer: string;

  constructor(layer: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.layer = layer;
  }

  static override isInstance(error: unknown): error is MiddlewareError {
    return hasMarker(error, MIDDLEWARE);
  }
}
const MIDDLEWARE = defineMarker(MiddlewareError, 'MiddlewareError');

export interface Violation {
  readonly reason: string;
  readonly code: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** The plugin that blocked. */
  readonly plugin?: string;
  /** The middleware that blocked (e.g. a `guard()`), when no plugin did. */
  readonly layer?: string;
  /** The hook point where it blocked: `llm_input` / `llm_output` for a middleware's input / output. */
  readonly hook?: string;
}

const BLOCKED_STAGE: Readonly<Record<string, string>> = { llm_input: 'the input', llm_output: 'the output' };

/** `plugin \`p\` at hook \`h\` blocked: …` for plugins, `middleware \`m\` blocked the input: …` for middleware. */
function violationMessage(violation: Violation): string {
  const tail = `${violation.reason} (${violation.code})`;
  if (violation.layer !== undefined && violation.plugin === undefined) {
    const stage =
      violation.hook !== undefined && Object.hasOwn(BLOCKED_STAGE, violation.hook)
        ? BLOCKED_STAGE[violation.hook]
        : 'the call';
    return `middleware \`${violation.layer}\` blocked ${stage}: ${tail}`;
  }
  const where = [violation.plugin && `plugin \`${violation.plugin}\``, violation.hook && `hook \`${violation.hook}\``]
    .filter(Boolean)
    .join(' at ');
  return `${where ? `${where} blocked: ` : 'Blocked: '}${tail}`;
}

/** A guard, plugin or policy refused the call. */
export class PolicyViolationError extends ModelwareError {
  override readonly name = 'PolicyViolationError';
  readonly violation: Violation;

  constructor(violation: Violation, options?: { cause?: unknown }) {
    super(violationMessage(violation), options);
    this.violation = violation;
  }

  static override isInstance(error: unknown): error is PolicyViolationError {
    return hasMarker(error, POLICY);
  }
}
const POLICY = defineMarker(PolicyViolationError, 'PolicyViolationError');

/** An operation took longer than its `timeoutMs`. */
export class TimeoutError extends ModelwareError {
  override readonly name = 'TimeoutError';
  /** The limit that was passed, in ms. */
  readonly timeoutMs: number;
  /**
   * Whether another attempt may succeed: `false` once a stream had already sent parts (a retry
   * would send them again) or a total time budget is spent. @default true
   */
  readonly retryable: boolean;

  constructor(message: string, timeoutMs: number, options?: { retryable?: boolean | undefined; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.timeoutMs = timeoutMs;
    this.retryable = options?.retryable ?? true;
  }

  static override isInstance(error: unknown): error is TimeoutError {
    return hasMarker(error, TIMEOUT);
  }
}
const TIMEOUT = defineMarker(TimeoutError, 'TimeoutError');

/** Every attempt of a retry or fallback failed. */
export class RetryError extends ModelwareError {
  override readonly name = 'RetryError';
  readonly reason: 'maxRetriesExceeded' | 'errorNotRetryable' | 'modelsExhausted';
  readonly errors: readonly unknown[];
  readonly lastError: unknown;

  constructor(message: string, reason: RetryError['reason'], errors: readonly unknown[]) {
    super(message, { cause: errors.at(-1) });
    this.reason = reason;
    this.errors = errors;
    this.lastError = errors.at(-1);
  }

  static override isInstance(error: unknown): error is RetryError {
    return hasMarker(error, RETRY);
  }
}
const RETRY = defineMarker(RetryError, 'RetryError');

/**
 * A model provider's API call failed: an HTTP error status, a connection failure or a timeout.
 * Provider adapters throw it with the SDK's error as `cause`; `retry()` honours `retryable` and
 * `retryAfterMs`.
 */
export class ProviderError extends ModelwareError {
  override readonly name = 'ProviderError';
  /** The adapter that called the provider, e.g. `openai`, `anthropic`, `ai-sdk:openai.chat`. */
  readonly provider: string;
  /** The HTTP status; `undefined` for connection failures, timeouts and errors sent mid-stream. */
  readonly status: number | undefined;
  /** Whether another attempt may succeed: 408, 409, 429, 5xx, overloads, timeouts, lost connections. */
  readonly retryable: boolean;
  /** How long the provider asked callers to wait (`retry-after-ms` / `retry-after`), in ms. */
  readonly retryAfterMs: number | undefined;
  /** The provider's error type or code, e.g. `rate_limit_error`, `insufficient_quota`, `timeout`. */
  readonly code: string | undefined;
  /** The provider's request id, for support tickets. */
  readonly requestId: string | undefined;
  /**
   * The provider's own error text. Kept out of `message` because providers echo parts of the
   * request in it (a rejected prompt, a tool argument), and `message` reaches logs, spans and audit
   * records.
   */
  readonly providerMessage: string | undefined;

  constructor(init: {
    provider: string;
    message: string;
    retryable: boolean;
    status?: number | undefined;
    retryAfterMs?: number | undefined;
    code?: string | undefined;
    requestId?: string | undefined;
    providerMessage?: string | undefined;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.provider = init.provider;
    this.status = init.status;
    this.retryable = init.retryable;
    this.retryAfterMs = init.retryAfterMs;
    this.code = init.code;
    this.requestId = init.requestId;
    this.providerMessage = init.providerMessage;
  }

  static override isInstance(error: unknown): error is ProviderError {
    return hasMarker(error, PROVIDER);
  }
}
const PROVIDER = defineMarker(ProviderError, 'ProviderError');

/**
 * Why an agent run ended with an error instead of a result:
 * - `aborted`: the run's signal aborted (its reason is `cause`);
 * - `max-turns`: `maxTurns` was reached with `onMaxTurns: 'throw'`;
 * - `model-call-failed`: a model call threw: the provider, or a layer of its stack (a guard or
 *   plugin block, a budget, a timeout); what it threw is `cause`;
 * - `invalid-response`: a model response failed validation, or its tool calls break a run limit
 *   (`maxToolInputDepth`); an `InvalidResponseError` is `cause`;
 * - `tool-call-failed`: a tool call failed the run: a tool threw (or timed out, or got bad
 *   arguments) under `throwOnToolError`, or a tool layer threw; what was thrown is `cause`;
 * - `failed`: a run or turn layer, a stop condition or a transcript edit threw; `cause`.
 */
export type AgentErrorReason =
  | 'aborted'
  | 'max-turns'
  | 'model-call-failed'
  | 'invalid-response'
  | 'tool-call-failed'
  | 'failed';

/**
 * An agent run ended without a result. Every failure once the run started is one: `reason` says
 * which kind, `cause` holds what was thrown. It carries everything the run had completed, so
 * nothing persisted is lost: the transcript up to the last completed step (a turn whose tool calls
 * did not all finish is left out whole, so the transcript never holds an unanswered tool call and
 * can be sent again as is), the number of turns completed and their summed usage.
 */
export class AgentError extends ModelwareError {
  override readonly name = 'AgentError';
  readonly reason: AgentErrorReason;
  readonly runId: string;
  readonly transcript: readonly Message[];
  /** How many turns completed before the run ended (`AgentResult.turns` holds the records of a run that succeeded). */
  readonly turnCount: number;
  readonly usage: Usage;
  /**
   * Never worth retrying as is: re-running the run would repeat its tool calls. To continue, start
   * a run from `transcript`.
   */
  readonly retryable = false;

  constructor(init: {
    reason: AgentErrorReason;
    message: string;
    runId: string;
    transcript: readonly Message[];
    turnCount: number;
    usage: Usage;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.reason = init.reason;
    this.runId = init.runId;
    this.transcript = init.transcript;
    this.turnCount = init.turnCount;
    this.usage = init.usage;
  }

  static override isInstance(error: unknown): error is AgentError {
    return hasMarker(error, AGENT);
  }
}
const AGENT = defineMarker(AgentError, 'AgentError');

/**
 * A budget refused a call before it was sent: `tokenBudget()` when the request cannot fit even after
 * its strategy ran, `usage({ budget })` once a total is reached, `budget()` when the call's estimate
 * would take a fleet-wide ledger past its limit.
 */
export class BudgetExceededError extends ModelwareError {
  override readonly name = 'BudgetExceededError';
  readonly code = 'BUDGET_EXCEEDED';
  /** The limit: tokens (`costUsd` limits in US dollars). */
  readonly budget: number;
  /** What was counted against it, this call's estimate included for `budget()`. */
  readonly counted: number;
  /** The layer that enforced the budget. */
  readonly layer: string;
  /** `budget()` only: which limit, `tokens` or `costUsd`. */
  readonly limit: 'tokens' | 'costUsd' | undefined;
  /** `budget()` only: the budget key, hashed (`sha256:` and 12 hex digits), never the key itself. */
  readonly key: string | undefined;
  /** Retrying the same request cannot fit it. */
  readonly retryable = false;

  constructor(init: {
    budget: number;
    counted: number;
    layer: string;
    message: string;
    limit?: 'tokens' | 'costUsd' | undefined;
    key?: string | undefined;
  }) {
    super(init.message);
    this.budget = init.budget;
    this.counted = init.counted;
    this.layer = init.layer;
    this.limit = init.limit;
    this.key = init.key;
  }

  static override isInstance(error: unknown): error is BudgetExceededError {
    return hasMarker(error, BUDGET);
  }
}
const BUDGET = defineMarker(BudgetExceededError, 'BudgetExceededError');

/**
 * `circuitBreaker()` refused a call without sending it: the model failed `failureThreshold` times
 * within the window, on any worker sharing the store, and its cool-down has not passed (or another
 * worker's half-open probe is in flight). `fallback()` moves on to its next model; `retry()` does
 * not retry it (`retryable` is false).
 */
export class CircuitOpenError extends ModelwareError {
  override readonly name = 'CircuitOpenError';
  readonly code = 'CIRCUIT_OPEN';
  /** The model whose circuit is open. */
  readonly model: string;
  /** When the cool-down ends, in ms from now; 0 while another worker's probe is in flight. */
  readonly retryAfterMs: number;
  /** The layer that refused the call. */
  readonly layer: string;
  readonly retryable = false;

  constructor(init: { model: string; retryAfterMs: number; layer: string; message: string }) {
    super(init.message);
    this.model = init.model;
    this.retryAfterMs = init.retryAfterMs;
    this.layer = init.layer;
  }

  static override isInstance(error: unknown): error is CircuitOpenError {
    return hasMarker(error, CIRCUIT_OPEN);
  }
}
const CIRCUIT_OPEN = defineMarker(CircuitOpenError, 'CircuitOpenError');

/**
 * A rate limit refused a call: `rateLimit({ onLimited: 'reject' })` when the limit is reached, a
 * wait longer than `maxWaitMs`, or a cost larger than the whole limit (which can never be admitted:
 * `retryAfterMs` is then `undefined` and `retryable` false). Otherwise `retry()` honours `retryAfterMs`.
 */
export class RateLimitError extends ModelwareError {
  override readonly name = 'RateLimitError';
  /** The rate-limit key (e.g. a tenant), without the store's prefix. */
  readonly key: string;
  /** Units of cost admitted per `windowMs`. */
  readonly limit: number;
  readonly windowMs: number;
  /** What this call would have cost. */
  readonly cost: number;
  /** When the call could be admitted, in ms from now; `undefined` when it never can. */
  readonly retryAfterMs: number | undefined;
  /** The layer that enforced the limit. */
  readonly layer: string;
  readonly retryable: boolean;

  constructor(init: {
    key: string;
    limit: number;
    windowMs: number;
    cost: number;
    retryAfterMs: number | undefined;
    layer: string;
    message: string;
  }) {
    super(init.message);
    this.key = init.key;
    this.limit = init.limit;
    this.windowMs = init.windowMs;
    this.cost = init.cost;
    this.retryAfterMs = init.retryAfterMs;
    this.layer = init.layer;
    this.retryable = init.retryAfterMs !== undefined;
  }

  static override isInstance(error: unknown): error is RateLimitError {
    return hasMarker(error, RATE_LIMIT);
  }
}
const RATE_LIMIT = defineMarker(RateLimitError, 'RateLimitError');

/**
 * The model's answer did not parse as JSON matching the schema, even after the repairs allowed
 * (`validateOutput()`). Carries the raw text and the zod issues (empty when the text was not JSON)
 * in fields; the message names the layer and the failure, never the answer's content.
 */
export class OutputValidationError extends ModelwareError {
  override readonly name = 'OutputValidationError';
  /** The layer that validated. */
  readonly layer: string;
  /** The last answer's text, as the model sent it. */
  readonly text: string;
  /** The zod issues of the last answer; empty when it was not JSON (see `cause`). */
  readonly issues: readonly z.core.$ZodIssue[];
  /** Model calls made: the first answer plus the repairs. */
  readonly attempts: number;
  /** The repairs were the retry: another attempt would ask the same way. */
  readonly retryable = false;

  constructor(init: {
    layer: string;
    text: string;
    issues: readonly z.core.$ZodIssue[];
    attempts: number;
    message: string;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.layer = init.layer;
    this.text = init.text;
    this.issues = init.issues;
    this.attempts = init.attempts;
  }

  static override isInstance(error: unknown): error is OutputValidationError {
    return hasMarker(error, OUTPUT_VALIDATION);
  }
}
const OUTPUT_VALIDATION = defineMarker(OutputValidationError, 'OutputValidationError');

/**
 * A layer that holds a stream back (`guard()`, `validateOutput()`) saw more than its
 * `maxBufferedChars` before it could release or check the answer. Not retryable: the same request
 * would produce an answer as long.
 */
export class BufferLimitError extends ModelwareError {
  override readonly name = 'BufferLimitError';
  /** The layer that buffered. */
  readonly layer: string;
  /** The bound that was passed, in characters (`maxBufferedChars`). */
  readonly limit: number;
  readonly retryable = false;

  constructor(init: { layer: string; limit: number; message: string }) {
    super(init.message);
    this.layer = init.layer;
    this.limit = init.limit;
  }

  static override isInstance(error: unknown): error is BufferLimitError {
    return hasMarker(error, BUFFER_LIMIT);
  }
}
const BUFFER_LIMIT = defineMarker(BufferLimitError, 'BufferLimitError');

/**
 * What went wrong in a plugin handler: it threw, timed out, changed a read-only field, produced an
 * invalid payload, broke its mode's contract, or its circuit breaker is open.
 */
export type PluginFailure = 'threw' | 'timeout' | 'read-only' | 'invalid' | 'contract' | 'circuit-open';

/** A plugin handler failed under `onError: 'fail'` (or was reported under `ignore`/`disable`). */
export class PluginError extends ModelwareError {
  override readonly name = 'PluginError';
  readonly plugin: string;
  readonly hook: string;
  readonly failure: PluginFailure;
  /** The payload field involved, for `read-only` and `invalid`, e.g. `request.model`. */
  readonly field: string | undefined;
  readonly retryable = false;

  constructor(init: {
    plugin: string;
    hook: string;
    failure: PluginFailure;
    message: string;
    field?: string | undefined;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.plugin = init.plugin;
    this.hook = init.hook;
    this.failure = init.failure;
    this.field = init.field;
  }

  static override isInstance(error: unknown): error is PluginError {
    return hasMarker(error, PLUGIN);
  }
}
const PLUGIN = defineMarker(PluginError, 'PluginError');

/** A plugin config file is unreadable or invalid; `path` points into the file. */
export class PluginConfigError extends ModelwareError {
  override readonly name = 'PluginConfigError';
  readonly file: string;
  /** Where in the file, e.g. `['plugins', 1, 'mode']`. */
  readonly path: IssuePath;
  /** 1-based line, when the format reports one (YAML). */
  readonly line: number | undefined;

  constructor(init: { file: string; path: IssuePath; line?: number | undefined; message: string; cause?: unknown }) {
    super(init.message, { cause: init.cause });
    this.file = init.file;
    this.path = init.path;
    this.line = init.line;
  }

  static override isInstance(error: unknown): error is PluginConfigError {
    return hasMarker(error, PLUGIN_CONFIG);
  }
}
const PLUGIN_CONFIG = defineMarker(PluginConfigError, 'PluginConfigError');

/** Wraps a thrown value that is not an `Error`, so callers always get a stack and a message. */
export function toError(value: unknown, where: string, label = where): Error {
  if (value instanceof Error) return value;
  let shown: string;
  try {
    shown = typeof value === 'string' ? `"${value}"` : (JSON.stringify(value) ?? String(value));
  } catch {
    shown = String(value);
  }
  return new MiddlewareError(where, `${label} threw a non-Error value: ${shown}. Throw an Error instance instead.`, {
    cause: value,
  });
}

const WRAPPED = Symbol('modelware.wrappedThrow');

/**
 * What a layer threw, as the caller will see it: a non-Error is wrapped in a MiddlewareError naming
 * this layer (an inner layer's non-Error was wrapped by that layer, so Errors pass through). A
 * non-Error abort reason gets wrapped on its way out too; `unwrapAbort` gives it back to the caller
 * as it was.
 */
export function layerError(thrown: unknown, layer: string, label = `\`${layer}\``): unknown {
  if (thrown instanceof Error) return thrown;
  const error = toError(thrown, layer, label);
  Object.defineProperty(error, WRAPPED, { value: true });
  return error;
}

/** The abort reason a layer's wrapper wrapped, or `thrown` itself. */
export function unwrapAbort(thrown: unknown, signal: AbortSignal | undefined): unknown {
  if (
    signal?.aborted &&
    typeof thrown === 'object' &&
    thrown !== null &&
    (thrown as { [WRAPPED]?: boolean })[WRAPPED] === true &&
    (thrown as Error).cause === signal.reason
  ) {
    return signal.reason;
  }
  return thrown;
}

/**
 * Whether an error is worth retrying. Provider adapters set `retryable` (429, 5xx, timeouts);
 * anything modelware itself raises for bad input or policy is not.
 */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const flag = (error as { retryable?: unknown }).retryable;
  if (typeof flag === 'boolean') return flag;
  if (InvalidRequestError.isInstance(error) || PolicyViolationError.isInstance(error)) return false;
  if (MiddlewareError.isInstance(error)) return false;
  // A retry layer outside another one would multiply the attempts.
  if (RetryError.isInstance(error)) return false;
  if ((error as { name?: unknown }).name === 'AbortError') return false;
  return true;
}

/** One problem found in a snapshot: where and what kind, never the value found there. */
export interface SnapshotIssue {
  /** Where in the snapshot, e.g. `['transcript', 3, 'role']`. */
  readonly path: IssuePath;
  /** The zod issue code (`invalid_type`, `unrecognized_keys`, ...), or `custom`. */
  readonly code: string;
}

/**
 * Why a snapshot was refused: `SNAPSHOT_NOT_JSON` (the text is not JSON), `SNAPSHOT_VERSION` (made
 * by another version of the format), `SNAPSHOT_INVALID` (it fails the schema: edited, truncated or not a
 * snapshot; `issues` says where), `SNAPSHOT_NOT_SERIALIZABLE` (at snapshot time, a persisted value is
 * not plain JSON data; `key` names it), or `SNAPSHOT_BAD_SIGNATURE` (`openRunSnapshot`: not sealed, sealed
 * with another key, or edited).
 */
export type SnapshotErrorCode =
  | 'SNAPSHOT_NOT_JSON'
  | 'SNAPSHOT_VERSION'
  | 'SNAPSHOT_INVALID'
  | 'SNAPSHOT_NOT_SERIALIZABLE'
  | 'SNAPSHOT_BAD_SIGNATURE';

/**
 * A run snapshot could not be made or loaded. The message names paths and kinds, never the
 * snapshot's content (it holds the conversation).
 */
export class SnapshotError extends ModelwareError {
  override readonly name = 'SnapshotError';
  readonly code: SnapshotErrorCode;
  /** The problems found, paths only (at most 20). */
  readonly issues: readonly SnapshotIssue[];
  /** For `SNAPSHOT_NOT_SERIALIZABLE`: the run state key, or the snapshot field, holding the value. */
  readonly key: string | undefined;
  readonly retryable = false;

  constructor(init: {
    code: SnapshotErrorCode;
    message: string;
    issues?: readonly SnapshotIssue[] | undefined;
    key?: string | undefined;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.code = init.code;
    this.issues = init.issues ?? [];
    this.key = init.key;
  }

  static override isInstance(error: unknown): error is SnapshotError {
    return hasMarker(error, SNAPSHOT);
  }
}
const SNAPSHOT = defineMarker(SnapshotError, 'SnapshotError');

/**
 * Why a resume was refused before anything ran: `RUN_FINISHED` (the snapshot is of a run that
 * ended), `UNKNOWN_TOOL_CALL` (a decision names a call that is not pending), `MISSING_DECISION`
 * (a pending call has none), `INVALID_DECISION` (not one of approve / reject / respond),
 * `INVALID_INPUT` (an approved edit fails the tool's input schema), `UNKNOWN_TOOL` (the pending
 * call names a tool the resumed run does not have).
 */
export type ResumeErrorCode =
  | 'RUN_FINISHED'
  | 'UNKNOWN_TOOL_CALL'
  | 'MISSING_DECISION'
  | 'INVALID_DECISION'
  | 'INVALID_INPUT'
  | 'UNKNOWN_TOOL';

/** `runAgent({ resume })` refused the snapshot or the decisions; nothing ran and nothing was lost. */
export class ResumeError extends ModelwareError {
  override readonly name = 'ResumeError';
  readonly code: ResumeErrorCode;
  readonly runId: string;
  /** The tool call the problem is about, when there is one. */
  readonly toolCallId: string | undefined;
  /** The ids of the calls waiting for a decision. */
  readonly pendingIds: readonly string[];
  /** For `INVALID_INPUT`: the input schema's issues (paths and codes only). */
  readonly issues: readonly SnapshotIssue[];
  readonly retryable = false;

  constructor(init: {
    code: ResumeErrorCode;
    message: string;
    runId: string;
    toolCallId?: string | undefined;
    pendingIds: readonly string[];
    issues?: readonly SnapshotIssue[] | undefined;
  }) {
    super(init.message);
    this.code = init.code;
    this.runId = init.runId;
    this.toolCallId = init.toolCallId;
    this.pendingIds = init.pendingIds;
    this.issues = init.issues ?? [];
  }

  static override isInstance(error: unknown): error is ResumeError {
    return hasMarker(error, RESUME);
  }
}
const RESUME = defineMarker(ResumeError, 'ResumeError');
/**
 * Why a recording cannot be used: `RECORDING_VERSION` (another format version), `RECORDING_CORRUPT`
 * (bad lines where a replay needs every record).
 */
export type RecordingFormatErrorCode = 'RECORDING_VERSION' | 'RECORDING_CORRUPT';

/** A recording cannot be read as a whole (bad lines are reported by `parseRecording`, not thrown). */
export class RecordingFormatError extends ModelwareError {
  override readonly name = 'RecordingFormatError';
  readonly code: RecordingFormatErrorCode;

  constructor(code: RecordingFormatErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  static override isInstance(error: unknown): error is RecordingFormatError {
    return hasMarker(error, RECORDING_FORMAT);
  }
}
const RECORDING_FORMAT = defineMarker(RecordingFormatError, 'RecordingFormatError');

/**
 * Why a replay stopped: `REPLAY_DIVERGED` (the request differs from the recorded one),
 * `REPLAY_EXHAUSTED` (more calls than the recording holds), `REPLAY_NO_RESPONSE` (recorded without
 * captureContent, or the recorded call failed).
 */
export type ReplayErrorCode = 'REPLAY_DIVERGED' | 'REPLAY_EXHAUSTED' | 'REPLAY_NO_RESPONSE';

/**
 * A replayed run asked for something the recording does not hold. For a divergence it names the
 * call (0-based, in dispatch order), the first differing message by index and role, and the field;
 * never content.
 */
export class ReplayError extends ModelwareError {
  override readonly name = 'ReplayError';
  readonly code: ReplayErrorCode;
  /** 0-based index of the executor call, in dispatch order. */
  readonly call: number;
  /** Index of the first differing message, when messages differ. */
  readonly index: number | undefined;
  /** Role of that message in the recording (or in the request, past the recorded messages). */
  readonly role: string | undefined;
  /** What differs: `role`, `content`, `toolCallId`, `toolName`, `isError`, `messages.length`, `model`, `options`, `tools`. */
  readonly field: string | undefined;
  readonly retryable = false;

  constructor(init: {
    code: ReplayErrorCode;
    call: number;
    message: string;
    index?: number | undefined;
    role?: string | undefined;
    field?: string | undefined;
  }) {
    super(init.message);
    this.code = init.code;
    this.call = init.call;
    this.index = init.index;
    this.role = init.role;
    this.field = init.field;
  }

  static override isInstance(error: unknown): error is ReplayError {
    return hasMarker(error, REPLAY);
  }
}
const REPLAY = defineMarker(ReplayError, 'ReplayError');
