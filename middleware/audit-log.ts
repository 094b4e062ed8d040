import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context, LayerPatches } from '../lib/core/context.js';
import type { EffectiveModel } from '../lib/core/events.js';
import type { ReadonlyModelRequest } from '../lib/core/executor.js';
import { describeValue, checkKeys, optionNames } from '../lib/kit.js';
import type { AssistantMessage, FinishReason, ModelResponse, Usage } from '../lib/core/messages.js';

/** One call, as `auditLog()` writes it: plain data, safe for `JSON.stringify`. Absent values are `null`. */
export interface AuditRecord {
  readonly callId: string;
  /** The calling context when this pipeline runs as another pipeline's executor. */
  readonly parentId: string | null;
  readonly runId: string | null;
  readonly turn: number | null;
  readonly mode: 'generate' | 'stream';
  /** The model asked for and the one that answered, after routing and fallback. */
  readonly model: EffectiveModel;
  /** The model the provider reported (`response.model`). */
  readonly providerModel: string | null;
  /** `request.metadata`: tenant, user, tags. */
  readonly metadata: ReadonlyModelRequest['metadata'] | null;
  /** `now()` when the call entered this layer. */
  readonly startedAt: number;
  readonly latencyMs: number;
  /** `cancelled`: a stream the consumer stopped reading before its end. */
  readonly outcome: 'completed' | 'failed' | 'cancelled';
  readonly finishReason: FinishReason | null;
  readonly usage: Usage | null;
  readonly error: { readonly name: string; readonly message: string } | null;
  /** With `include: ['request']`: what the model was sent (the last attempt's request). */
  readonly request?: Pick<ReadonlyModelRequest, 'messages' | 'tools' | 'options'>;
  /** With `include: ['response']`: the assistant message. */
  readonly response?: { readonly message: AssistantMessage } | null;
  /** With `include: ['patches']` and a pipeline created with `inspect: true`: what each layer changed. */
  readonly patches?: readonly LayerPatches[];
}

/** Where records go; may be async (it is awaited, so a slow sink slows the call down). */
export type AuditSink = (record: AuditRecord) => void | Promise<void>;

export interface AuditLogOptions {
  /** Receives one record per call. See `jsonLinesSink()` for NDJSON to a stream. */
  readonly sink: AuditSink;
  /**
   * Rewrites each record before the sink sees it (mask content, drop fields). If it throws, the
   * record is dropped, never written unredacted.
   */
  readonly redact?: ((record: AuditRecord) => AuditRecord) | undefined;
  /** Content to add to each record. @default [] (metadata only) */
  readonly include?: readonly ('request' | 'response' | 'patches')[] | undefined;
  /**
   * Called when `redact` or the sink fails; the call itself never fails for it.
   * @default one console.warn per auditLog() layer
   */
  readonly onError?: ((error: unknown, record: AuditRecord) => void) | undefined;
  /** The clock for `startedAt` and `latencyMs`, in ms. @default Date.now */
  readonly now?: (() => number) | undefined;
  /** Names the layer. @default 'auditLog' */
  readonly name?: string | undefined;
}

const INCLUDABLE = new Set(['request', 'response', 'patches']);

const KEYS = optionNames<AuditLogOptions>({
  sink: true,
  redact: true,
  include: true,
  onError: true,
  now: true,
  name: true,
});

/**
 * Writes one structured record per call: ids, run and turn, requested and effective model,
 * latency, outcome, finish reason, usage, error, and optionally the content. Mount it outermost to
 * log what the caller got, or inside `retry()`/`fallback()` to log every attempt.
 *
 * @example
 * app.use(auditLog({ sink: jsonLinesSink(createWriteStream('audit.ndjson', { flags: 'a' })) }));
 */
export function auditLog(options: AuditLogOptions): Middleware {
  checkKeys('auditLog()', options, KEYS);
  const { sink, redact, include = [], onError, now = Date.now, name = 'auditLog' } = options ?? ({} as AuditLogOptions);
  if (typeof sink !== 'function') {
    throw new TypeError(
      `auditLog(): expected \`sink\` to be a function (record) => void, got ${describeValue(sink)}. Use jsonLinesSink(stream) to write NDJSON.`,
    );
  }
  for (const [field, value] of [
    ['redact', redact],
    ['onError', onError],
    ['now', now],
  ] as const) {
    if (value !== undefined && typeof value !== 'function') {
      throw new TypeError(`auditLog(): expected \`${field}\` to be a function, got ${describeValue(value)}.`);
    }
  }
  if (!Array.isArray(include) || include.some((field) => !INCLUDABLE.has(field))) {
    throw new TypeError(
      `auditLog(): expected \`include\` to be an array of 'request', 'response' or 'patches', got \`${JSON.stringify(include)}\`.`,
    );
  }
  const wants = new Set(include);
  let warned = false;

  async function write(record: AuditRecord): Promise<void> {
    try {
      await sink(redact ? redact(record) : record);
    } catch (error) {
      if (onError) {
        try {
          onError(error, record);
        } catch {
          // The reporter of failures failing must not break the call either.
        }
      } else if (!warned) {
        warned = true;
        console.warn(
          `${name}: writing an audit record failed (${String((error as Error)?.message ?? error)}); records may be missing. Pass onError to handle sink failures.`,
        );
      }
    }
  }

  function build(
    ctx: Context,
    startedAt: number,
    outcome: AuditRecord['outcome'],
    response: ModelResponse | undefined,
    error: unknown,
  ): AuditRecord {
    const run = ctx.run;
    const request = ctx.request;
    const record: { -readonly [K in keyof AuditRecord]: AuditRecord[K] } = {
      callId: ctx.id,
      parentId: ctx.parentId ?? null,
      runId: run?.runId ?? null,
      turn: run?.turn ?? null,
      mode: ctx.mode,
      model: ctx.model,
      providerModel: response?.model ?? null,
      metadata: request.metadata ?? null,
      startedAt,
      latencyMs: now() - startedAt,
      outcome,
      finishReason: response?.finishReason ?? null,
      usage: response?.usage ?? null,
      error: outcome === 'failed' ? describeError(error) : null,
    };
    if (wants.has('request')) {
      record.request = {
        messages: request.messages,
        ...(request.tools && { tools: request.tools }),
        ...(request.options && { options: request.options }),
      };
    }
    if (wants.has('response')) record.response = response ? { message: response.message } : null;
    if (wants.has('patches') && ctx.patches) record.patches = [...ctx.patches];
    return record;
  }

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const startedAt = now();
      try {
        await next();
      } catch (error) {
        await write(build(ctx, startedAt, 'failed', undefined, error));
        throw error;
      }
      if (ctx.mode === 'generate') {
        await write(build(ctx, startedAt, 'completed', ctx.response, undefined));
        return;
      }
      let settled = false;
      await ctx.tapStream({
        onFinish: async (response) => {
          settled = true;
          await write(build(ctx, startedAt, 'completed', response, undefined));
        },
        onError: async (error) => {
          settled = true;
          await write(build(ctx, startedAt, 'failed', undefined, error));
        },
        onClose: () => {
          if (!settled) void write(build(ctx, startedAt, 'cancelled', undefined, undefined));
        },
      });
    },
  });
}

function describeError(error: unknown): AuditRecord['error'] {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const e = error as { name?: unknown; message?: unknown };
    return { name: typeof e.name === 'string' ? e.name : 'Error', message: String(e.message) };
  }
  return { name: typeof error, message: String(error) };
}

/** The part of a Node `Writable` that `jsonLinesSink()` uses. */
export interface WritableLike {
  write(chunk: string, callback: (error?: Error | null) => void): boolean;
}

/**
 * A sink writing each record as one line of JSON (NDJSON) to a stream such as a file stream or
 * `process.stdout`. Each write is awaited until the stream accepted it, so records keep their
 * order. Write failures reach `auditLog`'s `onError`; the stream's own `'error'` event stays its
 * owner's to handle.
 *
 * @example
 * auditLog({ sink: jsonLinesSink(process.stdout) });
 */
export function jsonLinesSink(stream: WritableLike): AuditSink {
  if (typeof stream?.write !== 'function') {
    throw new TypeError(
      `jsonLinesSink(): expected a writable stream (an object with write(chunk, callback)), got ${describeValue(stream)}.`,
    );
  }
  return (record) =>
    new Promise<void>((resolve, reject) => {
      // Serialise first: a record that cannot be encoded rejects without writing half a line.
      const line = `${JSON.stringify(record)}\n`;
      stream.write(line, (error) => (error ? reject(error) : resolve()));
    });
}
