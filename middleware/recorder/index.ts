import {
  type CallObserver,
  type Context,
  type DispatchEvent,
  type Message,
  type MessageFingerprint,
  type MiddlewareDefinition,
  type ModelResponse,
  RECORDING_FORMAT_VERSION,
  type ReadonlyModelRequest,
  type RecordingRecord,
  type RecordingSink,
  chainHash,
  defineMiddleware,
  hashValue,
  messageFingerprint,
  requestHashOf,
} from '../../lib/index.js';
import { checkBoolean, checkFunction, checkKeys, checkString, failOption } from '../../lib/kit.js';
import { diffRequest, diffResponse, messageShape, recordError } from './diff.js';

export { callbackSink, fileSink, memorySink } from './sinks.js';
export type { FileSink, FileSinkOptions, MemorySink, MemorySinkOptions } from './sinks.js';

export interface RecorderOptions {
  /** Where the records go: `memorySink()`, `fileSink(path)`, `callbackSink(fn)` or your own (a live viewer). */
  readonly sink: RecordingSink;
  /**
   * Record content: message text, tool input and results, responses. Off, a recording holds roles,
   * lengths, shapes, timings, usage and errors' names only. Replay needs it on.
   * @default false
   */
  readonly captureContent?: boolean | undefined;
  /** The clock, in milliseconds (monotonic). @default performance.now */
  readonly now?: (() => number) | undefined;
  /** Names the layer. @default 'recorder' */
  readonly name?: string | undefined;
}

/** Runs whose previous messages the recorder remembers, to write only what is new per turn. */
const MAX_TRACKED_RUNS = 1000;

interface Delta {
  /** The previous call's messages (call_start) of this run. */
  callMessages: readonly unknown[] | undefined;
  /** The previous dispatch's messages, their fingerprints and the chained hashes of their prefixes. */
  dispatchMessages: readonly unknown[] | undefined;
  fingerprints: MessageFingerprint[];
  hashes: string[];
}

/**
 * Records what happens inside it as NDJSON records (docs/recording.md): per call the onion
 * timeline of every layer inside it (entry and exit per attempt), what each layer changed as a
 * readable diff per message, models, retries and fallbacks with their errors, executor
 * dispatches, stream timing, usage, cost and errors naming the layer; and, mounted on a pipeline
 * that runs `runAgent`, runs, turns and tool calls. Mount it first (outermost) to see every layer.
 * Content is off by default, as in tracing.
 *
 * @example
 * const sink = fileSink('run.ndjson');
 * const app = pipeline(executor).use(recorder({ sink }), retry(), tokenBudget({ maxInputTokens: 8000 }));
 * await runAgent({ model: app, messages, tools });
 * await sink.close();
 */
export function recorder(options: RecorderOptions): MiddlewareDefinition {
  checkKeys('recorder()', options, ['sink', 'captureContent', 'now', 'name']);
  const { sink, captureContent = false, now = () => performance.now(), name = 'recorder' } = options ?? {};
  if (typeof sink !== 'object' || sink === null || typeof sink.write !== 'function') {
    failOption(
      'recorder()',
      'sink',
      'a sink with a write(record) method (memorySink(), fileSink(path), callbackSink(fn))',
      sink,
    );
  }
  checkBoolean('recorder()', 'captureContent', captureContent);
  checkFunction('recorder()', 'now', now, '() => number');
  checkString('recorder()', 'name', name);
  const content = captureContent;

  let t0: number | undefined;
  const deltas = new Map<string, Delta>();

  const elapsed = (at: number) => Math.max(0, Math.round((at - (t0 as number)) * 1000) / 1000);
  function emit(record: RecordingRecord): void {
    try {
      sink.write(record);
    } catch {
      // A sink must not break the call it records (RecordingSink says it must not throw).
    }
  }
  /** The current time since the start; writes the header first. */
  function clock(): number {
    const at = now();
    if (t0 === undefined) {
      t0 = at;
      emit({
        type: 'header',
        t: 0,
        format: 'modelware.recording',
        version: RECORDING_FORMAT_VERSION,
        startedAt: new Date().toISOString(),
        captureContent: content,
      });
    }
    return elapsed(at);
  }
  function delta(key: string, keep: boolean): Delta {
    let d = deltas.get(key);
    if (!d) {
      d = { callMessages: undefined, dispatchMessages: undefined, fingerprints: [], hashes: [''] };
      if (keep) {
        if (deltas.size >= MAX_TRACKED_RUNS) deltas.delete(deltas.keys().next().value as string);
        deltas.set(key, d);
      }
    }
    return d;
  }

  async function call(ctx: Context, next: () => Promise<void>): Promise<void> {
    const callId = ctx.id;
    const run = ctx.run;
    const key = run?.runId ?? callId;
    const d = delta(key, run !== undefined);
    const started = clock();
    const startedAt = now();
    const request = ctx.request;
    const from = commonPrefix(d.callMessages, request.messages);
    d.callMessages = request.messages;
    const fresh = request.messages.slice(from);
    emit({
      type: 'call_start',
      t: started,
      callId,
      ...(ctx.parentId === undefined ? {} : { parentId: ctx.parentId }),
      ...(run === undefined ? {} : { runId: run.runId, turn: run.turn }),
      mode: ctx.mode,
      model: request.model,
      messages: request.messages.length,
      from,
      shapes: fresh.map(messageShape),
      ...(content ? { content: fresh as unknown[] } : {}),
      tools: (request.tools ?? []).map((t) => t.name),
      options: Object.keys(request.options ?? {}),
    });

    let attempt = 1;
    let dispatches = 0;
    let inside = true;
    const enteredAt = new Map<number, number>();
    const pending = new Map<number, { request: ReadonlyModelRequest; at: number; attempt: number }>();

    const writeDispatch = (e: DispatchEvent, response: ModelResponse | undefined, error: unknown) => {
      const start = pending.get(e.dispatch);
      if (!start) return;
      pending.delete(e.dispatch);
      const req = start.request;
      const k = commonPrefix(d.dispatchMessages, req.messages);
      d.dispatchMessages = req.messages;
      d.fingerprints.length = k;
      d.hashes.length = k + 1;
      for (let i = k; i < req.messages.length; i++) {
        const fp = messageFingerprint(req.messages[i] as Message);
        d.fingerprints.push(fp);
        d.hashes.push(chainHash(d.hashes[i] as string, fp));
      }
      const optionsHash = hashValue(req.options ?? null);
      const toolsHash = hashValue(req.tools ?? null);
      emit({
        type: 'dispatch',
        t: elapsed(start.at),
        callId,
        attempt: start.attempt,
        model: e.model,
        durationMs: duration(start.at, now()),
        requestHash: requestHashOf(req.model, d.hashes[req.messages.length] as string, optionsHash, toolsHash),
        messages: req.messages.length,
        from: k,
        fingerprints: d.fingerprints.slice(k),
        optionsHash,
        toolsHash,
        ...(content && response !== undefined ? { response } : {}),
        ...(error === undefined ? {} : { error: recordError(error, content) }),
      });
    };

    const observer: CallObserver = {
      onLayer(e) {
        if (!inside) return;
        if (e.phase === 'enter') enteredAt.set(e.index, attempt);
        emit({
          type: 'layer',
          t: clock(),
          callId,
          attempt: enteredAt.get(e.index) ?? attempt,
          layer: e.layer,
          index: e.index,
          phase: e.phase,
          ...(e.error === undefined ? {} : { error: recordError(e.error, content) }),
        });
      },
      onUpdate(e) {
        if (!inside) return;
        const changes =
          e.target === 'request' ? diffRequest(e.before, e.after, content) : diffResponse(e.before, e.after, content);
        if (changes.length === 0) return;
        emit({ type: 'change', t: clock(), callId, attempt, layer: e.layer, target: e.target, changes });
      },
      onAttempt(e) {
        attempt++;
        emit({
          type: 'attempt',
          t: clock(),
          callId,
          layer: e.layer,
          attempt,
          ...(e.error === undefined ? {} : { error: recordError(e.error, content) }),
        });
      },
      onPlugin(e) {
        emit({
          type: 'plugin',
          t: clock(),
          callId,
          ...(run === undefined ? {} : { runId: run.runId }),
          plugin: e.plugin,
          hook: e.hook,
          decision: e.decision,
          ...(e.code === undefined ? {} : { code: e.code }),
        });
      },
      onDispatch(e) {
        if (e.phase === 'start') {
          dispatches++;
          clock();
          pending.set(e.dispatch, { request: e.request, at: now(), attempt });
        } else if (e.phase === 'end') {
          if (e.error !== undefined || ctx.mode === 'generate') writeDispatch(e, e.response, e.error);
        } else writeDispatch(e, e.response, e.error);
      },
    };
    const stop = ctx.observe(observer);

    const end = (response: ModelResponse | undefined, error: unknown, stream?: RecordingRecord) => {
      stop();
      if (stream) emit(stream);
      const usage = response?.usage;
      const cost = ctx.state.usage?.costUsd;
      emit({
        type: 'call_end',
        t: clock(),
        callId,
        durationMs: duration(startedAt, now()),
        requestedModel: ctx.model.requested,
        resolvedModel: ctx.model.resolved,
        ...(response?.model === undefined ? {} : { responseModel: response.model }),
        attempts: dispatches,
        ...(response === undefined
          ? {}
          : { finishReason: response.finishReason, shape: messageShape(response.message) }),
        ...(usage === undefined ? {} : { usage: { ...usage } }),
        ...(cost === undefined ? {} : { costUsd: cost }),
        ...(content && response !== undefined ? { response } : {}),
        ...(error === undefined ? {} : { error: recordError(error, content) }),
      });
    };

    try {
      await next();
    } catch (error) {
      inside = false;
      end(undefined, error ?? null);
      throw error;
    }
    inside = false;
    if (ctx.mode === 'generate' || ctx.stream === undefined) {
      end(ctx.response, undefined);
      return;
    }
    const back = now();
    let firstPartMs: number | undefined;
    let parts = 0;
    let finished = false;
    let failed: unknown;
    const streamRecord = (aborted: boolean): RecordingRecord => ({
      type: 'stream',
      t: elapsed(back),
      callId,
      ...(firstPartMs === undefined ? {} : { firstPartMs }),
      parts,
      durationMs: duration(back, now()),
      ...(aborted ? { aborted } : {}),
      ...(failed === undefined ? {} : { error: recordError(failed, content) }),
    });
    await ctx.tapStream({
      onPart() {
        if (parts++ === 0) firstPartMs = duration(back, now());
      },
      onFinish(response) {
        finished = true;
        end(response, undefined, streamRecord(false));
      },
      onError(error) {
        failed = error ?? null;
      },
      onClose() {
        if (!finished) end(undefined, failed, streamRecord(failed === undefined));
      },
    });
  }

  return defineMiddleware({
    name,
    call,
    async run(ctx, next) {
      const runId = ctx.run.runId;
      const startedAt = now();
      emit({ type: 'run_start', t: clock(), runId, messages: ctx.run.transcript.length });
      try {
        await next();
      } catch (error) {
        deltas.delete(runId);
        emit({
          type: 'run_end',
          t: clock(),
          runId,
          durationMs: duration(startedAt, now()),
          turns: ctx.run.turn,
          error: recordError(error, content),
        });
        throw error;
      }
      deltas.delete(runId);
      const result = ctx.result;
      const cost = ctx.run.state.usage?.costUsd;
      emit({
        type: 'run_end',
        t: clock(),
        runId,
        durationMs: duration(startedAt, now()),
        turns: result?.turns.length ?? ctx.run.turn,
        ...(result === undefined ? {} : { stopReason: result.stopReason, usage: { ...result.usage } }),
        ...(cost === undefined ? {} : { costUsd: cost }),
      });
    },
    async turn(ctx, next) {
      const runId = ctx.run.runId;
      const startedAt = now();
      emit({ type: 'turn_start', t: clock(), runId, turn: ctx.turn });
      try {
        await next();
      } catch (error) {
        emit({
          type: 'turn_end',
          t: clock(),
          runId,
          turn: ctx.turn,
          durationMs: duration(startedAt, now()),
          error: recordError(error, content),
        });
        throw error;
      }
      emit({ type: 'turn_end', t: clock(), runId, turn: ctx.turn, durationMs: duration(startedAt, now()) });
    },
    async tool(ctx, next) {
      const startedAt = now();
      const t = clock();
      const sent = ctx.call.input;
      let error: unknown;
      try {
        await next();
      } catch (thrown) {
        error = thrown ?? null;
        throw thrown;
      } finally {
        const result = ctx.result;
        emit({
          type: 'tool',
          t,
          runId: ctx.run.runId,
          turn: ctx.run.turn,
          toolCallId: ctx.toolCallId,
          tool: ctx.toolName,
          durationMs: duration(startedAt, now()),
          isError: error !== undefined || result?.isError === true,
          inputChanged: ctx.input !== sent,
          resultLength: result?.content.length ?? 0,
          ...(content ? { input: sent, ...(result === undefined ? {} : { result: result.content }) } : {}),
          ...(error === undefined ? {} : { error: recordError(error, content) }),
        });
      }
    },
  });
}

const duration = (from: number, to: number) => Math.max(0, Math.round((to - from) * 1000) / 1000);

/** How many leading messages two lists share by identity (0 when there is no previous list). */
function commonPrefix(previous: readonly unknown[] | undefined, current: readonly unknown[]): number {
  if (previous === undefined) return 0;
  const n = Math.min(previous.length, current.length);
  let i = 0;
  while (i < n && previous[i] === current[i]) i++;
  return i;
}
