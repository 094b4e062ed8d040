// Type tests for ctx.callModel(), ctx.internal, ToolContext.withSignal, summarize(), the tool
// built-ins and tracing()'s new options: checked by `npx tsc --noEmit`. Nothing here runs; each
// `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import type { Meter } from '@opentelemetry/api';
import {
  type CallModelOptions,
  type InternalCall,
  type Middleware,
  type ModelEvent,
  type ModelResponse,
  defineMiddleware,
  pipeline,
} from 'modelware';
import {
  type SummarizeOptions,
  type SummaryInfo,
  type ToolCallLimitOptions,
  type ToolRetryOptions,
  type ToolTimeoutOptions,
  summarize,
  toolCallLimit,
  toolRetry,
  toolTimeout,
  tracing,
} from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const model = scriptedExecutor(['ok']);

export const asker = defineMiddleware({
  name: 'asker',
  async call(ctx, next) {
    const internal: InternalCall | undefined = ctx.internal;
    if (!internal) {
      const response: ModelResponse = await ctx.callModel(
        { model: 'small', messages: [{ role: 'user', content: 'x' }] },
        { executor: model, purpose: 'summary', budgetKey: 'k', signal: ctx.signal },
      );
      void response;
    }
    // @ts-expect-error the request needs messages
    await ctx.callModel({ model: 'small' });
    // @ts-expect-error unknown option
    await ctx.callModel({ model: 's', messages: [] }, { purpse: 'x' });
    await next();
  },
  async tool(ctx, next) {
    const own = new AbortController();
    const result: number = await ctx.withSignal(own.signal, async () => {
      await next();
      return 1;
    });
    void result;
  },
});

export const options: CallModelOptions = { purpose: 'judge' };
export const depth = (i: InternalCall): number => i.depth;
export const onEvent = (e: ModelEvent): string | undefined => e.internal?.by;

const layers: Middleware[] = [
  summarize({ persist: 'view', threshold: 8000 }),
  summarize({ persist: 'transcript', threshold: 8000, keepRecent: 4, model: 'small', executor: pipeline(model) }),
  summarize({ persist: 'view', threshold: 1, onSummary: (info: SummaryInfo) => void info.usage?.inputTokens }),
  // @ts-expect-error persist is required: the choice is explicit
  summarize({ threshold: 8000 }),
  // @ts-expect-error only 'view' or 'transcript'
  summarize({ persist: 'memory', threshold: 8000 }),
  toolCallLimit({ max: 10, perTool: { search: 2 }, onLimit: 'throw' }),
  // @ts-expect-error onLimit is 'deny' or 'throw'
  toolCallLimit({ max: 10, onLimit: 'end' }),
  toolRetry({
    attempts: 3,
    backoff: (n) => n * 100,
    retryOn: (_e, attempt, ctx) => attempt < 3 && ctx.tool !== undefined,
  }),
  toolRetry({ backoff: { initialDelayMs: 50, factor: 3, maxDelayMs: 1000 } }),
  toolTimeout({ ms: 5000 }),
  // @ts-expect-error ms is required
  toolTimeout({}),
  tracing({ meter: {} as Meter, agentName: 'bot', turnSpans: false }),
];
export { layers };
export type Opts = [SummarizeOptions, ToolCallLimitOptions, ToolRetryOptions, ToolTimeoutOptions];
