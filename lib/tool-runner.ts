import type { Immutable } from 'immer';
import { z } from 'zod';
import { MiddlewareError, ModelwareError } from './errors.js';
import type { ToolCallPart, ToolMessage } from './messages.js';
import { type OnionLayer, type Rewind, runOnion } from './onion.js';
import type { RunCore } from './run-context.js';
import { ToolCallCore, ToolContext, type ToolResult } from './tool-context.js';
import type { AnyTool } from './tools.js';

/** @internal How a run executes tool calls. */
export interface ToolRunSettings {
  readonly tools: ReadonlyMap<string, AnyTool>;
  readonly layers: readonly OnionLayer<ToolContext>[];
  /** Tool calls of one turn running at the same time. */
  readonly concurrency: number;
  readonly throwOnToolError: boolean;
}

/** @internal Called as each tool call finishes (in completion order), for `streamAgent` events. */
export type OnToolResult = (message: ToolMessage, result: ToolResult) => void | Promise<void>;

/**
 * Runs one turn's tool calls through the tool stack, at most `concurrency` at a time, and returns
 * their tool messages in call order whatever order they finish in. After a failure no new call
 * starts; the ones running finish, then the error of the earliest failed call is thrown.
 */
export async function runToolCalls(
  calls: readonly Immutable<ToolCallPart>[],
  run: RunCore,
  settings: ToolRunSettings,
  onResult?: OnToolResult,
): Promise<ToolMessage[]> {
  const messages: ToolMessage[] = new Array(calls.length);
  let started = 0;
  const failures: { index: number; error: unknown }[] = [];
  const worker = async () => {
    while (failures.length === 0 && started < calls.length) {
      const index = started++;
      try {
        messages[index] = await runToolCall(calls[index] as Immutable<ToolCallPart>, run, settings, onResult);
      } catch (error) {
        failures.push({ index, error });
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < Math.min(settings.concurrency, calls.length); i++) workers.push(worker());
  await Promise.all(workers);
  if (failures.length > 0) throw failures.reduce((a, b) => (b.index < a.index ? b : a)).error;
  return messages;
}

async function runToolCall(
  call: Immutable<ToolCallPart>,
  run: RunCore,
  settings: ToolRunSettings,
  onResult: OnToolResult | undefined,
): Promise<ToolMessage> {
  const core = new ToolCallCore(call, settings.tools.get(call.toolName), run.signal, run);
  const innermost = () => execute(core, settings.tools);
  const { layers } = settings;
  if (layers.length === 0) await innermost();
  else {
    await runOnion(layers, (layer) => new ToolContext(core, layer), innermost, {
      kind: 'tool',
      requireNext: false,
      rewind: () => rewind(core),
    });
  }
  const result = core.result;
  if (result === undefined) {
    const names = layers.map((l) => l.name).join(' → ');
    throw new MiddlewareError(
      layers.at(-1)?.name ?? 'tool',
      `No result for tool call \`${call.toolCallId}\` (\`${call.toolName}\`): a tool layer returned without calling \`await next()\` and without setting ctx.result (tool layers: ${names}). Call next(), or set ctx.result (ctx.deny(message)) to answer without running the tool.`,
    );
  }
  if (settings.throwOnToolError && result.isError && result.error !== undefined) throw result.error;
  const message: ToolMessage = {
    role: 'tool',
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    content: result.content,
  };
  if (result.isError) message.isError = true;
  // Valid by construction (ids from a validated call, string content), so frozen, not re-checked.
  Object.freeze(message);
  await onResult?.(message, result);
  return message;
}

/** The innermost step: parse the arguments with the tool's schema, run it, turn failures into results. */
async function execute(core: ToolCallCore, tools: ReadonlyMap<string, AnyTool>): Promise<void> {
  const { tool, call, signal } = core;
  if (tool === undefined) {
    const available = tools.size > 0 ? `Available tools: ${[...tools.keys()].join(', ')}.` : 'This run has no tools.';
    const content = `Unknown tool \`${call.toolName}\`. ${available}`;
    core.result = { content, isError: true, error: new ModelwareError(`The model called an unknown tool: ${content}`) };
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
  try {
    const output = await tool.execute(parsed.data, {
      signal,
      toolCallId: call.toolCallId,
      run: core.run.view(tool.name),
    });
    core.result = { content: toContent(output), output };
  } catch (error) {
    // Cancellation is not a tool failure the model should read: it ends the run.
    if (signal.aborted) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    core.result = { content: `Tool \`${tool.name}\` failed: ${reason}`, isError: true, error };
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

function toContent(output: unknown): string {
  if (typeof output === 'string') return output;
  if (output === undefined) return '';
  return JSON.stringify(output) ?? String(output);
}

/**
 * Between the attempts of a replay tool layer, the layers inside start again from the arguments as
 * that layer passed them, unless it changed them itself in between; the previous result is cleared.
 */
function rewind(core: ToolCallCore): Rewind {
  let base: unknown;
  let after: unknown;
  return {
    before(attempt) {
      if (attempt > 0) {
        if (core.input === after) core.input = base;
        core.result = undefined;
      }
      base = core.input;
    },
    after() {
      after = core.input;
    },
  };
}
