/**
 * Hand-written checks for the shapes almost every message and response has. Each one accepts only
 * what the zod schema in messages.ts accepts (a fast-check property in test/lib/quick-check.test.ts
 * holds them to that); anything else, valid or not, answers `false` and goes to zod, which also
 * words the error. A zod parse costs 1–3 µs; these cost tens of nanoseconds, and an agent loop
 * checks a few new messages on every turn.
 */

import { FinishReasonSchema } from './messages.js';

const FINISH_REASONS: ReadonlySet<unknown> = new Set(FinishReasonSchema.options);

type Loose = Record<string, unknown>;

const isRecord = (value: unknown): value is Loose =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isId = (value: unknown): boolean => typeof value === 'string' && value.length > 0;

/** Text, tool-call and nothing else: reasoning and image parts go to zod. */
function isSimplePart(part: unknown): boolean {
  if (!isRecord(part)) return false;
  if (part.type === 'text') return typeof part.text === 'string';
  return part.type === 'tool-call' && isId(part.toolCallId) && isId(part.toolName) && 'input' in part;
}

/** `true` only for a message `MessageSchema` accepts; `false` means "ask zod". */
export function isQuickValidMessage(message: unknown): boolean {
  if (!isRecord(message)) return false;
  const { content } = message;
  switch (message.role) {
    case 'system':
    case 'user':
      return typeof content === 'string';
    case 'tool':
      return (
        typeof content === 'string' &&
        isId(message.toolCallId) &&
        isId(message.toolName) &&
        (message.isError === undefined || typeof message.isError === 'boolean')
      );
    case 'assistant':
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
  if (usage === undefined) return true;
  return (
    isRecord(usage) &&
    isCount(usage.inputTokens) &&
    isCount(usage.outputTokens) &&
    isOptionalCount(usage.totalTokens) &&
    isOptionalCount(usage.cachedInputTokens) &&
    isOptionalCount(usage.reasoningTokens)
  );
}
