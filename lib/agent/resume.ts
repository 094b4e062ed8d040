import type { Immutable } from 'immer';
import { z } from 'zod';
import { ResumeError } from '../core/errors.js';
import type { AssistantMessage, ModelResponse, ToolCallPart, ToolMessage } from '../core/messages.js';
import { toolCallsOf } from '../core/messages.js';
import { describeValue } from '../internal/options.js';
import type { Decision } from './interrupts.js';
import type { RunSnapshot } from './snapshot.js';
import type { AnyTool } from './tools.js';
import { toolContent } from '../core/messages.js';

/** `runAgent({ resume })`: continue an interrupted run from its snapshot. */
export interface ResumeOptions {
  /** The snapshot of the interrupted run: `result.snapshot`, or `loadRunSnapshot(json)`. */
  readonly snapshot: RunSnapshot;
  /**
   * One decision per tool call waiting for one, keyed by tool call id. A run paused by a layer
   * (no tool call waiting) needs none.
   * @default {}
   */
  readonly decisions?: Readonly<Record<string, Decision>> | undefined;
}

/** @internal One call of the pending turn, and what to do with it. */
export type ResumedCall =
  /** Already answered before the interruption. */
  | { readonly call: Immutable<ToolCallPart>; readonly kind: 'result'; readonly message: ToolMessage }
  /**
   * Run through the tool stack: `approved` by a decision (with `input`, possibly edited), or not
   * (a call a checkpoint saw started or not started, run again as the model asked).
   */
  | {
      readonly call: Immutable<ToolCallPart>;
      readonly kind: 'run';
      readonly approved: boolean;
      readonly decision?: Decision | undefined;
    }
  /** Answered by the decision, without running. */
  | {
      readonly call: Immutable<ToolCallPart>;
      readonly kind: 'answer';
      readonly content: string;
      readonly isError: boolean;
      readonly decision: Decision;
    };

/** @internal The pending turn of a snapshot with every decision checked: what the loop finishes first. */
export interface ResumedTurn {
  readonly turn: number;
  /** The response, its message rewritten where an approval edited a call's input. */
  readonly response: ModelResponse;
  readonly calls: readonly ResumedCall[];
}

/**
 * @internal Checks a resume before anything runs: the snapshot can be resumed, every waiting call
 * has exactly one well-formed decision, edited inputs pass their tool's schema.
 */
export function checkResume(
  resume: ResumeOptions,
  tools: ReadonlyMap<string, AnyTool>,
  where: string,
): ResumedTurn | undefined {
  const { snapshot } = resume;
  const decisions = resume.decisions ?? {};
  const runId = snapshot.runId;
  const waiting = snapshot.interruptions.flatMap((i) => (i.kind === 'tool-call' ? [i.toolCallId] : []));
  const fail = (code: ResumeError['code'], message: string, toolCallId?: string, issues?: ResumeError['issues']) =>
    new ResumeError({ code, message: `${where}: ${message}`, runId, toolCallId, pendingIds: waiting, issues });
  // Call ids and tool names come from the model: they stay in the error's fields, not its message.
  const ids = `${waiting.length} call(s) wait for a decision; their ids are the error's \`pendingIds\``;
  if (snapshot.status === 'finished') {
    throw fail(
      'RUN_FINISHED',
      `run \`${runId}\` finished; only an interrupted run (or a running checkpoint) can be resumed. Start a new run with its transcript to continue the conversation.`,
    );
  }
  if (typeof decisions !== 'object' || decisions === null) {
    throw fail(
      'INVALID_DECISION',
      `expected \`resume.decisions\` to be an object keyed by tool call id, got ${describeValue(decisions)}.`,
    );
  }
  for (const id of Object.keys(decisions)) {
    if (!waiting.includes(id)) {
      throw fail(
        'UNKNOWN_TOOL_CALL',
        `\`resume.decisions\` has a decision for a tool call that is not waiting for one (its key is the error's \`toolCallId\`). ${ids}.`,
        id,
      );
    }
  }
  for (const id of waiting) {
    if (!Object.hasOwn(decisions, id)) {
      throw fail(
        'MISSING_DECISION',
        `a tool call waits for a decision and \`resume.decisions\` has none for it (its id is the error's \`toolCallId\`). Give every waiting call one of { type: 'approve' }, { type: 'approve', input }, { type: 'reject', message }, { type: 'respond', result }. ${ids}.`,
        id,
      );
    }
  }
  const pending = snapshot.pending;
  if (pending === null) return undefined;
  const results = new Map(pending.results.map((m) => [m.toolCallId, m]));
  const edited = new Map<string, unknown>();
  const calls: ResumedCall[] = toolCallsOf(pending.response.message).map((call) => {
    const done = results.get(call.toolCallId);
    if (done) return { call, kind: 'result', message: done };
    // A running checkpoint's call nobody holds: it runs as the model asked.
    if (!waiting.includes(call.toolCallId)) return { call, kind: 'run', approved: false };
    const decision = decisions[call.toolCallId] as Decision;
    const bad = (what: string) =>
      fail(
        'INVALID_DECISION',
        `the decision for a waiting call (the error's \`toolCallId\`) ${what}. Use { type: 'approve' }, { type: 'approve', input }, { type: 'reject', message } or { type: 'respond', result }.`,
        call.toolCallId,
      );
    if (typeof decision !== 'object' || decision === null) throw bad(`is ${describeValue(decision)}`);
    if (
      decision.by !== undefined &&
      (typeof decision.by !== 'string' || decision.by === '' || decision.by.length > 200)
    ) {
      throw bad('has a `by` that is not a non-empty string of at most 200 characters (who decided)');
    }
    switch (decision.type) {
      case 'approve': {
        const tool = tools.get(call.toolName);
        if (tool === undefined) {
          throw fail(
            'UNKNOWN_TOOL',
            `an approved tool call (the error's \`toolCallId\`) names a tool this run does not have. Pass the same \`tools\` as the interrupted run.`,
            call.toolCallId,
          );
        }
        if (Object.hasOwn(decision, 'input')) {
          const parsed = safeParse(tool, decision.input);
          if (!parsed.success) {
            const issues = parsed.error.issues.map((i) => ({ path: i.path, code: i.code }));
            throw fail(
              'INVALID_INPUT',
              `the edited \`input\` approved for a call (the error's \`toolCallId\`) fails its tool's input schema at ${issues.map((i) => (i.path.length ? i.path.join('.') : '(root)')).join(', ')}. Fix the input; nothing ran.`,
              call.toolCallId,
              issues,
            );
          }
          edited.set(call.toolCallId, decision.input);
        }
        return { call, kind: 'run', approved: true, decision };
      }
      case 'reject':
        if (typeof decision.message !== 'string') throw bad('has no string `message`');
        return { call, kind: 'answer', content: decision.message, isError: true, decision };
      case 'respond':
        return { call, kind: 'answer', content: toolContent(decision.result), isError: false, decision };
      default:
        throw bad(`has type ${describeValue((decision as { type?: unknown }).type)}`);
    }
  });
  if (edited.size === 0) return { turn: snapshot.turn, response: pending.response, calls };
  // The transcript keeps the call as it ran: the edited input replaces the model's.
  const message = pending.response.message as AssistantMessage;
  const content = (message.content as Exclude<AssistantMessage['content'], string>).map((part) =>
    part.type === 'tool-call' && edited.has(part.toolCallId) ? { ...part, input: edited.get(part.toolCallId) } : part,
  );
  const response = { ...pending.response, message: { ...message, content } };
  const rewritten = toolCallsOf(response.message);
  return {
    turn: snapshot.turn,
    response,
    calls: calls.map((c, i) => ({ ...c, call: rewritten[i] as ToolCallPart })),
  };
}

function safeParse(tool: AnyTool, input: unknown): z.ZodSafeParseResult<unknown> {
  try {
    return tool.input.safeParse(input);
  } catch (error) {
    if (error instanceof z.core.$ZodAsyncError) {
      throw new TypeError(
        `resume: tool \`${tool.name}\` has an async input schema; an edited input can only be checked with a synchronous one.`,
      );
    }
    throw error;
  }
}
