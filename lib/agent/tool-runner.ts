import type { Immutable } from 'immer';
import { z } from 'zod';
import { MiddlewareError, ModelwareError, TimeoutError } from '../core/errors.js';
import type { ToolCallPart, ToolMessage } from '../core/messages.js';
import { type ReplayHooks, type Step, type ViewLayer, buildStack, viewHandler } from '../core/engine.js';
import type { RunCore } from './run-context.js';
import { ReplayToolContext, ToolCallCore, ToolContext, type ToolResult, toolMessage } from './tool-context.js';
import { toolContent } from '../core/messages.js';
import type { ToolCallInterruption } from './interrupts.js';
import type { AnyTool } from './tools.js';
import { abortable } from '../internal/signals.js';

/** @internal How a run executes tool calls. */
export interface ToolRunSettings {
  readonly tools: ReadonlyMap<string, AnyTool>;
  readonly layers: readonly ViewLayer<ToolContext>[];
  /** Tool calls of one turn running at the same time. */
  readonly concurrency: number;
  /** Tool calls of one turn that run at all; the rest are answered with an error result. */
  readonly maxCallsPerTurn: number;
  /** How long one `execute` may take when its tool sets no `timeoutMs`; `undefined`: no limit. */
  readonly timeoutMs: number | undefined;
  readonly throwOnToolError: boolean;
}

/** @internal Called as each tool call finishes (in completion order), for `streamAgent` events. */
export type OnToolResult = (message: ToolMessage, result: ToolResult) => void | Promise<void>;

/**
 * Runs one turn's tool calls through the tool stack, at most `concurrency` at a time, and returns
 * their tool messages in call order whatever order they finish in. Calls past `maxCallsPerTurn`
 * do not run: each is answered with an error result the model reads. After a failure no new call
 * starts; the ones running finish, then the error of the earliest failed call is thrown.
 */
export async function runToolCalls(
  calls: readonly Immutable<ToolCallPart>[],
  run: RunCore,
  settings: ToolRunSettings,
  onResult?: OnToolResult,
  approved?: ReadonlySet<string>,
  onStart?: (call: Immutable<ToolCallPart>) => Promise<void> | undefined,
): Promise<(ToolMessage | undefined)[]> {
  // A call held for a decision has no message; its interruption joins the run's, in call order.
  const messages: (ToolMessage | undefined)[] = new Array(calls.length);
  const held: (ToolCallInterruption | undefined)[] = [];
  const runnable = Math.min(calls.length, settings.maxCallsPerTurn);
  // Answered first, so that under throwOnToolError no tool runs in a turn that breaks the limit.
  for (let index = runnable; index < calls.length; index++) {
    const call = calls[index] as Immutable<ToolCallPart>;
    messages[index] = await finish(call, overLimit(calls.length, settings.maxCallsPerTurn), settings, onResult);
  }
  let started = 0;
  const failures: { index: number; error: unknown }[] = [];
  const worker = async () => {
    while (failures.length === 0 && started < runnable) {
      const index = started++;
      try {
        const call = calls[index] as Immutable<ToolCallPart>;
        const marked = onStart?.(call);
        if (marked) await marked;
        const out = await runToolCall(call, run, settings, onResult, approved);
        if ('interruption' in out) held[index] = out.interruption;
        else messages[index] = out;
      } catch (error) {
        failures.push({ index, error });
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(settings.concurrency, runnable); i++) workers.push(worker());
  await Promise.all(workers);
  if (failures.length > 0) throw failures.reduce((a, b) => (b.index < a.index ? b : a)).error;
  for (const interruption of held) if (interruption) run.interruptions.push(interruption);
  return messages;
}

function overLimit(count: number, max: number): ToolResult {
  const content = `Not run: this turn asked for ${count} tool calls and at most ${max} run per turn. Call the tools you still need again, fewer at a time.`;
  return {
    content,
    isError: true,
    error: new ModelwareError(
      `runAgent: the model asked for ${count} tool calls in one turn; \`maxToolCallsPerTurn\` is ${max}, so the calls past it were answered with an error result instead of running. Raise \`maxToolCallsPerTurn\` if the model legitimately needs more.`,
    ),
  };
}

async function runToolCall(
  call: Immutable<ToolCallPart>,
  run: RunCore,
  settings: ToolRunSettings,
  onResult: OnToolResult | undefined,
  approved: ReadonlySet<string> | undefined,
): Promise<ToolMessage | { interruption: ToolCallInterruption }> {
  const tool = settings.tools.get(call.toolName);
  const core = new ToolCallCore(call, tool, run.signal, run);
  if (approved?.has(call.toolCallId)) core.approved = true;
  else if (tool !== undefined && tool.needsApproval !== false && (await needsApproval(tool, core))) {
    core.interrupt(null, 'tool', tool.name);
  }
  const { layers } = settings;
  if (core.interruption === undefined) {
    if (layers.length === 0) await execute(core, settings);
    else await toolStack(settings)(core);
  }
  if (core.interruption) return { interruption: core.interruption };
  const result = core.result;
  if (result === undefined) {
    const names = layers.map((l) => l.name).join(' → ');
    throw new MiddlewareError(
      layers.at(-1)?.name ?? 'tool',
      `No result for tool call \`${call.toolCallId}\` (\`${call.toolName}\`): a tool layer returned without calling \`await next()\` and without setting ctx.result (tool layers: ${names}). Call next(), or set ctx.result (ctx.deny(message)) to answer without running the tool.`,
    );
  }
  return finish(call, result, settings, onResult);
}

/** Turns a result into the tool message persisted in the transcript, and reports it. */
async function finish(
  call: Immutable<ToolCallPart>,
  result: ToolResult,
  settings: ToolRunSettings,
  onResult: OnToolResult | undefined,
): Promise<ToolMessage> {
  if (settings.throwOnToolError && result.isError && result.error !== undefined) throw result.error;
  const message = toolMessage(call, result);
  // Valid by construction (ids from a validated call, string content), so frozen, not re-checked.
  Object.freeze(message);
  // Awaited only when it is a promise: a checkpoint in memory saves at once.
  const saved = onResult?.(message, result);
  if (saved) await saved;
  return message;
}

/** Asks the tool's `needsApproval` about the parsed input; input that fails the schema needs none. */
async function needsApproval(tool: AnyTool, core: ToolCallCore): Promise<boolean> {
  const ask = tool.needsApproval;
  if (typeof ask !== 'function') return ask;
  const parsed = await parseInput(tool, core.input);
  if (!parsed.success) return false;
  const context = { toolCallId: core.call.toolCallId, run: core.run.view(tool.name), signal: core.signal };
  return (await abortable(Promise.resolve(ask(parsed.data, context)), core.signal)) === true;
}

/** The innermost step: parse the arguments with the tool's schema, run it, turn failures into results. */
async function execute(core: ToolCallCore, settings: ToolRunSettings): Promise<void> {
  const { tool, call, signal } = core;
  if (core.interruption) {
    throw new MiddlewareError(
      core.interruption.by,
      `\`${core.interruption.by}\` interrupted a tool call and then called \`next()\`. After ctx.interrupt() returns true, return without calling next().`,
    );
  }
  if (tool === undefined) {
    const { tools } = settings;
    const available = tools.size > 0 ? `Available tools: ${[...tools.keys()].join(', ')}.` : 'This run has no tools.';
    const content = `Unknown tool \`${call.toolName}\`. ${available}`;
    // The name comes from the model: it stays in the result the model reads, not in the message.
    const error = new ModelwareError(
      `runAgent: the model called a tool this run does not have (its name is the tool call's \`toolName\`). ${available}`,
    );
    core.result = { content, isError: true, error };
    return;
  }
  const parsed = await parseInput(tool, core.input);
  if (!parsed.success) {
    core.result = {
      content: `Invalid arguments for tool \`${tool.name}\`:\n${z.prettifyError(parsed.error)}\nFix the arguments and call the tool again.`,
      isError: true,
      error: parsed.error,
    };
    return;
  }
  signal.throwIfAborted();
  const timeoutMs = tool.timeoutMs ?? settings.timeoutMs;
  const attempt = new Attempt(signal, timeoutMs, tool.name);
  try {
    const output = await attempt.settle(() =>
      tool.execute(parsed.data, {
        signal: attempt.signal,
        toolCallId: call.toolCallId,
        run: core.run.view(tool.name),
        idempotencyKey: `${core.run.runId}:${call.toolCallId}`,
      }),
    );
    core.result = { content: toolContent(output), output };
  } catch (error) {
    // Cancellation is not a tool failure the model should read: it ends the run.
    if (signal.aborted) throw signal.reason;
    if (attempt.timedOut) {
      core.result = {
        content: `Tool \`${tool.name}\` did not finish within ${timeoutMs} ms and was stopped. Try again, or with a smaller request.`,
        isError: true,
        error: attempt.timedOut,
      };
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    core.result = { content: `Tool \`${tool.name}\` failed: ${reason}`, isError: true, error };
  } finally {
    attempt.dispose();
  }
}

/**
 * One run of a tool's `execute`, settled by whichever comes first: the tool, the run's abort or
 * the tool's timeout. A tool that ignores its signal cannot hold the run: its late result or error
 * is discarded. On timeout the tool's own signal aborts (with the `TimeoutError`) so it can stop.
 */
class Attempt {
  readonly signal: AbortSignal;
  timedOut: TimeoutError | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unlink: (() => void) | undefined;

  constructor(run: AbortSignal, timeoutMs: number | undefined, toolName: string) {
    if (timeoutMs === undefined) {
      this.signal = run;
      return;
    }
    const controller = new AbortController();
    this.signal = controller.signal;
    const follow = () => controller.abort(run.reason);
    run.addEventListener('abort', follow, { once: true });
    this.#unlink = () => run.removeEventListener('abort', follow);
    // Built outside the timer callback, so its stack shows who started the tool.
    const error = new TimeoutError(
      `runAgent: tool \`${toolName}\` did not finish within ${timeoutMs} ms (its \`timeoutMs\`, or the run's \`toolTimeoutMs\`).`,
      timeoutMs,
    );
    this.#timer = setTimeout(() => {
      this.timedOut = error;
      controller.abort(error);
    }, timeoutMs);
  }

  settle<T>(execute: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stop = () => reject(this.signal.reason);
      this.signal.addEventListener('abort', stop, { once: true });
      const done = () => this.signal.removeEventListener('abort', stop);
      new Promise<T>((inner) => inner(execute())).then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#unlink?.();
  }
}

/** Sync parse first (several times faster); schemas with async refinements need the async one. */
function parseInput(
  tool: AnyTool,
  input: unknown,
): ReturnType<AnyTool['input']['safeParse']> | Promise<ReturnType<AnyTool['input']['safeParse']>> {
  try {
    return tool.input.safeParse(input);
  } catch (error) {
    if (error instanceof z.core.$ZodAsyncError) return tool.input.safeParseAsync(input);
    throw error;
  }
}

const stacks = new WeakMap<ToolRunSettings, Step<ToolCallCore>>();

/** The tool stack of a run, built once on the engine. */
function toolStack(settings: ToolRunSettings): Step<ToolCallCore> {
  let stack = stacks.get(settings);
  if (stack === undefined) {
    stack = buildStack(settings.layers, (core) => execute(core, settings), {
      handler: (layer) => viewHandler(layer.fn, layer.name, toolView, 'tool', false),
      replay: TOOL_REPLAY,
    });
    stacks.set(settings, stack);
  }
  return stack;
}

const toolView = (core: ToolCallCore, layer: string) => new ToolContext(core, layer);

/**
 * Between the attempts of a replay tool layer, the layers inside and the tool start again from the
 * arguments as that layer was entered with, plus its own `updateInput` changes; the previous result
 * is cleared.
 */
const TOOL_REPLAY: ReplayHooks<ViewLayer<ToolContext>, ToolCallCore, ReplayToolContext> = {
  enter: (core, layer) => new ReplayToolContext(core, layer.name),
  run: (ctx, layer, next) => layer.fn(ctx, next),
  rewind(ctx, core) {
    ctx.rewind();
    core.result = undefined;
  },
  succeeded(ctx) {
    ctx.pending = [];
  },
  failed(ctx, core, error) {
    core.input = ctx.base;
    return error;
  },
};
