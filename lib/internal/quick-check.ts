/**
 * Hand-written checks for the shapes almost every message and response has. Each one accepts only
 * what the zod schema in messages.ts accepts (a fast-check property in test/lib/quick-check.test.ts
 * holds them to that); anything else, valid or not, answers `false` and goes to zod, which also
 * words the error. A zod parse costs 1–3 µs; these cost tens of nanoseconds, and an agent loop
 * checks a few new messages on every turn.
 */

/**
 * The values of `FinishReasonSchema` (lib/core/messages.ts), listed here because lib/internal imports
 * nothing else of modelware (.dependency-cruiser.cjs); test/lib/internal/quick-check.test.ts holds
 * the two lists equal.
 */
export const QUICK_FINISH_REASONS: readonly string[] = [
  'stop',
  'length',
  'tool-calls',
  'content-filter',
  'error',
  'other',
];

const FINISH_REASONS: ReadonlySet<unknown> = new Set(QUICK_FINISH_REASONS);

type Loose = Record<string, unknown>;

const isRecord = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isId = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

/*
 * Unknown keys: the schemas are strict, so a key check belongs to every quick answer. A `for...in`
 * over a switch is the cheapest exact check measured (~17 ns a message against ~26 ns for
 * `Object.keys().length`, which also allocates); any unexpected key answers `false` and zod names it.
 */

/** Only `role` and `content` (system, user and assistant messages). */
function hasOnlyMessageKeys(message: Loose): boolean {
  for (const key in message) {
    if (key !== 'role' && key !== 'content') return false;
  }
  return true;
}

function hasOnlyToolMessageKeys(message: Loose): boolean {
  for (const key in message) {
    switch (key) {
      case 'role':
      case 'content':
      case 'toolCallId':
      case 'toolName':
      case 'isError':
        continue;
      default:
        return false;
    }
  }
  return true;
}

function hasOnlyTextKeys(part: Loose): boolean {
  for (const key in part) {
    if (key !== 'type' && key !== 'text') return false;
  }
  return true;
}

function hasOnlyToolCallKeys(part: Loose): boolean {
  for (const key in part) {
    switch (key) {
      case 'type':
      case 'toolCallId':
      case 'toolName':
      case 'input':
        continue;
      default:
        return false;
    }
  }
  return true;
}

/** Text, tool-call and nothing else: reasoning and image parts go to zod. */
function isSimplePart(part: unknown): boolean {
  if (!isRecord(part)) return false;
  if (part.type === 'text') return typeof part.text === 'string' && hasOnlyTextKeys(part);
  return (
    part.type === 'tool-call' &&
    isId(part.toolCallId) &&
    isId(part.toolName) &&
    'input' in part &&
    hasOnlyToolCallKeys(part)
  );
}

/** `true` only for a message `MessageSchema` accepts; `false` means "ask zod". */
export function isQuickValidMessage(message: unknown): boolean {
  if (!isRecord(message)) return false;
  const { content } = message;
  switch (message.role) {
    case 'system':
    case 'user':
      return typeof content === 'string' && hasOnlyMessageKeys(message);
    case 'tool':
      return (
        typeof content === 'string' &&
        isId(message.toolCallId) &&
        isId(message.toolName) &&
        (message.isError === undefined || typeof message.isError === 'boolean') &&
        hasOnlyToolMessageKeys(message)
      );
    case 'assistant':
      if (!hasOnlyMessageKeys(message)) return false;
      if (typeof content === 'string') return true;
      if (!Array.isArray(content)) return false;
      for (let i = 0; i < content.length; i++) if (!isSimplePart(content[i])) return false;
      return true;
    default:
      return false;
  }
}

const isCount = (value: unknown): boolean => Number.isSafeInteger(value) && (value as number) >= 0;
const isOptionalCount = (value: unknown): boolean => value === undefined || isCount(value);

/** `true` only for a response `ModelResponseSchema` accepts; `false` means "ask zod". */
export function isQuickValidResponse(response: unknown): boolean {
  if (!isRecord(response)) return false;
  const { message, usage, model } = response;
  if (!isRecord(message) || message.role !== 'assistant' || !isQuickValidMessage(message)) return false;
  if (!FINISH_REASONS.has(response.finishReason)) return false;
  if (model !== undefined && typeof model !== 'string') return false;
  for (const key in response) {
    if (key !== 'message' && key !== 'finishReason' && key !== 'usage' && key !== 'model') return false;
  }
  if (usage === undefined) return true;
  return (
    isRecord(usage) &&
    hasOnlyUsageKeys(usage) &&
    isCount(usage.inputTokens) &&
    isCount(usage.outputTokens) &&
    isOptionalCount(usage.totalTokens) &&
    isOptionalCount(usage.cachedInputTokens) &&
    isOptionalCount(usage.reasoningTokens)
  );
}

function hasOnlyUsageKeys(usage: Loose): boolean {
  for (const key in usage) {
    switch (key) {
      case 'inputTokens':
      case 'outputTokens':
      case 'totalTokens':
      case 'cachedInputTokens':
      case 'reasoningTokens':
        continue;
      default:
        return false;
    }
  }
  return true;
}
