import type { Immutable } from 'immer';
import type { RunState } from '../core/context.js';
import { AgentError, InvalidResponseError, MiddlewareError, SnapshotError } from '../core/errors.js';
import { type ExecuteOptions, type Executor, executorName } from '../core/executor.js';
import {
  type CallOptions,
  type Message,
  type ModelRequest,
  type ModelResponse,
  type StreamPart,
  type ToolCallPart,
  type ToolMessage,
  type ToolSpec,
  type Usage,
  textOf,
  toolCallsOf,
} from '../core/messages.js';
import { type ViewLayer, buildStack, viewHandler } from '../core/engine.js';
import {
  type AgentEvent,
  type AgentResult,
  RunCore,
  type RunLayerContext,
  RunLayerView,
  type StopReason,
  type TurnLayerContext,
  TurnLayerView,
  type TurnRecord,
  type TurnSlot,
} from './run-context.js';
import { type StopCondition, shouldStop } from './stop.js';
import { ResponseAssembler, responseToParts } from '../core/stream.js';
import type { AnyTool } from './tools.js';
import { type ToolRunSettings, runToolCalls } from './tool-runner.js';
import { validateResponse } from '../core/validate.js';
import { type CheckpointSettings, Checkpointer, addUsage } from './checkpoint.js';
import { toolMessage } from './tool-context.js';
import { abortable } from '../internal/signals.js';
import type { ResumedTurn } from './resume.js';
import {
  type PendingTurn,
  type RunSnapshot,
  type RunSnapshotStatus,
  buildSnapshot,
  persistedState,
} from './snapshot.js';

/** @internal The options of a run, checked and normalised once (see `prepareRun`). */
export interface Prepared {
  readonly executor: Executor;
  readonly modelId: string;
  readonly messages: readonly Message[];
  readonly tools: ReadonlyMap<string, AnyTool>;
  readonly specs: readonly ToolSpec[] | undefined;
  readonly callOptions: CallOptions | undefined;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** `metadata` as sent in every request; `undefined` when the run has none. */
  readonly requestMetadata: Record<string, unknown> | undefined;
  readonly state: RunState;
  readonly runLayers: readonly ViewLayer<RunLayerContext>[];
  readonly turnLayers: readonly ViewLayer<TurnLayerContext>[];
  readonly toolSettings: ToolRunSettings;
  readonly stopWhen: readonly StopCondition[];
  readonly maxTurns: number;
  readonly onMaxTurns: 'throw' | 'stop';
  /** The deepest nesting of objects and arrays a tool call's arguments may have. */
  readonly maxToolInputDepth: number;
  readonly validate: boolean;
  readonly runId: string;
  /** The run state keys a snapshot keeps. */
  readonly persistState: readonly string[];
  /** Set when the run resumes a snapshot. */
  readonly resumed: { readonly snapshot: RunSnapshot; readonly turn: ResumedTurn | undefined } | undefined;
  /** Where the run is saved after every step, if anywhere. */
  readonly checkpoint: CheckpointSettings | undefined;
  /** The checkpoint log this run continues (resumed by run id), with what is already in it. */
  readonly logged: LoggedRun | undefined;
}

/** @internal What a run's log already holds when the run resumes from it. */
export interface LoggedRun {
  /** The last turn whose answer is in the log. */
  readonly turn: number;
  /** Tool calls of that turn with a result in the log. */
  readonly results: ReadonlySet<string>;
  /** Tool calls of that turn whose decision is not to be logged: replayed from the log, or the checkpoint's own. */
  readonly decided: ReadonlySet<string>;
}

/** @internal Receives `streamAgent` events; awaiting it is the stream's backpressure. */
export type Emit = (event: AgentEvent) => void | Promise<void>;

const NO_RESULTS: readonly ToolMessage[] = Object.freeze([]);

/** The state a turn stack runs over. */
interface TurnStep {
  readonly turn: number;
  readonly slot: TurnSlot;
}

/**
 * @internal The loop behind `runAgent` and `streamAgent`. With `emit` it streams each model call
 * and reports events; without it, it calls `generate` and builds no event at all.
 */
export async function driveRun(p: Prepared, signal: AbortSignal, emit: Emit | undefined): Promise<AgentResult> {
  const core = new RunCore(p.runId, p.messages, p.state, p.metadata, signal, p.validate);
  const turns: TurnRecord[] = [];
  const usage: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  let resumeTurn: ResumedTurn | undefined;
  if (p.resumed) {
    const { snapshot } = p.resumed;
    resumeTurn = p.resumed.turn;
    core.resumed = true;
    // The pending turn keeps its number: the loop counts it again when it finishes it.
    core.turn = snapshot.turn - (resumeTurn ? 1 : 0);
    addUsage(usage, snapshot.usage);
  }
  const held: { turn: PendingTurn | undefined } = { turn: undefined };
  // Turns completed before this process took the run over (a resumed run counts them on).
  const before = core.turn;
  // Taken before anything runs: a second worker on the same run gets the store's RunLeaseError as is.
  const checkpoint = p.checkpoint && (await openCheckpoint(p, p.checkpoint, signal));

  const turnStack =
    p.turnLayers.length === 0
      ? undefined
      : buildStack(p.turnLayers, (t: TurnStep) => runTurn(p, core, t.turn, t.slot, usage, emit, held, checkpoint), {
          handler: (layer) =>
            viewHandler(
              layer.fn,
              layer.name,
              (t: TurnStep, name) => new TurnLayerView(core, t.turn, t.slot, name),
              'turn',
              // A layer that paused the run skips the turn.
              () => core.interruptions.length === 0,
            ),
        });

  /** Builds the result (and, when interrupted, the snapshot). */
  const settle = async (stopReason: StopReason): Promise<void> => {
    const response = turns.at(-1)?.response ?? held.turn?.response ?? NO_RESPONSE;
    let snapshot: RunSnapshot | undefined;
    let transcript = core.transcript;
    if (stopReason === 'interrupted') {
      snapshot = snapshotOfRun(p, core, usage, held.turn, 'interrupted');
      // Without the pending turn: valid to send as it is.
      transcript = snapshot.transcript as Immutable<Message[]>;
      if (emit) {
        for (const interruption of snapshot.interruptions)
          await emit({ type: 'interrupt', turn: core.turn, interruption });
      }
    }
    if (checkpoint) {
      if (snapshot) await checkpoint.interrupted({ interruptions: snapshot.interruptions, state: snapshot.state });
      else await checkpoint.finished(stopReason);
    }
    core.result = {
      runId: core.runId,
      transcript,
      response,
      text: textOf(response.message),
      turns,
      usage,
      stopReason,
      state: core.state,
      interruptions: snapshot?.interruptions ?? [],
      snapshot,
    };
  };

  const loop = async (): Promise<void> => {
    let stopReason: StopReason | undefined;
    // A run layer may have paused the run before its first turn.
    if (core.interruptions.length > 0) stopReason = 'interrupted';
    while (stopReason === undefined) {
      signal.throwIfAborted();
      const turn = ++core.turn;
      const slot: TurnSlot = { record: undefined, resume: resumeTurn };
      resumeTurn = undefined;
      if (turnStack === undefined) await runTurn(p, core, turn, slot, usage, emit, held, checkpoint);
      else await turnStack({ turn, slot });
      const record = slot.record;
      if (record === undefined) {
        if (core.interruptions.length === 0) throw noTurn(turn, p.turnLayers);
        // Paused before the turn ran: it did not happen.
        if (held.turn === undefined) core.turn--;
        stopReason = 'interrupted';
        break;
      }
      turns.push(record);
      if (core.interruptions.length > 0) stopReason = 'interrupted';
      else if (record.toolCalls.length === 0) stopReason = 'no-tool-calls';
      else if (p.stopWhen.length > 0 && (await shouldStop(p.stopWhen, stopState(core, turns, record)))) {
        stopReason = 'stop-when';
      } else if (core.turn >= p.maxTurns) {
        if (p.onMaxTurns === 'throw') throw maxTurnsError(p, core, before + turns.length, usage);
        stopReason = 'max-turns';
      }
    }
    await settle(stopReason);
  };

  try {
    if (p.runLayers.length === 0) await loop();
    else {
      const runStack = buildStack(p.runLayers, loop, {
        handler: (layer) =>
          viewHandler(
            layer.fn,
            layer.name,
            (c: RunCore, name) => new RunLayerView(c, name),
            'run',
            () => core.interruptions.length === 0,
          ),
      });
      await runStack(core);
      // A run layer paused the run before the loop started.
      if (core.result === undefined && core.interruptions.length > 0) await settle('interrupted');
    }
  } catch (error) {
    throw runFailure(core, before + turns.length, usage, signal, error);
  } finally {
    await checkpoint?.close();
  }
  const result = core.result as unknown as AgentResult;
  // A run layer may have edited the transcript after the loop (run_end): return what persists.
  // (An interrupted run's is its snapshot's, without the pending turn.)
  return result.transcript === core.transcript || result.snapshot ? result : { ...result, transcript: core.transcript };
}

async function runTurn(
  p: Prepared,
  core: RunCore,
  turn: number,
  slot: TurnSlot,
  usage: Usage,
  emit: Emit | undefined,
  held: { turn: PendingTurn | undefined },
  checkpoint: Checkpointer | undefined,
): Promise<void> {
  if (emit) await emit({ type: 'turn-start', turn });
  if (slot.resume) return finishTurn(p, core, turn, slot, emit, held, slot.resume, checkpoint);
  const request: ModelRequest = { model: p.modelId, messages: core.transcript as Message[] };
  if (p.specs) request.tools = p.specs as ToolSpec[];
  if (p.callOptions) request.options = p.callOptions;
  if (p.requestMetadata) request.metadata = p.requestMetadata;
  const options: ExecuteOptions = { signal: core.signal, run: core.view(executorName(p.executor)) };
  core.step = 'model-call';
  // Raced with the signal: an executor that ignores it cannot keep an aborted run from settling.
  let response = emit
    ? await streamModelCall(p.executor, request, options, turn, emit, p.validate)
    : await abortable(p.executor.generate(request, options), core.signal);
  core.step = 'response';
  if (p.validate) validateResponse(response, executorName(p.executor));
  response = checkToolCalls(response, core, p.maxToolInputDepth, executorName(p.executor));
  addUsage(usage, response.usage);
  const { message } = response;
  const calls = toolCallsOf(message) as readonly Immutable<ToolCallPart>[];
  if (emit) for (const toolCall of calls) await emit({ type: 'tool-call', turn, toolCall: toolCall as ToolCallPart });
  // The calls that start at once are saved with the answer; later ones (past the concurrency) as they start.
  const startNow = checkpoint ? Math.min(calls.length, p.toolSettings.concurrency, p.toolSettings.maxCallsPerTurn) : 0;
  if (checkpoint) {
    const state =
      p.persistState.length > 0 ? persistedState(core.state, p.persistState, 'checkpoint the run') : undefined;
    const saved = checkpoint.response(core, response, turn, startNow, state);
    if (saved) await saved;
  }
  core.append([message]);
  core.step = undefined;
  let results = NO_RESULTS as ToolMessage[];
  if (calls.length > 0) {
    core.pending = message;
    core.step = 'tool-calls';
    const onResult = saving(checkpoint, emit && ((result: ToolMessage) => emit({ type: 'tool-result', turn, result })));
    const onStart =
      checkpoint && calls.length > startNow
        ? (call: Immutable<ToolCallPart>) => (calls.indexOf(call) < startNow ? undefined : checkpoint.toolStarted(call))
        : undefined;
    const out = await runToolCalls(calls, core, p.toolSettings, onResult, undefined, onStart);
    // A tool that ignored the signal still ends the turn as cancelled.
    core.signal.throwIfAborted();
    if (holdTurn(core, response, out, held)) return;
    results = out as ToolMessage[];
    core.append(results);
    core.pending = undefined;
    core.step = undefined;
  }
  const record: TurnRecord = Object.freeze({ turn, response, toolCalls: calls, toolResults: results });
  slot.record = record;
  if (emit) await emit({ type: 'turn-end', turn, record });
}

/**
 * When some calls of the turn wait for a decision: nothing more is appended (the model sees no
 * result before every call has one); the response and the results produced are kept for the snapshot.
 */
function holdTurn(
  core: RunCore,
  response: ModelResponse,
  out: readonly (ToolMessage | undefined)[],
  held: { turn: PendingTurn | undefined },
): boolean {
  if (!out.includes(undefined)) return false;
  held.turn = { response, results: out.filter((m): m is ToolMessage => m !== undefined) };
  core.step = undefined;
  return true;
}

/**
 * Finishes the pending turn of a snapshot with its decisions: the approved calls run through the
 * tool stack, the others are answered by their decision, and every result is appended in call order.
 */
async function finishTurn(
  p: Prepared,
  core: RunCore,
  turn: number,
  slot: TurnSlot,
  emit: Emit | undefined,
  held: { turn: PendingTurn | undefined },
  resume: ResumedTurn,
  checkpoint: Checkpointer | undefined,
): Promise<void> {
  const { response } = resume;
  const { message } = response;
  const onResult = saving(checkpoint, emit && ((result: ToolMessage) => emit({ type: 'tool-result', turn, result })));
  const approved = resume.calls.flatMap((c) => (c.kind === 'run' ? [c.call] : []));
  // As in a turn: the calls that start at once are marked with the write, later ones as they start.
  const startNow = checkpoint
    ? Math.min(approved.length, p.toolSettings.concurrency, p.toolSettings.maxCallsPerTurn)
    : 0;
  if (checkpoint) {
    // Only what the log lacks: a run resumed from its own log has the answer and some results already.
    const inLog = p.logged?.turn === turn ? p.logged : undefined;
    const logged = inLog?.results;
    await checkpoint.resumedTurn(
      logged ? undefined : response,
      turn,
      // The decisions given now: not those replayed from the log, nor a checkpoint's own.
      resume.calls.flatMap((c) =>
        c.kind !== 'result' && c.decision && !inLog?.decided.has(c.call.toolCallId)
          ? [{ toolCallId: c.call.toolCallId, decision: c.decision }]
          : [],
      ),
      approved.slice(0, startNow),
      resume.calls.flatMap((c) => (c.kind === 'result' && !logged?.has(c.call.toolCallId) ? [c.message] : [])),
    );
  }
  core.append([message]);
  core.pending = message;
  core.step = 'tool-calls';
  const approvedIds = new Set(resume.calls.flatMap((c) => (c.kind === 'run' && c.approved ? [c.call.toolCallId] : [])));
  if (emit)
    for (const toolCall of approved) await emit({ type: 'tool-call', turn, toolCall: toolCall as ToolCallPart });
  const onStart =
    checkpoint && approved.length > startNow
      ? (call: Immutable<ToolCallPart>) =>
          approved.indexOf(call) < startNow ? undefined : checkpoint.toolStarted(call)
      : undefined;
  const ran = await runToolCalls(approved, core, p.toolSettings, onResult, approvedIds, onStart);
  core.signal.throwIfAborted();
  let next = 0;
  const out: (ToolMessage | undefined)[] = [];
  for (const c of resume.calls) {
    if (c.kind === 'result') out.push(c.message);
    else if (c.kind === 'run') out.push(ran[next++]);
    else {
      const answer = Object.freeze(toolMessage(c.call, { content: c.content, isError: c.isError }));
      if (onResult) await onResult(answer);
      out.push(answer);
    }
  }
  if (holdTurn(core, response, out, held)) return;
  const results = out as ToolMessage[];
  core.append(results);
  core.pending = undefined;
  core.step = undefined;
  const calls = toolCallsOf(message) as readonly Immutable<ToolCallPart>[];
  const record: TurnRecord = Object.freeze({ turn, response, toolCalls: calls, toolResults: results });
  slot.record = record;
  if (emit) await emit({ type: 'turn-end', turn, record });
}

/**
 * @internal The seam for run stores: the snapshot of a run between steps. With `pending`, the
 * assistant message of that turn is left out of the transcript and kept apart with its results.
 *
 * @throws SnapshotError when a persisted value is not plain JSON data.
 */
export function snapshotOfRun(
  p: Prepared,
  core: RunCore,
  usage: Usage,
  pending: PendingTurn | undefined,
  status: RunSnapshotStatus,
): RunSnapshot {
  return buildSnapshot({
    runId: core.runId,
    status,
    modelId: p.modelId,
    turn: core.turn,
    usage: { ...usage },
    transcript: (pending ? completedTranscript(core) : core.transcript) as readonly Message[],
    pending: pending ?? null,
    interruptions: core.interruptions,
    state: core.state,
    persistState: p.persistState,
    metadata: p.metadata,
  });
}

/** Saves each tool result to the checkpoint (before the stream hears of it). */
function saving(
  checkpoint: Checkpointer | undefined,
  report: ((result: ToolMessage) => void | Promise<void>) | undefined,
): ((result: ToolMessage) => void | Promise<void>) | undefined {
  if (!checkpoint) return report;
  if (!report) return (result) => checkpoint.toolResult(result);
  return async (result) => {
    const saved = checkpoint.toolResult(result);
    if (saved) await saved;
    await report(result);
  };
}

/**
 * Takes the run's lease and writes the first entry of a new run's log. A new run never writes over
 * an existing log (another run with this id, or this one, to be resumed by its id); a run resumed
 * from a snapshot into a store without its log starts one from the snapshot.
 */
async function openCheckpoint(p: Prepared, settings: CheckpointSettings, signal: AbortSignal): Promise<Checkpointer> {
  const checkpoint = new Checkpointer(settings, p.runId, signal);
  await checkpoint.open();
  try {
    if (p.logged) return checkpoint;
    const { length } = await settings.store.read(p.runId, { from: Number.MAX_SAFE_INTEGER, signal });
    if (length > 0) {
      throw new TypeError(
        `runAgent: run \`${p.runId}\` already has a checkpoint in \`${settings.store.name}\` (${length} entries). Resume it with resume: { runId }, or pick another \`checkpoint.runId\`.`,
      );
    }
    const snapshot = p.resumed?.snapshot;
    const pendingTurn = p.resumed?.turn !== undefined;
    await checkpoint.start(snapshot ? snapshot.transcript : p.messages, {
      runId: p.runId,
      modelId: p.modelId,
      // A snapshot's pending turn is written again as the resume finishes it (its usage is counted here).
      turn: snapshot ? snapshot.turn - (pendingTurn ? 1 : 0) : 0,
      usage: snapshot ? snapshot.usage : { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      metadata: p.metadata,
    });
  } catch (error) {
    await checkpoint.close();
    throw error;
  }
  return checkpoint;
}

const NO_RESPONSE: ModelResponse = Object.freeze({
  message: Object.freeze({ role: 'assistant', content: '' }),
  finishReason: 'other',
}) as ModelResponse;

function noTurn(turn: number, layers: readonly ViewLayer<TurnLayerContext>[]): MiddlewareError {
  const names = layers.map((l) => l.name).join(' → ');
  return new MiddlewareError(
    layers.at(-1)?.name ?? 'turn',
    `Turn ${turn} did not run: a turn layer returned without calling \`await next()\` (turn layers: ${names}). Call next(), or ctx.interrupt(payload) to pause the run.`,
  );
}

/**
 * Before any tool runs: gives every tool call an id unique in the run, and refuses arguments
 * nested deeper than `maxToolInputDepth`. A call whose id the run already used (an earlier turn's,
 * or an earlier call's in this response) gets `<id>_<n>`, the first such id still free, in the
 * message appended to the transcript, and runs like any other call; so every call is answered
 * exactly once and the transcript stays valid to send again. The response is copied, never changed.
 */
function checkToolCalls(response: ModelResponse, core: RunCore, maxDepth: number, source: string): ModelResponse {
  const { content } = response.message;
  if (typeof content === 'string') return response;
  let renamed: (typeof content)[number][] | undefined;
  let used: Set<string> | undefined;
  for (let i = 0; i < content.length; i++) {
    const part = content[i] as (typeof content)[number];
    if (part.type !== 'tool-call') continue;
    if (nestedDeeperThan(part.input, maxDepth)) throw tooDeep(i, maxDepth, source);
    used ??= core.callIds;
    let id = part.toolCallId;
    if (used.has(id)) {
      let n = 2;
      while (used.has(`${part.toolCallId}_${n}`)) n++;
      id = `${part.toolCallId}_${n}`;
      (renamed ??= content.slice())[i] = { ...part, toolCallId: id };
    }
    used.add(id);
  }
  return renamed ? { ...response, message: { ...response.message, content: renamed } } : response;
}

/** Whether objects and arrays nest deeper than `max` (the value itself is level 1); no recursion. */
function nestedDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [object, number];
    if (depth > max) return true;
    for (const key in node) {
      if (!Object.hasOwn(node, key)) continue;
      const child = (node as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

function tooDeep(index: number, max: number, source: string): InvalidResponseError {
  const path = ['message', 'content', index, 'input'];
  const why = `arguments nested deeper than ${max} levels`;
  return new InvalidResponseError({
    source,
    path,
    issues: [{ code: 'custom', path, message: why, input: undefined }] as never,
    // The call's id and name come from the model: they stay in `path` and the response, not here.
    message: `\`${source}\` returned a tool call (message.content[${index}]) with ${why} (\`maxToolInputDepth\`). No tool ran; raise \`maxToolInputDepth\` if the tool really takes such input.`,
  });
}

/**
 * One model call in stream mode: relays deltas as events and assembles the response. Each wait
 * for the next part is raced with the signal, so an executor that ignores it cannot hold an
 * aborted run; its stream is then closed without waiting.
 */
async function streamModelCall(
  executor: Executor,
  request: ModelRequest,
  options: ExecuteOptions,
  turn: number,
  emit: Emit,
  validate: boolean,
): Promise<ModelResponse> {
  const signal = options.signal as AbortSignal;
  if (!executor.stream) {
    const response = await abortable(executor.generate(request, options), signal);
    // Checked before it is cut into parts: an invalid response fails as one, as in generate mode.
    if (validate) validateResponse(response, executorName(executor));
    for (const part of responseToParts(response)) await relay(part, turn, emit);
    return response;
  }
  const assembler = new ResponseAssembler();
  const parts = executor.stream(request, options)[Symbol.asyncIterator]();
  let open = true;
  try {
    for (;;) {
      const next = parts.next();
      let step: IteratorResult<StreamPart>;
      try {
        step = await abortable(next, signal);
      } catch (error) {
        // The stream itself failed: it is over. Abandoned on abort: close it.
        open = signal.aborted;
        throw error;
      }
      if (step.done) {
        open = false;
        break;
      }
      assembler.add(step.value);
      await relay(step.value, turn, emit);
    }
  } finally {
    if (open) {
      try {
        parts.return?.()?.catch(() => {});
      } catch {}
    }
  }
  return assembler.response();
}

/** Deltas only: tool calls are reported once the response is complete and their ids are final. */
async function relay(part: StreamPart, turn: number, emit: Emit): Promise<void> {
  if (part.type === 'text-delta') await emit({ type: 'text-delta', turn, text: part.text });
  else if (part.type === 'reasoning-delta') await emit({ type: 'reasoning-delta', turn, text: part.text });
}

function stopState(core: RunCore, turns: readonly TurnRecord[], record: TurnRecord) {
  return { turns, transcript: core.transcript, response: record.response, run: core.view('stopWhen') };
}

function maxTurnsError(p: Prepared, core: RunCore, turnCount: number, usage: Usage): AgentError {
  return new AgentError({
    reason: 'max-turns',
    message: `runAgent: reached \`maxTurns\` (${p.maxTurns}) and the model still calls tools. Raise \`maxTurns\`, end the run with \`stopWhen\` (e.g. stepCountIs(n)), or pass onMaxTurns: 'stop' to resolve with stop reason 'max-turns'. The error's \`transcript\` holds the run so far.`,
    runId: core.runId,
    transcript: core.transcript as readonly Message[],
    turnCount,
    usage,
  });
}

/** The transcript up to the last completed step: a turn whose tools did not all finish is left out whole. */
function completedTranscript(core: RunCore): readonly Message[] {
  const transcript = core.transcript as readonly Message[];
  const at = core.pending ? transcript.lastIndexOf(core.pending as Message) : -1;
  return at >= 0 ? [...transcript.slice(0, at), ...transcript.slice(at + 1)] : transcript;
}

/**
 * Whatever ended the run, the caller gets an `AgentError` carrying the transcript: this run's own
 * `AgentError` as it is, an abort as reason `aborted`, anything else with the step that failed as
 * reason and the error as `cause`. Messages name the error's class, never its message (which may
 * hold a provider's body or a tool's output).
 */
function runFailure(core: RunCore, turnCount: number, usage: Usage, signal: AbortSignal, error: unknown): AgentError {
  if (AgentError.isInstance(error) && error.runId === core.runId) return error;
  const transcript = completedTranscript(core);
  const base = { runId: core.runId, transcript, turnCount, usage };
  if (SnapshotError.isInstance(error)) {
    return new AgentError({ ...base, reason: 'failed', message: error.message, cause: error });
  }
  const tail = "The error's `cause` holds what was thrown and `transcript` the run up to the last completed step.";
  if (signal.aborted) {
    const reason = signal.reason;
    const why = reason instanceof Error ? reason.message : String(reason);
    return new AgentError({
      ...base,
      reason: 'aborted',
      message: `runAgent: the run was aborted during turn ${core.turn} (${why}). The error's \`transcript\` holds the run up to the last completed step.`,
      cause: reason,
    });
  }
  const kind = errorKind(error);
  const step = core.step;
  if (step === 'response' || (step === 'model-call' && InvalidResponseError.isInstance(error))) {
    return new AgentError({
      ...base,
      reason: 'invalid-response',
      message: `runAgent: the model's response in turn ${core.turn} was refused (${kind}). ${tail}`,
      cause: error,
    });
  }
  if (step === 'model-call') {
    return new AgentError({
      ...base,
      reason: 'model-call-failed',
      message: `runAgent: the model call of turn ${core.turn} failed (${kind}). ${tail}`,
      cause: error,
    });
  }
  if (step === 'tool-calls') {
    return new AgentError({
      ...base,
      reason: 'tool-call-failed',
      message: `runAgent: a tool call of turn ${core.turn} failed the run (${kind}); no result of that turn was kept. ${tail}`,
      cause: error,
    });
  }
  return new AgentError({
    ...base,
    reason: 'failed',
    message: `runAgent: the run failed in turn ${core.turn} (${kind}, from a run or turn layer, a stop condition or a transcript edit). ${tail}`,
    cause: error,
  });
}

function errorKind(error: unknown): string {
  if (error instanceof Error) {
    const layer = (error as { layer?: unknown }).layer;
    return typeof layer === 'string' ? `${error.name} in \`${layer}\`` : error.name;
  }
  return `a thrown ${error === null ? 'null' : typeof error}`;
}
