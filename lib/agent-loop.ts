import type { Immutable } from 'immer';
import type { AgentEvent } from './agent-stream.js';
import type { RunState } from './context.js';
import { AgentError } from './errors.js';
import { type ExecuteOptions, type Executor, executorName } from './executor.js';
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
} from './messages.js';
import { type OnionLayer, runOnion } from './onion.js';
import {
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
import { ResponseAssembler, responseToParts } from './stream.js';
import type { AnyTool } from './tools.js';
import { type ToolRunSettings, runToolCalls } from './tool-runner.js';
import { validateResponse } from './validate.js';

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
  readonly runLayers: readonly OnionLayer<RunLayerContext>[];
  readonly turnLayers: readonly OnionLayer<TurnLayerContext>[];
  readonly toolSettings: ToolRunSettings;
  readonly stopWhen: readonly StopCondition[];
  readonly maxTurns: number;
  readonly onMaxTurns: 'throw' | 'stop';
  readonly validate: boolean;
  readonly runId: string;
}

/** @internal Receives `streamAgent` events; awaiting it is the stream's backpressure. */
export type Emit = (event: AgentEvent) => void | Promise<void>;

const NO_RESULTS: readonly ToolMessage[] = Object.freeze([]);

/**
 * @internal The loop behind `runAgent` and `streamAgent`. With `emit` it streams each model call
 * and reports events; without it, it calls `generate` and builds no event at all.
 */
export async function driveRun(p: Prepared, signal: AbortSignal, emit: Emit | undefined): Promise<AgentResult> {
  const core = new RunCore(p.runId, p.messages, p.state, p.metadata, signal, p.validate);
  const turns: TurnRecord[] = [];
  const usage: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

  const loop = async (): Promise<void> => {
    let stopReason: StopReason | undefined;
    while (stopReason === undefined) {
      signal.throwIfAborted();
      const turn = ++core.turn;
      const slot: TurnSlot = { record: undefined };
      const body = () => runTurn(p, core, turn, slot, usage, emit);
      if (p.turnLayers.length === 0) await body();
      else {
        const view = (layer: string) => new TurnLayerView(core, turn, slot, layer);
        await runOnion(p.turnLayers, view, body, { kind: 'turn', requireNext: true });
      }
      const record = slot.record as TurnRecord;
      turns.push(record);
      if (record.toolCalls.length === 0) stopReason = 'no-tool-calls';
      else if (p.stopWhen.length > 0 && (await shouldStop(p.stopWhen, stopState(core, turns, record)))) {
        stopReason = 'stop-when';
      } else if (turns.length >= p.maxTurns) {
        if (p.onMaxTurns === 'throw') throw maxTurnsError(p, core, turns.length, usage);
        stopReason = 'max-turns';
      }
    }
    const response = (turns.at(-1) as TurnRecord).response;
    core.result = {
      runId: core.runId,
      transcript: core.transcript,
      response,
      text: textOf(response.message),
      turns,
      usage,
      stopReason,
      state: core.state,
    };
  };

  try {
    if (p.runLayers.length === 0) await loop();
    else
      await runOnion(p.runLayers, (layer) => new RunLayerView(core, layer), loop, { kind: 'run', requireNext: true });
  } catch (error) {
    if (signal.aborted && !AgentError.isInstance(error)) throw abortedError(core, turns.length, usage, signal.reason);
    throw error;
  }
  const result = core.result as unknown as AgentResult;
  // A run layer may have edited the transcript after the loop (run_end): return what persists.
  return result.transcript === core.transcript ? result : { ...result, transcript: core.transcript };
}

async function runTurn(
  p: Prepared,
  core: RunCore,
  turn: number,
  slot: TurnSlot,
  usage: Usage,
  emit: Emit | undefined,
): Promise<void> {
  if (emit) await emit({ type: 'turn-start', turn });
  const request: ModelRequest = { model: p.modelId, messages: core.transcript as Message[] };
  if (p.specs) request.tools = p.specs as ToolSpec[];
  if (p.callOptions) request.options = p.callOptions;
  if (p.requestMetadata) request.metadata = p.requestMetadata;
  const options: ExecuteOptions = { signal: core.signal, run: core.view(executorName(p.executor)) };
  const response = emit
    ? await streamCall(p.executor, request, options, turn, emit)
    : await p.executor.generate(request, options);
  if (p.validate) validateResponse(response, executorName(p.executor));
  addUsage(usage, response.usage);
  const { message } = response;
  core.append([message]);
  const calls = toolCallsOf(message) as readonly Immutable<ToolCallPart>[];
  let results = NO_RESULTS as ToolMessage[];
  if (calls.length > 0) {
    core.pending = message;
    const onResult = emit && ((result: ToolMessage) => emit({ type: 'tool-result', turn, result }));
    results = await runToolCalls(calls, core, p.toolSettings, onResult);
    // A tool that ignored the signal still ends the turn as cancelled.
    core.signal.throwIfAborted();
    core.append(results);
    core.pending = undefined;
  }
  const record: TurnRecord = Object.freeze({ turn, response, toolCalls: calls, toolResults: results });
  slot.record = record;
  if (emit) await emit({ type: 'turn-end', turn, record });
}

/** One model call in stream mode: relays deltas and tool calls as events and assembles the response. */
async function streamCall(
  executor: Executor,
  request: ModelRequest,
  options: ExecuteOptions,
  turn: number,
  emit: Emit,
): Promise<ModelResponse> {
  if (!executor.stream) {
    const response = await executor.generate(request, options);
    for (const part of responseToParts(response)) await relay(part, turn, emit);
    return response;
  }
  const assembler = new ResponseAssembler();
  for await (const part of executor.stream(request, options)) {
    assembler.add(part);
    await relay(part, turn, emit);
  }
  return assembler.response();
}

async function relay(part: StreamPart, turn: number, emit: Emit): Promise<void> {
  if (part.type === 'text-delta') await emit({ type: 'text-delta', turn, text: part.text });
  else if (part.type === 'reasoning-delta') await emit({ type: 'reasoning-delta', turn, text: part.text });
  else if (part.type === 'tool-call') {
    const { toolCallId, toolName, input } = part;
    await emit({ type: 'tool-call', turn, toolCall: { type: 'tool-call', toolCallId, toolName, input } });
  }
}

function addUsage(sum: Usage, usage: Usage | undefined): void {
  if (!usage) return;
  sum.inputTokens += usage.inputTokens;
  sum.outputTokens += usage.outputTokens;
  sum.totalTokens = (sum.totalTokens ?? 0) + (usage.totalTokens ?? usage.inputTokens + usage.outputTokens);
  if (usage.cachedInputTokens !== undefined)
    sum.cachedInputTokens = (sum.cachedInputTokens ?? 0) + usage.cachedInputTokens;
  if (usage.reasoningTokens !== undefined) sum.reasoningTokens = (sum.reasoningTokens ?? 0) + usage.reasoningTokens;
}

function stopState(core: RunCore, turns: readonly TurnRecord[], record: TurnRecord) {
  return { turns, transcript: core.transcript, response: record.response, run: core.view('stopWhen') };
}

function maxTurnsError(p: Prepared, core: RunCore, turns: number, usage: Usage): AgentError {
  return new AgentError({
    reason: 'max-turns',
    message: `runAgent: reached \`maxTurns\` (${p.maxTurns}) and the model still calls tools. Raise \`maxTurns\`, end the run with \`stopWhen\` (e.g. stepCountIs(n)), or pass onMaxTurns: 'stop' to resolve with stop reason 'max-turns'. The error's \`transcript\` holds the run so far.`,
    runId: core.runId,
    transcript: core.transcript as readonly Message[],
    turns,
    usage,
  });
}

function abortedError(core: RunCore, turns: number, usage: Usage, reason: unknown): AgentError {
  let transcript = core.transcript as readonly Message[];
  // A turn whose tools were cut off is left out whole, so no tool call is left unanswered.
  const at = core.pending ? transcript.lastIndexOf(core.pending as Message) : -1;
  if (at >= 0) transcript = [...transcript.slice(0, at), ...transcript.slice(at + 1)];
  const why = reason instanceof Error ? reason.message : String(reason);
  return new AgentError({
    reason: 'aborted',
    message: `runAgent: the run was aborted during turn ${core.turn} (${why}). The error's \`transcript\` holds the run up to the last completed step.`,
    runId: core.runId,
    transcript,
    turns,
    usage,
    cause: reason,
  });
}
