import { createHash } from 'node:crypto';
import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import type { ReadonlyModelRequest } from '../lib/core/executor.js';
import { type ModelResponse, ModelResponseSchema, type StreamPart } from '../lib/core/messages.js';
import { describeValue, ResponseAssembler, partChars, checkMs, checkKeys, optionNames } from '../lib/kit.js';
import { memoryStore } from '../lib/stores/memory.js';
import { storeCall } from './store-call.js';
import type { Store } from '../lib/stores/store.js';

export interface CacheOptions {
  /** Where answers are kept; a `redisStore()` shares them across workers. @default a memoryStore() of this layer's own */
  readonly store?: Store | undefined;
  /** How long an answer is kept, in ms. @default no expiry (the store evicts: memoryStore keeps its newest 10,000 keys) */
  readonly ttlMs?: number | undefined;
  /**
   * The cache key of a request, within its partition. @default a SHA-256 of the request's model,
   * messages, tools and options, with object keys sorted (metadata is the partition's business)
   */
  readonly key?: ((request: ReadonlyModelRequest) => string | Promise<string>) | undefined;
  /**
   * Whose entries a call may read and write. Entries are only ever served within a partition, so a
   * layer inside the cache that answers per tenant (a plugin, a router, a retrieval step) cannot
   * leak one tenant's answer to another. Return e.g. `ctx.request.metadata?.tenant` to share
   * across a tenant's users and calls; `false` shares entries among every caller (only when
   * nothing inside the cache depends on who calls).
   * @default the request's whole `metadata` (a SHA-256 of it): calls share entries only when their
   * metadata is equal
   */
  readonly partition?: ((ctx: Context) => string | Promise<string>) | false | undefined;
  /**
   * The longest streamed answer, in characters (text, reasoning, tool arguments), the layer
   * assembles to store; a longer one streams through to the caller untouched and is not stored.
   * @default 4_000_000
   */
  readonly maxBufferedChars?: number | undefined;
  /** Which answers to keep. @default finishReason `'stop'` (not cut off, not tool calls, not errors) */
  readonly shouldCache?: ((response: ModelResponse, ctx: Context) => boolean) | undefined;
  /**
   * How long to wait for the store on each read or write, in ms, before treating it as unreachable:
   * a retryable `StoreError` (`operation` `get` or `set`), handled like any other store failure.
   * @default 1_000
   */
  readonly storeTimeoutMs?: number | undefined;
  /**
   * Called when the store fails or does not answer within `storeTimeoutMs`; the call then goes on as
   * a miss, and an answer that could not be saved is still returned. @default none: the store's
   * error fails the call
   */
  readonly onStoreError?: ((error: unknown, ctx: Context) => void) | undefined;
  /** Names the layer. @default 'cache' */
  readonly name?: string | undefined;
}

/** Bump when what is hashed or stored changes, so old entries are never read as new ones. */
const FORMAT = 1;

const KEYS = optionNames<CacheOptions>({
  store: true,
  ttlMs: true,
  key: true,
  partition: true,
  maxBufferedChars: true,
  shouldCache: true,
  storeTimeoutMs: true,
  onStoreError: true,
  name: true,
});

/**
 * Answers a repeated request from a store without running the layers inside it or the model.
 * A hit sets `ctx.response` (replayed as parts in stream mode) and `ctx.state.cache.hit`; the
 * response itself is exactly the one stored. A miss runs the layers inside and stores the answer
 * once it is complete: a failed, aborted or abandoned stream is never stored.
 *
 * @example
 * app.use(cache({ store: redisStore({ client }), ttlMs: 3_600_000 }));
 */
export function cache(options: CacheOptions = {}): Middleware {
  checkKeys('cache()', options, KEYS);
  const {
    store = memoryStore(),
    ttlMs,
    key,
    partition = metadataPartition,
    shouldCache,
    onStoreError,
    storeTimeoutMs = 1_000,
    maxBufferedChars = 4_000_000,
    name = 'cache',
  } = options ?? {};
  if (!isStore(store)) {
    throw new TypeError(
      `cache(): expected \`store\` to be a Store (memoryStore(), redisStore({ client })), got ${describeValue(store)}.`,
    );
  }
  checkMs('cache()', 'ttlMs', ttlMs, { integer: true, optional: true });
  checkMs('cache()', 'storeTimeoutMs', storeTimeoutMs, { integer: true });
  if (partition !== false && typeof partition !== 'function') {
    throw new TypeError(
      `cache(): expected \`partition\` to be a function (ctx) => string, or false to share entries among every caller, got ${describeValue(partition)}.`,
    );
  }
  if (!Number.isSafeInteger(maxBufferedChars) || maxBufferedChars < 1) {
    throw new TypeError(
      `cache(): expected \`maxBufferedChars\` to be a positive integer, got ${describeValue(maxBufferedChars)}.`,
    );
  }
  for (const [option, value] of [
    ['key', key],
    ['shouldCache', shouldCache],
    ['onStoreError', onStoreError],
  ] as const) {
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`cache(): expected \`${option}\` to be a function, got ${describeValue(value)}.`);
    }
  }
  const keep = shouldCache ?? ((response: ModelResponse) => response.finishReason === 'stop');
  const setOptions = ttlMs === undefined ? undefined : { ttlMs };

  async function partitionOf(ctx: Context): Promise<string> {
    if (partition === false) return '*';
    const value = await partition(ctx);
    // Checked per call: an undefined partition would put every such caller in one.
    if (typeof value !== 'string' || value.length === 0) {
      throw new TypeError(
        `${name}: \`partition\` must return a non-empty string, got ${describeValue(value)}. Return who the entry belongs to (e.g. a tenant id), or pass \`partition: false\` to share entries among every caller.`,
      );
    }
    // Encoded so that a `:` in a partition cannot make two (partition, key) pairs one store key.
    return encodeURIComponent(value);
  }

  // Every store call is bounded: by the call's signal, and by storeTimeoutMs (a hung Redis or a
  // custom store that never settles cannot hold the call, even when nobody set a deadline).
  async function guarded<T>(
    ctx: Context,
    operation: 'get' | 'set',
    id: string,
    fallback: T,
    work: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    const signal = ctx.signal;
    if (!onStoreError) return storeCall(store, name, operation, id, storeTimeoutMs, work, signal);
    try {
      return await storeCall(store, name, operation, id, storeTimeoutMs, work, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      onStoreError(error, ctx);
      return fallback;
    }
  }

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const custom = key ? await key(ctx.request) : requestHash(ctx.request);
      // Checked per call: an undefined key would put every such request under one entry.
      if (typeof custom !== 'string' || custom.length === 0) {
        throw new TypeError(
          `${name}: \`key\` must return a non-empty string, got ${describeValue(custom)}. Return a value that identifies the request, e.g. requestHash(request) plus a tenant.`,
        );
      }
      const id = `cache:${await partitionOf(ctx)}:${custom}`;
      const stored = await guarded(ctx, 'get', id, undefined, (signal) => store.get(id, { signal }));
      const hit = decode(stored);
      ctx.state.cache = { hit: hit !== undefined, key: id };
      if (hit) {
        ctx.response = hit;
        return;
      }
      await next();
      // No answer at all is the pipeline's error to report, naming the layer that gave none.
      if (ctx.response === undefined && ctx.stream === undefined) return;
      const save = async (response: ModelResponse) => {
        if (!keep(response, ctx)) return;
        const entry = JSON.stringify({ v: FORMAT, response });
        await guarded(ctx, 'set', id, undefined, (signal) => store.set(id, entry, { ...setOptions, signal }));
      };
      if (ctx.mode === 'generate' || !ctx.stream) {
        await save(ctx.response as ModelResponse);
        return;
      }
      // Stored when the `finish` part passes, before the caller gets it: the answer is then whole,
      // whether or not the caller reads on. A stream that fails or is abandoned before it is never
      // stored; a too-long one stops being assembled (and is not stored). Not tapStream's
      // onFinish: that assembles the answer without a bound.
      let assembler: ResponseAssembler | undefined = new ResponseAssembler();
      let total = 0;
      await ctx.tapStream({
        onPart: async (part: StreamPart) => {
          if (!assembler) return;
          total += partChars(part);
          if (total > maxBufferedChars) {
            assembler = undefined;
            return;
          }
          assembler.add(part);
          if (part.type !== 'finish') return;
          const response = assembler.response();
          assembler = undefined;
          await save(response);
        },
      });
    },
  });
}

/** The default partition: the request's metadata, whatever it holds (tenant, user, ...). */
function metadataPartition(ctx: Context): string {
  const parts: string[] = [];
  canonical(ctx.request.metadata ?? {}, parts);
  return createHash('sha256').update(parts.join('')).digest('hex');
}

function isStore(value: unknown): value is Store {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Store).get === 'function' &&
    typeof (value as Store).set === 'function'
  );
}

/** A stored answer, or `undefined` for a miss and for anything unreadable (then overwritten). */
function decode(stored: string | undefined): ModelResponse | undefined {
  if (stored === undefined) return undefined;
  try {
    const entry = JSON.parse(stored) as { v?: unknown; response?: unknown };
    if (entry?.v !== FORMAT || !ModelResponseSchema.safeParse(entry.response).success) return undefined;
    return entry.response as ModelResponse;
  } catch {
    return undefined;
  }
}

/**
 * SHA-256 of what reaches the model. Object keys are sorted so that `{ a, b }` and `{ b, a }` hash
 * alike; `undefined` fields are skipped as JSON skips them.
 */
export function requestHash(request: ReadonlyModelRequest): string {
  const parts: string[] = [];
  canonical(
    {
      v: FORMAT,
      model: request.model,
      messages: request.messages,
      tools: request.tools,
      // Absent on most requests, so their keys are unchanged; with it, a JSON answer never serves a text request.
      responseFormat: request.responseFormat,
      options: request.options,
    },
    parts,
  );
  return createHash('sha256').update(parts.join('')).digest('hex');
}

function canonical(value: unknown, out: string[]): void {
  if (value === null || typeof value !== 'object') {
    out.push(JSON.stringify(value) ?? 'null');
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      canonical(value[i], out);
    }
    out.push(']');
    return;
  }
  out.push('{');
  let first = true;
  for (const k of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[k];
    if (v === undefined || typeof v === 'function') continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(k), ':');
    canonical(v, out);
  }
  out.push('}');
}
