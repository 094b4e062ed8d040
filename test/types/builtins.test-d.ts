// Type tests for the built-ins router, cache, rateLimit, callLimit, usage, guard, redactPii,
// validateOutput, auditLog, tracing and the stores: checked by `npx tsc --noEmit`. Nothing here
// runs; each `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import type { Tracer } from '@opentelemetry/api';
import type { Redis } from 'ioredis';
import {
  type Context,
  type MemoryStore,
  type Middleware,
  type ModelResponse,
  OutputValidationError,
  RateLimitError,
  type Store,
  type TakeResult,
  memoryStore,
  pipeline,
  redisStore,
  textOf,
} from 'modelware';
import {
  type AuditRecord,
  type CacheOptions,
  type CallUsage,
  type RateLimitOptions,
  type UsageReport,
  type UsageTotals,
  type ValidateOutputMiddleware,
  auditLog,
  cache,
  callLimit,
  guard,
  jsonLinesSink,
  rateLimit,
  redactPii,
  requestHash,
  router,
  tracing,
  usage,
  validateOutput,
} from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

const app = pipeline(scriptedExecutor(['ok']));
declare const redis: Redis;
declare const tracer: Tracer;

// ---- stores ----
const memory: Store = memoryStore({ prefix: 'app:', now: () => 0, maxKeys: 100 });
const sized: MemoryStore = memoryStore();
assertTrue<Equal<typeof sized.size, number>>();
const shared: Store = redisStore({ client: redis, prefix: 'app:' });
async function stores(store: Store) {
  assertTrue<Equal<Awaited<ReturnType<Store['get']>>, string | undefined>>();
  const taken = await store.take('k', { cost: 1, limit: 10, windowMs: 1000 });
  assertTrue<Equal<typeof taken, TakeResult>>();
  assertTrue<Equal<typeof taken.retryAfterMs, number>>();
  const n: number = await store.increment('n', 1, { ttlMs: 1000 });
  void n;
  // @ts-expect-error a store keeps strings: serialise values yourself
  await store.set('k', { a: 1 });
  // @ts-expect-error take() needs limit and windowMs
  await store.take('k', { cost: 1 });
}
void stores;
// @ts-expect-error redisStore takes its client in an options object
redisStore(redis);
// @ts-expect-error the client must be an ioredis-like client
redisStore({ client: {} });
// @ts-expect-error now is a clock function, not a timestamp
memoryStore({ now: 0 });

// ---- cache ----
app.use(cache(), cache({ store: shared, ttlMs: 60_000, key: (request) => request.model }));
app.use(
  cache({ key: async (request) => requestHash(request), shouldCache: (response) => response.finishReason === 'stop' }),
);
// @ts-expect-error a factory must be called: use(cache()), not use(cache)
app.use(cache);
// @ts-expect-error the key function returns a string
cache({ key: () => 42 });
// @ts-expect-error ttlMs is a number of ms
cache({ ttlMs: '1h' });
// @ts-expect-error there is no `ttl` option: it is ttlMs
const misnamed: CacheOptions = { ttl: 1000 };
void misnamed;
app.use(async (ctx, next) => {
  await next();
  const hit = ctx.state.cache;
  assertTrue<Equal<typeof hit, { readonly hit: boolean; readonly key: string } | undefined>>();
  if (hit) {
    // @ts-expect-error the cache state is read-only
    hit.hit = false;
  }
});

// ---- rateLimit ----
app.use(
  rateLimit({ limit: 60, windowMs: 60_000 }),
  rateLimit({
    limit: 10_000,
    windowMs: 60_000,
    store: shared,
    key: (ctx) => String(ctx.request.metadata?.tenant),
    cost: async (ctx) => ctx.request.messages.length,
    onLimited: 'reject',
    maxWaitMs: 5000,
    onWait: ({ key, cost, waitMs }) => void [key, cost, waitMs],
    now: () => 0,
    sleep: async (_ms, signal) => signal.throwIfAborted(),
    name: 'tenant',
  }),
);
// @ts-expect-error limit and windowMs are required
rateLimit({});
// @ts-expect-error windowMs is required
rateLimit({ limit: 10 });
// @ts-expect-error onLimited is 'wait' or 'reject'
rateLimit({ limit: 1, windowMs: 1000, onLimited: 'sometimes' });
// @ts-expect-error a factory must be called with its options
app.use(rateLimit);
// @ts-expect-error the key function returns a string
const badKey: RateLimitOptions = { limit: 1, windowMs: 1000, key: () => 7 };
void badKey;

// ---- callLimit ----
app.use(callLimit({ maxCalls: 8 }), callLimit({ maxCalls: 100, per: 'pipeline', onLimit: 'end', message: 'done' }));
// @ts-expect-error maxCalls is required
callLimit({});
// @ts-expect-error per is 'run' or 'pipeline'
callLimit({ maxCalls: 1, per: 'turn' });
// @ts-expect-error onLimit is 'throw' or 'end'
callLimit({ maxCalls: 1, onLimit: 'stop' });

// ---- router ----
app.use(
  router({ routes: [{ when: (request) => (request.tools?.length ?? 0) > 0, model: 'gpt-5' }], default: 'gpt-5-mini' }),
  router({ routes: (request) => (request.messages.length > 10 ? 'big' : undefined) }),
);
// @ts-expect-error routes is required
router({ default: 'gpt-5-mini' });
// @ts-expect-error a route names its model
router({ routes: [{ when: () => true }] });
// @ts-expect-error a route function returns a model id or undefined
router({ routes: () => 5 });

// ---- usage ----
app.use(
  usage(),
  usage({
    prices: { 'gpt-5-mini': { inputPerMillion: 0.25, outputPerMillion: 2, cachedInputPerMillion: 0.025 } },
    budget: { maxCostUsd: 0.5, maxTokens: 100_000 },
    onUsage: (report) => {
      assertTrue<Equal<typeof report, UsageReport>>();
      assertTrue<Equal<typeof report.scope, 'run' | 'pipeline'>>();
      assertTrue<Equal<typeof report.call.costUsd, number | undefined>>();
    },
  }),
);
// @ts-expect-error a price needs outputPerMillion too
usage({ prices: { m: { inputPerMillion: 1 } } });
// @ts-expect-error the budget is an object of limits
usage({ budget: 0.5 });
app.use(async (ctx, next) => {
  await next();
  assertTrue<Equal<typeof ctx.state.usage, CallUsage | undefined>>();
  const runTotals = ctx.run?.state.usage;
  assertTrue<Equal<typeof runTotals, UsageTotals | undefined>>();
  if (ctx.state.usage) {
    const model: string = ctx.state.usage.model;
    void model;
    // @ts-expect-error a call's usage is read-only
    ctx.state.usage.totalTokens = 0;
  }
  // @ts-expect-error usage is a CallUsage, not a number
  ctx.state.usage = 5;
});

// ---- guard ----
app.use(
  guard({
    input: (request) => (textOf(request.messages.at(-1)!).includes('password') ? 'asks for a password' : undefined),
  }),
  guard({
    output: async (response, ctx, { final }) => {
      assertTrue<Equal<typeof response, ModelResponse>>();
      assertTrue<Equal<typeof ctx, Context>>();
      assertTrue<Equal<typeof final, boolean>>();
      return final ? { reason: 'leak', code: 'LEAK', replaceWith: 'Sorry.' } : true;
    },
    streaming: 'incremental',
    name: 'leaks',
  }),
  // A check may return nothing: it allows.
  guard({ input: () => {} }),
);
// @ts-expect-error streaming is 'buffer', 'incremental' or 'final'
guard({ output: () => true, streaming: 'sometimes' });
// @ts-expect-error a check returns a verdict, not a number
guard({ input: () => 1 });
// @ts-expect-error a block object needs a reason
guard({ output: () => ({ replaceWith: 'no' }) });
// @ts-expect-error guard needs its options
app.use(guard);

// ---- redactPii ----
app.use(
  redactPii(),
  redactPii({
    detectors: ['email', 'credit-card', { name: 'employee-id', pattern: /E\d{6}/, validate: (m) => m.length === 7 }],
    strategy: 'hash',
    scope: ['user', 'tool', 'response'],
    salt: 's',
    holdBackChars: 512,
  }),
  redactPii({ restore: true }),
);
// @ts-expect-error no such built-in detector
redactPii({ detectors: ['ssn'] });
// @ts-expect-error strategy is 'redact', 'mask', 'hash' or 'block'
redactPii({ strategy: 'remove' });
// @ts-expect-error scope names roles or 'response'
redactPii({ scope: ['everything'] });
// @ts-expect-error a custom detector's pattern is a RegExp
redactPii({ detectors: [{ name: 'id', pattern: 'E\\d+' }] });
// @ts-expect-error a factory must be called: use(redactPii()), not use(redactPii)
app.use(redactPii);

// ---- validateOutput ----
const City = z.object({ city: z.string(), population: z.number().int().default(0) });
const validated = validateOutput({
  schema: City,
  maxRepairs: 2,
  repairPrompt: ({ error, repair }) => `${repair}: ${error}`,
});
assertTrue<Equal<typeof validated, ValidateOutputMiddleware<typeof City>>>();
app.use(validated);
app.use(async (ctx, next) => {
  await next();
  const value = validated.output(ctx);
  assertTrue<Equal<typeof value, { city: string; population: number } | undefined>>();
  // @ts-expect-error the output may be absent: check it first
  value.city;
  // @ts-expect-error `country` is not in the schema
  value?.country;
});
// @ts-expect-error schema is required
validateOutput({ maxRepairs: 1 });
// @ts-expect-error schema must be a zod schema
validateOutput({ schema: { type: 'object' } });
// @ts-expect-error repairPrompt returns the prompt text
validateOutput({ schema: City, repairPrompt: () => 1 });
// @ts-expect-error output() takes the call's context
validated.output();

// ---- auditLog ----
app.use(
  auditLog({ sink: jsonLinesSink(process.stdout) }),
  auditLog({
    sink: async (record) => {
      assertTrue<Equal<typeof record, AuditRecord>>();
      assertTrue<Equal<typeof record.outcome, 'completed' | 'failed' | 'cancelled'>>();
    },
    include: ['request', 'response', 'patches'],
    redact: (record) => ({ ...record, metadata: null }),
    onError: (error, record) => void [error, record],
    now: () => 0,
  }),
);
// @ts-expect-error a sink is required
auditLog({});
// @ts-expect-error include names 'request', 'response' or 'patches'
auditLog({ sink: () => {}, include: ['everything'] });
// @ts-expect-error jsonLinesSink takes a writable stream
jsonLinesSink('audit.ndjson');

// ---- tracing ----
app.use(tracing(), tracing({ tracer, captureContent: true, provider: 'openai', name: 'otel' }));
app.use(tracing({ tracer, layerSpans: true }));
// @ts-expect-error layerSpans is a boolean
tracing({ layerSpans: 'yes' });
// @ts-expect-error captureContent is a boolean
tracing({ captureContent: 'yes' });
// @ts-expect-error tracer is an OpenTelemetry Tracer
tracing({ tracer: {} });
// @ts-expect-error a factory must be called: use(tracing()), not use(tracing)
app.use(tracing);

// ---- every built-in is a Middleware ----
const all: Middleware[] = [
  cache({ store: memory }),
  rateLimit({ limit: 1, windowMs: 1 }),
  callLimit({ maxCalls: 1 }),
  router({ routes: () => undefined }),
  usage(),
  guard({ input: () => true }),
  redactPii(),
  validated,
  auditLog({ sink: () => {} }),
  tracing({ tracer }),
];
void all;

// ---- errors: fields typed for handling ----
declare const error: unknown;
if (RateLimitError.isInstance(error)) {
  assertTrue<Equal<typeof error.retryAfterMs, number | undefined>>();
  const fields: [string, number, number, number, string, boolean] = [
    error.key,
    error.limit,
    error.windowMs,
    error.cost,
    error.layer,
    error.retryable,
  ];
  void fields;
  // @ts-expect-error error fields are read-only
  error.retryAfterMs = 0;
}
if (OutputValidationError.isInstance(error)) {
  const text: string = error.text;
  const attempts: number = error.attempts;
  const layer: string = error.layer;
  assertTrue<Equal<typeof error.issues, readonly z.core.$ZodIssue[]>>();
  assertTrue<Equal<typeof error.retryable, false>>();
  // @ts-expect-error the issues are read-only
  error.issues.push(error.issues[0]!);
  void [text, attempts, layer];
}
if (error instanceof RateLimitError) {
  const wait: number | undefined = error.retryAfterMs;
  void wait;
}
