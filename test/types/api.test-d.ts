// Type tests: checked by `npx tsc --noEmit` (tsconfig includes test/). Nothing here runs; each
// `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import {
  type CallSettings,
  type Context,
  type EffectiveModel,
  type Executor,
  type Middleware,
  type MiddlewareDefinition,
  type MiddlewareFn,
  type ModelEventOf,
  type ModelResponse,
  type PipelineOptions,
  type StreamObserver,
  type StreamPart,
  type StreamTransform,
  compose,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { type FallbackOptions, type RetryOptions, fallback, retry } from 'modelware/middleware';
import { type ScriptedExecutorOptions, scriptedExecutor } from 'modelware/testing';

declare module 'modelware' {
  interface CallState {
    /** Declared by the type tests only; proves third-party fields are typed through declaration merging. */
    typeTestCacheHit?: boolean;
  }
}

declare function expectType<T>(value: T): void;
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

const model = scriptedExecutor(['ok']);
const app = pipeline(model);
const request = { model: 'm', messages: [{ role: 'user', content: 'hi' }] } as const;

// ---- the request is read-only: change it with ctx.update() ----
app.use(async (ctx, next) => {
  // @ts-expect-error ctx.request is read-only
  ctx.request.model = 'other';
  // @ts-expect-error messages is a readonly array
  ctx.request.messages.push({ role: 'user', content: 'x' });
  // @ts-expect-error message fields are read-only too
  ctx.request.messages[0]!.content = 'x';
  // @ts-expect-error the request itself cannot be replaced
  ctx.request = request;
  ctx.update((draft) => {
    draft.model = 'other';
    draft.messages.push({ role: 'user', content: 'x' });
  });
  // @ts-expect-error a recipe cannot add a message with an unknown role
  ctx.update((draft) => void draft.messages.push({ role: 'robot', content: 'x' }));
  await next();
});

// ---- middleware shapes ----
app.use(
  async (ctx, next) => {
    expectType<Context>(ctx);
    await next();
  },
  function named(_ctx, next) {
    return next();
  },
  defineMiddleware({ name: 'defined', call: (_ctx, next) => next() }),
  defineMiddleware({ name: 'replaying', replay: true, call: (_ctx, next) => next() }),
  compose((_ctx, next) => next(), defineMiddleware({ name: 'inner', call: (_ctx, next) => next() })),
);
declare const fn: MiddlewareFn;
declare const def: MiddlewareDefinition;
declare const any: Middleware;
app.use(fn, def, any, retry(), fallback({ models: ['b'] }));

// @ts-expect-error a factory must be called: use(retry()), not use(retry)
app.use(retry);
// @ts-expect-error fallback needs its options and must be called
app.use(fallback);
// @ts-expect-error the first parameter is the context, not a string
app.use((ctx: string) => ctx);
// @ts-expect-error three required parameters are not Koa's (ctx, next)
app.use((_a: Context, _b: () => Promise<void>, _c: number) => {});
// @ts-expect-error next() takes no arguments
app.use((_ctx, next) => next('x'));
// @ts-expect-error a definition needs a name
app.use({ call: (_ctx: Context, next: () => Promise<void>) => next() });
// @ts-expect-error call must be a function
app.use({ name: 'x', call: 5 });
// @ts-expect-error a number is not middleware
app.use(42);
// @ts-expect-error an array is not middleware (spread it)
app.use([fn]);
// @ts-expect-error compose() checks its arguments too
compose(fn, 'logger');

// ---- executors ----
pipeline({
  name: 'custom',
  generate: async (): Promise<ModelResponse> => ({
    message: { role: 'assistant', content: 'x' },
    finishReason: 'stop',
  }),
});
pipeline(pipeline(model));
pipeline({ executor: model, name: 'chat', validate: false, inspect: true, strict: true });
// @ts-expect-error an executor needs generate()
pipeline({});
// @ts-expect-error generate must return a Promise<ModelResponse>
pipeline({ generate: () => 'text' });
// @ts-expect-error the response must be a ModelResponse
pipeline({ generate: async () => ({ text: 'x' }) });
// @ts-expect-error stream must return an async iterable of parts
pipeline({ generate: model.generate, stream: () => ['x'] });
// @ts-expect-error a string is not an executor
pipeline('gpt-5');

const asExecutor: Executor = app;
expectType<Promise<ModelResponse>>(asExecutor.generate(request));

// ---- events ----
app.on('completed', (event) => {
  expectType<ModelResponse>(event.response);
  expectType<EffectiveModel>(event.model);
  expectType<number>(event.durationMs);
});
app.on('dispatched', (event) => expectType<number>(event.attempt));
app.on('chunk', (event) => expectType<'chunk'>(event.type));
app.on('failed', (event) => expectType<unknown>(event.error));
// @ts-expect-error a completed event has no part
app.on('completed', (event) => event.part);
// @ts-expect-error a chunk listener does not receive a completed event
app.on('chunk', (event: ModelEventOf<'completed'>) => event.response);
// @ts-expect-error there is no such event
app.on('finished', () => {});
const off = app.on('requested', () => {});
expectType<() => void>(off);

// ---- CallState declaration merging ----
app.use(async (ctx, next) => {
  ctx.state.typeTestCacheHit = true;
  expectType<boolean | undefined>(ctx.state.typeTestCacheHit);
  // @ts-expect-error the declared field is a boolean
  ctx.state.typeTestCacheHit = 'yes';
  // @ts-expect-error undeclared fields are not there
  ctx.state.somethingElse = 1;
  await next();
});

// ---- results ----
assertTrue<Equal<Awaited<ReturnType<typeof app.generate>>, ModelResponse>>();
const stream = app.stream(request);
expectType<Promise<ModelResponse>>(stream.response);
expectType<Promise<string>>(stream.text());

// ---- exactOptionalPropertyTypes: options accept an explicit `undefined` ----
declare const maybeSignal: AbortSignal | undefined;
declare const maybeNumber: number | undefined;
declare const maybeBoolean: boolean | undefined;
declare const maybeString: string | undefined;
const callSettings: CallSettings = { signal: maybeSignal, parentId: maybeString };
void app.generate(request, callSettings);
void app.generate(request, { signal: maybeSignal });
const retryOptions: RetryOptions = {
  retries: maybeNumber,
  initialDelayMs: maybeNumber,
  factor: maybeNumber,
  maxDelayMs: maybeNumber,
  shouldRetry: undefined,
  onRetry: undefined,
};
retry(retryOptions);
const fallbackOptions: FallbackOptions = { models: ['b'], shouldFallback: undefined, onFallback: undefined };
fallback(fallbackOptions);
const pipelineOptions: PipelineOptions = {
  executor: model,
  name: maybeString,
  validate: maybeBoolean,
  inspect: maybeBoolean,
  strict: maybeBoolean,
};
pipeline(pipelineOptions);
defineMiddleware({ name: 'opt', replay: maybeBoolean, call: undefined, tool: (_ctx, next) => next() });
const scriptedOptions: ScriptedExecutorOptions = {
  name: maybeString,
  delayMs: maybeNumber,
  chunkSize: maybeNumber,
  chunkDelayMs: maybeNumber,
  whenDone: undefined,
  streaming: maybeBoolean,
};
scriptedExecutor([], scriptedOptions);
const observer: StreamObserver = { onPart: undefined, onFinish: undefined, onError: undefined, onClose: undefined };
app.use(async (ctx, next) => {
  await next();
  await ctx.tapStream(observer);
});

// The public primitives the built-ins are written with.
app.use(async (ctx, next) => {
  expectType<AbortSignal | undefined>(ctx.signalIfAny);
  const answer = await ctx.withSignal(AbortSignal.any([ctx.signal]), async () => 42);
  expectType<number>(answer);
  await ctx.withSignal(ctx.signal, next);
  // @ts-expect-error withSignal takes an AbortSignal, not an AbortController
  await ctx.withSignal(new AbortController(), next);
  const transform: StreamTransform = async function* (source) {
    for await (const part of source) yield part;
  };
  await ctx.wrapStream(transform);
  await ctx.wrapStream((source: AsyncIterable<StreamPart>) => source);
  // @ts-expect-error a transform returns parts as an async iterable, not an array
  await ctx.wrapStream(() => [] as StreamPart[]);
});
// @ts-expect-error retries is a number
retry({ retries: '2' });
// @ts-expect-error fallback requires models
fallback({});
