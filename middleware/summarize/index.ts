import type { Immutable } from 'immer';
import { type Middleware, defineMiddleware } from '../../lib/core/compose.js';
import type { Context } from '../../lib/core/context.js';
import { MiddlewareError } from '../../lib/core/errors.js';
import type { Executor } from '../../lib/core/executor.js';
import { type Message, textOf } from '../../lib/core/messages.js';
import { type Tokenizer, defaultTokenizer, messageTokens } from '../../lib/core/tokens.js';
import { checkFunction, checkInteger, checkKeys, checkOneOf, checkString, failOption } from '../../lib/kit.js';
import { PrefixHasher, SummaryMemo } from './memo.js';
import { render } from './render.js';

/** What `onSummary` receives each time a summary is made (never for one reused from the memo). */
export interface SummaryInfo {
  /** Messages the new summary covers (a previous summary it extends counts as one). */
  readonly messages: number;
  /** Tokens of the request before compaction. */
  readonly tokensBefore: number;
  /** The usage the summary call reported, if any. */
  readonly usage: import('../../lib/core/messages.js').Usage | undefined;
}

export interface SummarizeOptions {
  /**
   * Where the summary goes. `'view'`: only the request of each call is compacted, the transcript
   * keeps every message (later calls reuse the memoised summary). `'transcript'`: the summarised
   * messages are replaced by the summary in the run's transcript (`ctx.run.updateTranscript`), so
   * they are gone for good; needs `runAgent()`. No default: the choice is yours.
   */
  readonly persist: 'view' | 'transcript';
  /** Summarise once the request's messages exceed this many tokens. */
  readonly threshold: number;
  /**
   * Most recent messages kept word for word (more if that would split a tool call from its
   * result: the cut never leaves a tool result without its call). Leading system messages are
   * always kept.
   * @default 6
   */
  readonly keepRecent?: number | undefined;
  /** The model id of the summary request. @default the call's own `request.model` */
  readonly model?: string | undefined;
  /**
   * What makes the summary call, through `ctx.callModel()` (tagged internal, out of the caller's
   * stream, transcript and events). Pass a pipeline to trace, count or retry it.
   * @default this pipeline's executor, without its layers
   */
  readonly executor?: Executor | undefined;
  /** The usage/budget key of the summary calls (`ctx.internal.budgetKey`). @default 'internal:summary' */
  readonly budgetKey?: string | undefined;
  /** The system prompt of the summary call. @default a prompt asking for a faithful, compact summary */
  readonly prompt?: string | undefined;
  /** `maxOutputTokens` of the summary call. @default 1024 */
  readonly maxSummaryTokens?: number | undefined;
  /** Put before the summary in the user message that replaces the older messages. @default 'Summary of the earlier conversation:\n' */
  readonly prefix?: string | undefined;
  /** Summaries kept in memory (least recently used dropped first). @default 1000 */
  readonly maxCacheEntries?: number | undefined;
  /** Counts the tokens of a text. @default gpt-tokenizer's o200k_base, loaded on first use */
  readonly tokenizer?: Tokenizer | undefined;
  /** Called after each summary model call. */
  readonly onSummary?: ((info: SummaryInfo) => void) | undefined;
  /** Names the layer. @default 'summarize' */
  readonly name?: string | undefined;
}

const KEYS = [
  'persist',
  'threshold',
  'keepRecent',
  'model',
  'executor',
  'budgetKey',
  'prompt',
  'maxSummaryTokens',
  'prefix',
  'maxCacheEntries',
  'tokenizer',
  'onSummary',
  'name',
] as const;
const WHERE = 'summarize()';

const DEFAULT_PROMPT =
  'You compact a conversation between a user and an assistant that uses tools. Write a faithful, compact summary of the messages you are given: the user goals, facts learned, decisions, tool results that still matter, and open questions. If a previous summary is included, merge it in. Write only the summary.';

/**
 * Compaction by summary: once a call's messages exceed `threshold` tokens, the older ones (all but
 * the leading system messages and the `keepRecent` latest) are replaced by one user message holding
 * a model-written summary. The summary call is made with `ctx.callModel()`, so it is internal: never
 * in the caller's stream, transcript or events, charged to its own budget key. Summaries are
 * memoised by the content hash of what they cover, so each is computed once, and they roll: the
 * next one extends the previous one with the messages since, so a long run makes about one summary
 * call per `threshold` tokens of new conversation. Calls made by other layers for themselves
 * (`ctx.internal`) pass untouched.
 *
 * @example
 * app.use(summarize({ persist: 'view', threshold: 8_000, keepRecent: 6, model: 'gpt-5-mini' }));
 */
export function summarize(options: SummarizeOptions): Middleware {
  checkKeys(WHERE, options, KEYS);
  const {
    persist,
    threshold,
    keepRecent = 6,
    model,
    executor,
    budgetKey = 'internal:summary',
    prompt = DEFAULT_PROMPT,
    maxSummaryTokens = 1024,
    prefix = 'Summary of the earlier conversation:\n',
    maxCacheEntries = 1000,
    tokenizer: given,
    onSummary,
    name = 'summarize',
  } = options ?? ({} as SummarizeOptions);
  checkOneOf(WHERE, 'persist', persist, ['view', 'transcript']);
  checkInteger(WHERE, 'threshold', threshold);
  checkInteger(WHERE, 'keepRecent', keepRecent, { sign: 'non-negative' });
  checkString(WHERE, 'model', model, { optional: true, noun: 'model id string' });
  if (executor !== undefined && typeof (executor as Executor | null)?.generate !== 'function') {
    failOption(WHERE, 'executor', 'an executor (an object with generate(request, options))', executor);
  }
  checkString(WHERE, 'budgetKey', budgetKey);
  checkString(WHERE, 'prompt', prompt);
  checkInteger(WHERE, 'maxSummaryTokens', maxSummaryTokens);
  checkString(WHERE, 'prefix', prefix, { nonEmpty: false });
  checkInteger(WHERE, 'maxCacheEntries', maxCacheEntries);
  checkFunction(WHERE, 'tokenizer', given, '(text) => number', { optional: true });
  checkFunction(WHERE, 'onSummary', onSummary, '(info) => void', { optional: true });
  checkString(WHERE, 'name', name);
  const memo = new SummaryMemo(maxCacheEntries);
  // The settings that shape a summary seed every key: another model or prompt is another summary.
  const hasher = new PrefixHasher(JSON.stringify([model ?? '', prompt, maxSummaryTokens]));
  const summaryMessages = new Map<string, Message>();

  /** One summary message object per summary, so the view keeps a stable identity across calls. */
  const summaryMessage = (key: string, text: string): Message => {
    let message = summaryMessages.get(key);
    if (message === undefined) {
      message = Object.freeze({ role: 'user', content: `${prefix}${text}` }) as Message;
      summaryMessages.set(key, message);
      if (summaryMessages.size > maxCacheEntries) summaryMessages.delete(summaryMessages.keys().next().value as string);
    }
    return message;
  };

  /** The compacted messages, or `undefined` when they are within the threshold and no summary applies. */
  async function compact(ctx: Context, messages: Immutable<Message[]>): Promise<Message[] | undefined> {
    const tokenizer = given ?? (await defaultTokenizer());
    let head = 0;
    while (head < messages.length && (messages[head] as Immutable<Message>).role === 'system') head++;
    const hashes = hasher.hashes(messages, head);
    // The latest summary that covers a prefix of these messages, if any.
    let covered = 0;
    for (let i = hashes.length - 1; i > 0; i--) {
      // A summary never ends between a tool call and its result.
      if (memo.has(hashes[i] as string) && (messages[head + i] as Immutable<Message> | undefined)?.role !== 'tool') {
        covered = i;
        break;
      }
    }
    const tokensOf = (from: number) => {
      let total = 0;
      for (let i = from; i < messages.length; i++) total += messageTokens(messages[i] as Immutable<Message>, tokenizer);
      return total;
    };
    let headTokens = 0;
    for (let i = 0; i < head; i++) headTokens += messageTokens(messages[i] as Immutable<Message>, tokenizer);
    let summaryKey = covered > 0 ? (hashes[covered] as string) : undefined;
    let summary = summaryKey === undefined ? undefined : summaryMessage(summaryKey, memo.get(summaryKey) as string);
    const current = headTokens + (summary ? messageTokens(summary, tokenizer) : 0) + tokensOf(head + covered);
    if (current > threshold) {
      const cut = cutPoint(messages, head, keepRecent);
      if (cut - head > covered) {
        const key = hashes[cut - head] as string;
        const before = headTokens + tokensOf(head);
        const previous = summary;
        const text = await memo.compute(key, async () => {
          const span = messages.slice(head + covered, cut) as readonly Immutable<Message>[];
          const response = await ctx.callModel(
            {
              model: model ?? ctx.request.model,
              messages: [
                { role: 'system', content: prompt },
                { role: 'user', content: render(previous ? [previous, ...span] : span) },
              ],
              options: { maxOutputTokens: maxSummaryTokens },
            },
            { executor, purpose: 'summary', budgetKey },
          );
          onSummary?.({ messages: span.length + (previous ? 1 : 0), tokensBefore: before, usage: response.usage });
          return textOf(response.message);
        });
        summaryKey = key;
        summary = summaryMessage(key, text);
        covered = cut - head;
      }
    }
    if (!summary) return undefined;
    return [...(messages.slice(0, head) as Message[]), summary, ...(messages.slice(head + covered) as Message[])];
  }

  return defineMiddleware({
    name,
    async call(ctx, next) {
      // Another layer's own call (or ours): not a conversation to compact.
      if (ctx.internal) return next();
      if (persist === 'view') {
        const compacted = await compact(ctx, ctx.request.messages);
        if (compacted) ctx.update((draft) => void (draft.messages = compacted as typeof draft.messages));
        return next();
      }
      const run = ctx.run;
      if (!run) {
        throw new MiddlewareError(
          name,
          `${name}: persist: 'transcript' needs a run (runAgent()), and this call has none. Use persist: 'view' for calls outside runs.`,
        );
      }
      const transcript = run.transcript;
      const compacted = await compact(ctx, transcript);
      if (compacted) {
        run.updateTranscript(() => compacted);
        // The view follows when it is the transcript as it was (the usual case: no layer before this one changed it).
        const view = ctx.request.messages;
        if (view.length === transcript.length && view.every((m, i) => m === transcript[i])) {
          ctx.update((draft) => void (draft.messages = compacted as typeof draft.messages));
        }
      }
      return next();
    },
  });
}

/**
 * Where the kept messages start: `keepRecent` from the end, moved earlier while it would start the
 * kept part with a tool result (its call must stay with it), never into the leading system messages.
 */
export function cutPoint(messages: Immutable<Message[]>, head: number, keepRecent: number): number {
  let cut = Math.max(head, messages.length - keepRecent);
  while (cut > head && (messages[cut] as Immutable<Message> | undefined)?.role === 'tool') cut--;
  return cut;
}
