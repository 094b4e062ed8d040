import type { Immutable } from 'immer';
import { type Layer, type Middleware, toLayers } from '../core/compose.js';
import type { RunState } from '../core/context.js';
import { newId } from '../core/call-core.js';
import { assertExecutor, type Executor, type ExecutorWithDefaultModel, executorName } from '../core/executor.js';
import type { CallOptions, Message } from '../core/messages.js';
import { checkKeys, describeValue, optionNames } from '../internal/options.js';
import { AgentError } from '../core/errors.js';
import { type Prepared, driveRun } from './loop.js';
import type { ViewLayer } from '../core/engine.js';
import { pipeline } from '../core/pipeline.js';
import type { AgentResult, RunLayerContext, TurnLayerContext } from './run-context.js';
import { type StopCondition, toStopConditions } from './stop.js';
import type { ToolContext } from './tool-context.js';
import { type AnyTool, MAX_TIMER_MS, isTimerMs } from './tools.js';
import { findRequestProblem, requestError } from '../core/validate.js';
import { type CheckpointOptions, checkCheckpointOptions } from './checkpoint.js';
import { type ResumeFromCheckpointOptions, isResumeById, resumeFromCheckpoint } from './checkpoint-resume.js';
import { runPlugins } from '../plugins/run-plugins.js';
import { type ResumeOptions, checkResume } from './resume.js';
import { loadRunSnapshot } from './snapshot.js';
import type { PluginLike } from '../plugins/plugins.js';

/**
 * Options of `runAgent` and `streamAgent`. `modelId` is required unless `model` names a default
 * model (`defaultModel`, e.g. `pipeline(openaiExecutor({ client, model: 'gpt-5-mini' }))`).
 */
export type RunAgentOptions = RunAgentCommonOptions &
  (
    | ({
        /** The conversation so far; the run's transcript starts as a copy of it. */
        readonly messages: Immutable<Message[]>;
        readonly resume?: undefined;
      } & (
        | {
            /** Any executor; usually a pipeline, whose call, tool, run and turn layers all apply. */
            readonly model: Executor;
            /** The model id every request of the run names (`request.model`), e.g. `'gpt-5-mini'`. */
            readonly modelId: string;
          }
        | {
            /** An executor built with a default model (`defaultModel`), used when `modelId` is left out. */
            readonly model: ExecutorWithDefaultModel;
            /** The model id every request of the run names (`request.model`). @default `model.defaultModel` */
            readonly modelId?: string | undefined;
          }
      ))
    | {
        /**
         * Continues an interrupted run from its snapshot, with one decision per waiting tool call:
         * same run id, turns numbered on, the transcript from the snapshot (so no `messages`).
         */
        readonly resume: ResumeOptions | ResumeFromCheckpointOptions;
        readonly messages?: undefined;
        /** Any executor; pass the same stack (and `tools`) as the interrupted run. */
        readonly model: Executor;
        /** @default the snapshot's `modelId` */
        readonly modelId?: string | undefined;
      }
  );

/** The options of a run besides `model` and `modelId`. */
export interface RunAgentCommonOptions {
  /** The tools the model may call (from `tool()`); names must be unique. */
  readonly tools?: readonly AnyTool[] | undefined;
  /** Sampling options sent with every model call (`request.options`). */
  readonly callOptions?: CallOptions | undefined;
  /** A safety limit on turns (model calls); a resumed run counts the turns before its snapshot too. @default 20 */
  readonly maxTurns?: number | undefined;
  /**
   * At `maxTurns` with tools still being called: `'throw'` an `AgentError` (reason `max-turns`,
   * carrying the transcript), or `'stop'` and resolve with stop reason `max-turns`.
   * @default 'throw'
   */
  readonly onMaxTurns?: 'throw' | 'stop' | undefined;
  /** Ends the run after a turn when any condition holds (besides the model calling no tool). */
  readonly stopWhen?: StopCondition | readonly StopCondition[] | undefined;
  /**
   * Cancels the in-flight model call and running tools; the run rejects with `AgentError` (reason
   * `aborted`) at once, even if the executor or a tool ignores the signal (its late result is discarded).
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Run-level state (`ctx.run.state`), typed through `RunState`. On resume, the snapshot's
   * persisted keys are laid over it.
   * @default {}
   */
  readonly state?: RunState | undefined;
  /**
   * The `RunState` keys an interrupted run's snapshot keeps (and a resumed run gets back). Their
   * values must be plain JSON data: anything else fails the run with a `SnapshotError` naming
   * the key. Other keys are not persisted.
   * @default [] (nothing)
   */
  readonly persistState?: readonly (keyof RunState & string)[] | undefined;
  /** Data about the run (tenant, user, tags): `ctx.run.metadata`, and `request.metadata` of every call. */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
  /**
   * Middleware for this run only, mounted outside the model's own stack at every level: call parts
   * wrap the model like an outer pipeline; tool, run and turn parts run before the model's own.
   */
  readonly middleware?: readonly Middleware[] | undefined;
  /**
   * Plugins for this run only (sugar for `middleware: [runPlugins(...plugins)]`): the model's
   * `plugins()` layer dispatches them beside its own, by priority, and no other run sees them.
   */
  readonly plugins?: readonly PluginLike[] | undefined;
  /** Tool calls of one turn that may run at the same time (a positive integer, or `Infinity`). @default 10 */
  readonly toolConcurrency?: number | undefined;
  /**
   * Tool calls of one turn that run at all. Each call past it does not run and is answered with an
   * error result (`isError: true`) the model reads, asking it to call fewer at a time.
   * @default 100
   */
  readonly maxToolCallsPerTurn?: number | undefined;
  /**
   * How long one tool `execute` may take, in ms, for tools that set no `timeoutMs` of their own.
   * Past it the tool's signal aborts, a late result is discarded and the model reads an error
   * result saying the tool timed out. At most 2^31-1.
   * @default undefined (no limit)
   */
  readonly toolTimeoutMs?: number | undefined;
  /**
   * The deepest nesting of objects and arrays a tool call's arguments may have (the arguments
   * object is level 1). A response with deeper arguments fails the run before any tool runs, with
   * `AgentError` (reason `invalid-response`); it never reaches the transcript, where it would
   * break serialising the next request.
   * @default 64
   */
  readonly maxToolInputDepth?: number | undefined;
  /**
   * Reject the run when a tool throws, times out, gets invalid arguments, is unknown or is past
   * `maxToolCallsPerTurn`, instead of sending the model an error result (`isError: true`) it can
   * correct on its next turn. The run rejects with `AgentError` (reason `tool-call-failed`) whose
   * `cause` is the tool's error; no result of that turn is kept in its transcript.
   * @default false
   */
  readonly throwOnToolError?: boolean | undefined;
  /** Validate the messages passed in, each response and each transcript edit. @default true */
  readonly validate?: boolean | undefined;
  /**
   * Save the run to a run store after every step (the model's answer; each tool as it starts and
   * as it returns; the end), writing only that step's new messages, under a lease that keeps any
   * other worker from writing to the run at the same time. See "Checkpoints and a fleet of workers".
   * @default undefined (not saved)
   */
  readonly checkpoint?: CheckpointOptions | undefined;
}

/**
 * Runs the agent loop: each turn builds the request from the transcript, calls the model through
 * its stack, appends the assistant message, runs the tool calls it asked for through the tool
 * stack and appends their results in call order, until the model calls no tool, a `stopWhen`
 * condition holds or `maxTurns` is reached.
 *
 * @example
 * const { text, transcript, usage } = await runAgent({
 *   model: app,
 *   modelId: 'gpt-5-mini',
 *   messages: [{ role: 'user', content: 'What is 2 + 3?' }],
 *   tools: [add],
 * });
 */
export function runAgent(options: RunAgentOptions): Promise<AgentResult> {
  try {
    if (isResumeById(options?.resume)) return resumeById(options);
    const prepared = prepareRun(options, 'runAgent()');
    return driveRun(prepared, options.signal ?? new AbortController().signal, undefined);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** `resume: { runId }`: the run's log becomes a snapshot with decisions, and the run goes on from it. */
async function resumeById(options: RunAgentOptions): Promise<AgentResult> {
  const signal = options.signal ?? new AbortController().signal;
  const found = await prepareResumeById(options, signal, 'runAgent()');
  return found.kind === 'result' ? found.result : driveRun(found.prepared, signal, undefined);
}

/**
 * @internal Takes the lease of a checkpointed run, reads its log and prepares the resumed run (or
 * finds it needs a decision first). Shared by `runAgent` and `streamAgent`; `signal` cancels the
 * store calls. Errors are the store's (`RunLeaseError`, `RunStoreError`), `ResumeError` and option
 * errors, as they are; an abort is an `AgentError` (reason `aborted`), as during a run. Whatever
 * fails, the lease is given back.
 */
export async function prepareResumeById(
  options: RunAgentOptions,
  signal: AbortSignal,
  where: string,
): Promise<ResumeStart> {
  const runId = (options.resume as ResumeFromCheckpointOptions).runId;
  let found: Awaited<ReturnType<typeof resumeFromCheckpoint>>;
  try {
    signal.throwIfAborted();
    found = await resumeFromCheckpoint({ ...options, signal }, where);
  } catch (error) {
    throw signal.aborted ? abortedBeforeRun(runId, signal, where) : error;
  }
  if (found.kind === 'result') return found;
  try {
    // Aborted while the log was read (a memory store does not look at the signal while it reads).
    if (signal.aborted) throw abortedBeforeRun(runId, signal, where);
    return { kind: 'run', prepared: { ...prepareRun(found.options as RunAgentOptions, where), logged: found.logged } };
  } catch (error) {
    await found.settings.store.release(runId, found.settings.owner).catch(() => false);
    throw error;
  }
}

/** @internal What a resume by run id found: a result at once (a call needs a decision), or the run to drive. */
export type ResumeStart =
  | { readonly kind: 'result'; readonly result: AgentResult }
  | { readonly kind: 'run'; readonly prepared: Prepared };

function abortedBeforeRun(runId: unknown, signal: AbortSignal, where: string): AgentError {
  const reason = signal.reason;
  return new AgentError({
    reason: 'aborted',
    message: `${where}: the run was aborted while its checkpoint was read (${reason instanceof Error ? reason.message : String(reason)}). Nothing ran; resume it again by its id.`,
    runId: typeof runId === 'string' ? runId : '',
    transcript: [],
    turnCount: 0,
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    cause: reason,
  });
}

/** Every option of a run, checked complete by the compiler: a misspelt one (`maxTurn`) is an error, not a default. */
const RUN_KEYS = optionNames<
  RunAgentCommonOptions & { model: unknown; modelId: unknown; messages: unknown; resume: unknown }
>({
  model: true,
  modelId: true,
  messages: true,
  resume: true,
  tools: true,
  callOptions: true,
  maxTurns: true,
  onMaxTurns: true,
  stopWhen: true,
  signal: true,
  state: true,
  persistState: true,
  metadata: true,
  middleware: true,
  plugins: true,
  toolConcurrency: true,
  maxToolCallsPerTurn: true,
  toolTimeoutMs: true,
  maxToolInputDepth: true,
  throwOnToolError: true,
  validate: true,
  checkpoint: true,
});

/** @internal Checks and normalises the options once per run (shared with `streamAgent`). */
export function prepareRun(options: RunAgentOptions, where: string): Prepared {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${where}: expected an options object { model, messages, tools }, got ${describeValue(options)}.`,
    );
  }
  checkKeys(where, options, RUN_KEYS);
  const {
    model,
    maxTurns = 20,
    onMaxTurns = 'throw',
    toolConcurrency = 10,
    maxToolCallsPerTurn = 100,
    toolTimeoutMs,
    maxToolInputDepth = 64,
    persistState = [],
  } = options;
  const resume = options.resume;
  if (resume !== undefined && (typeof resume !== 'object' || resume === null)) {
    throw new TypeError(`${where}: expected \`resume\` to be { snapshot, decisions }, got ${describeValue(resume)}.`);
  }
  if (isResumeById(resume)) {
    // Reached only by a caller that skipped prepareResumeById (resume by id reads the log first).
    throw new TypeError(`${where}: \`resume: { runId }\` needs the run's log read first.`);
  }
  // Checked as if loaded: a snapshot edited in memory gets the same SnapshotError.
  const snapshot = resume ? loadRunSnapshot(resume.snapshot) : undefined;
  if (snapshot && options.messages !== undefined) {
    throw new TypeError(
      `${where}: pass \`messages\` or \`resume\`, not both: a resumed run's transcript is its snapshot's.`,
    );
  }
  const messages = snapshot ? snapshot.transcript : options.messages;
  if (!Array.isArray(persistState) || persistState.some((k) => typeof k !== 'string')) {
    throw new TypeError(
      `${where}: expected \`persistState\` to be an array of run state keys, got ${describeValue(persistState)}.`,
    );
  }
  assertExecutor(model, `${where} \`model\``);
  const validate = options.validate ?? true;
  const modelId = options.modelId ?? snapshot?.modelId ?? model.defaultModel;
  if (modelId === undefined) {
    throw new TypeError(
      `${where}: \`modelId\` is required: the model id every request names, e.g. { model, modelId: 'gpt-5-mini', messages }. ` +
        `\`model\` (executor \`${executorName(model)}\`) has no default model; pass \`modelId\`, or build the executor with one ` +
        `(openaiExecutor({ client, model: 'gpt-5-mini' }), anthropicExecutor({ client, model }), aiSdkExecutor(openai('gpt-5-mini'))).`,
    );
  }
  if (typeof modelId !== 'string' || modelId === '') {
    throw new TypeError(
      `${where}: expected \`${options.modelId === undefined ? 'model.defaultModel' : 'modelId'}\` to be a non-empty model id string, got ${describeValue(modelId)}.`,
    );
  }
  if (!Array.isArray(messages)) {
    throw new TypeError(`${where}: expected \`messages\` to be an array of messages, got ${describeValue(messages)}.`);
  }
  if (validate) {
    const problem = findRequestProblem({ model: modelId, messages });
    if (problem) {
      throw requestError(
        problem,
        'caller',
        (detail) => `${where}: invalid \`messages\`: ${detail}. Fix the messages passed to the run.`,
      );
    }
  }
  if (!Number.isInteger(maxTurns) || maxTurns < 1) {
    throw new TypeError(`${where}: expected \`maxTurns\` to be a positive integer, got ${describeValue(maxTurns)}.`);
  }
  if (onMaxTurns !== 'throw' && onMaxTurns !== 'stop') {
    throw new TypeError(`${where}: expected \`onMaxTurns\` to be 'throw' or 'stop', got ${describeValue(onMaxTurns)}.`);
  }
  if (!(toolConcurrency >= 1) || (toolConcurrency !== Number.POSITIVE_INFINITY && !Number.isInteger(toolConcurrency))) {
    throw new TypeError(
      `${where}: expected \`toolConcurrency\` to be a positive integer or Infinity, got ${describeValue(toolConcurrency)}.`,
    );
  }
  if (!Number.isInteger(maxToolCallsPerTurn) || maxToolCallsPerTurn < 1) {
    throw new TypeError(
      `${where}: expected \`maxToolCallsPerTurn\` to be a positive integer, got ${describeValue(maxToolCallsPerTurn)}.`,
    );
  }
  if (toolTimeoutMs !== undefined && !isTimerMs(toolTimeoutMs)) {
    throw new TypeError(
      `${where}: expected \`toolTimeoutMs\` to be a positive integer of at most ${MAX_TIMER_MS} (about 24.8 days), got ${describeValue(toolTimeoutMs)}.`,
    );
  }
  if (!Number.isInteger(maxToolInputDepth) || maxToolInputDepth < 1) {
    throw new TypeError(
      `${where}: expected \`maxToolInputDepth\` to be a positive integer, got ${describeValue(maxToolInputDepth)}.`,
    );
  }
  const tools = toolMap(options.tools, where);
  const checkpoint = options.checkpoint === undefined ? undefined : checkCheckpointOptions(where, options.checkpoint);
  const resumed = snapshot && resume ? { snapshot, turn: checkResume(resume, tools, where) } : undefined;
  if (options.plugins !== undefined && !Array.isArray(options.plugins)) {
    throw new TypeError(
      `${where}: expected \`plugins\` to be an array of plugins, got ${describeValue(options.plugins)}.`,
    );
  }
  const middleware = options.plugins?.length
    ? [runPlugins(...options.plugins), ...(options.middleware ?? [])]
    : (options.middleware ?? []);
  const own = middleware.flatMap((mw, i) => toLayers(mw, `${where} \`middleware\``, i));
  // A pipeline's tool, run and turn layers; run-scoped ones go outside them, like an outer pipeline.
  const mounted = model as Partial<Record<'toolLayers' | 'runLayers' | 'turnLayers', readonly Layer[]>>;
  const executor = own.some((l) => l.call)
    ? pipeline({ executor: model, name: 'runAgent', validate }).use(...middleware)
    : model;
  return {
    executor,
    modelId,
    messages: messages as readonly Message[],
    tools,
    specs: tools.size > 0 ? Object.freeze([...tools.values()].map((t) => t.spec)) : undefined,
    callOptions: options.callOptions,
    metadata: options.metadata ?? snapshot?.metadata ?? {},
    requestMetadata: (options.metadata ??
      (snapshot && Object.keys(snapshot.metadata).length > 0 ? snapshot.metadata : undefined)) as
      | Record<string, unknown>
      | undefined,
    state: snapshot ? Object.assign(options.state ?? {}, snapshot.state) : (options.state ?? {}),
    runLayers: onionLayers<RunLayerContext>('run', own, mounted.runLayers),
    turnLayers: onionLayers<TurnLayerContext>('turn', own, mounted.turnLayers),
    toolSettings: {
      tools,
      layers: onionLayers<ToolContext>('tool', own, mounted.toolLayers),
      concurrency: toolConcurrency,
      maxCallsPerTurn: maxToolCallsPerTurn,
      timeoutMs: toolTimeoutMs,
      throwOnToolError: options.throwOnToolError === true,
    },
    stopWhen: toStopConditions(options.stopWhen, where),
    maxTurns,
    onMaxTurns,
    maxToolInputDepth,
    validate,
    runId: checkpoint?.runId ?? snapshot?.runId ?? newId('run'),
    checkpoint,
    persistState,
    resumed,
    logged: undefined,
  };
}

function onionLayers<C>(
  part: 'tool' | 'run' | 'turn',
  own: readonly Layer[],
  mounted: readonly Layer[] | undefined,
): ViewLayer<C>[] {
  const layers: ViewLayer<C>[] = [];
  for (const layer of mounted ? [...own, ...mounted] : own) {
    const fn = layer[part] as ViewLayer<C>['fn'] | undefined;
    // Only tool layers may replay: run and turn layers wrap the loop itself.
    if (fn) layers.push({ name: layer.name, fn, replay: part === 'tool' && layer.replay });
  }
  return layers;
}

function toolMap(tools: readonly AnyTool[] | undefined, where: string): ReadonlyMap<string, AnyTool> {
  const map = new Map<string, AnyTool>();
  if (tools === undefined) return map;
  if (!Array.isArray(tools)) {
    throw new TypeError(
      `${where}: expected \`tools\` to be an array of tool() definitions, got ${describeValue(tools)}.`,
    );
  }
  tools.forEach((t: AnyTool, i) => {
    if (typeof t !== 'object' || t === null || typeof t.execute !== 'function' || typeof t.spec !== 'object') {
      throw new TypeError(
        `${where}: \`tools[${i}]\` is not a tool; create it with tool({ name, input, execute }), got ${describeValue(t)}.`,
      );
    }
    if (map.has(t.name)) {
      throw new TypeError(
        `${where}: two tools are named \`${t.name}\` (tools[${i}]); tool names must be unique in a run.`,
      );
    }
    map.set(t.name, t);
  });
  return map;
}
