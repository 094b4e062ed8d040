import { type Middleware, defineMiddleware } from '../../lib/core/compose.js';
import { BudgetExceededError } from '../../lib/core/errors.js';
import type { Message } from '../../lib/core/messages.js';
import type { Tokenizer } from '../../lib/core/tokens.js';
import { type TokenBudgetInfo, type TokenBudgetStrategy, dropOldest, truncateToolResults } from './strategies.js';
import {
  checkFunction,
  checkInteger,
  failOption,
  defaultTokenizer,
  messageTokens,
  messagesTokens,
  checkKeys,
  optionNames,
} from '../../lib/kit.js';

export type { TokenBudgetInfo, TokenBudgetStrategy };

export interface TokenBudgetOptions {
  /** The model's input limit, in tokens. */
  readonly maxInputTokens: number;
  /** Tokens kept free for the answer: the messages and tools must fit in `maxInputTokens - reserveOutputTokens`. @default 0 */
  readonly reserveOutputTokens?: number | undefined;
  /**
   * How to fit: `'drop-oldest'` drops the oldest messages (an assistant tool-call message always
   * with all its tool results); `'truncate-tool-results'` cuts the oldest tool results down to a
   * short head. Both keep system messages and the newest user message. Or a function.
   * @default 'drop-oldest'
   */
  readonly strategy?: 'drop-oldest' | 'truncate-tool-results' | TokenBudgetStrategy | undefined;
  /** Counts the tokens of a text. @default gpt-tokenizer's o200k_base, loaded on first use */
  readonly tokenizer?: Tokenizer | undefined;
  /** Names the layer. @default 'tokenBudget' */
  readonly name?: string | undefined;
}

const KEYS = optionNames<TokenBudgetOptions>({
  maxInputTokens: true,
  reserveOutputTokens: true,
  strategy: true,
  tokenizer: true,
  name: true,
});

/**
 * Keeps each call's input within a token budget. Counts are memoised per message object, so a
 * long run pays for each message once. Put it after the transforms that shrink the context, so it
 * only cuts what they left: `use(appTransform, pluginTransforms, tokenBudget(...))`.
 *
 * @example
 * app.use(compactToolResults(), tokenBudget({ maxInputTokens: 128_000, reserveOutputTokens: 4_000 }));
 */
export function tokenBudget(options: TokenBudgetOptions): Middleware {
  checkKeys('tokenBudget()', options, KEYS);
  const {
    maxInputTokens,
    reserveOutputTokens = 0,
    strategy = 'drop-oldest',
    tokenizer,
    name = 'tokenBudget',
  } = options ?? ({} as TokenBudgetOptions);
  checkInteger('tokenBudget()', 'maxInputTokens', maxInputTokens);
  if (!Number.isInteger(reserveOutputTokens) || reserveOutputTokens < 0 || reserveOutputTokens >= maxInputTokens) {
    const expected = `a non-negative integer below maxInputTokens (${maxInputTokens})`;
    failOption('tokenBudget()', 'reserveOutputTokens', expected, reserveOutputTokens);
  }
  const fit =
    strategy === 'drop-oldest' ? dropOldest : strategy === 'truncate-tool-results' ? truncateToolResults() : strategy;
  if (typeof fit !== 'function') {
    failOption('tokenBudget()', 'strategy', "'drop-oldest', 'truncate-tool-results' or a function", strategy);
  }
  checkFunction('tokenBudget()', 'tokenizer', tokenizer, '(text) => number', { optional: true });
  const strategyName = typeof strategy === 'string' ? strategy : strategy.name || 'custom strategy';
  const budget = maxInputTokens - reserveOutputTokens;
  const toolTokens = new WeakMap<object, number>();

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const count = tokenizer ?? (await defaultTokenizer());
      const { messages, tools } = ctx.request;
      let fixed = 0;
      if (tools && tools.length > 0) {
        fixed = toolTokens.get(tools) ?? count(JSON.stringify(tools));
        toolTokens.set(tools, fixed);
      }
      const total = messagesTokens(messages, count);
      if (fixed + total <= budget) return next();
      const kept = fit(messages, { budget: budget - fixed, total, count: (m) => messageTokens(m, count) });
      const counted = fixed + messagesTokens(kept, count);
      if (counted > budget) {
        throw new BudgetExceededError({
          budget,
          counted,
          layer: name,
          message: `${name}: the request needs ${counted} tokens after \`${strategyName}\` but the budget is ${budget} (maxInputTokens ${maxInputTokens} - reserveOutputTokens ${reserveOutputTokens})${fixed ? `, of which the tool definitions take ${fixed}` : ''}. What is left cannot be removed (system messages, the newest user message). Raise \`maxInputTokens\`, shorten those messages, or pass a \`strategy\` that removes more.`,
        });
      }
      if (kept !== messages) ctx.update((draft) => void (draft.messages = kept as Message[]));
      return next();
    },
  });
}
