/** Who asked for an interruption: a tool's `needsApproval`, a run/turn/tool layer, or a plugin. */
export type InterruptSource = 'tool' | 'layer' | 'plugin';

/** A tool call held for a decision: the run ended before it ran. */
export interface ToolCallInterruption {
  readonly kind: 'tool-call';
  /** The id decisions are keyed by. */
  readonly toolCallId: string;
  readonly toolName: string;
  /** The arguments as the model sent them. */
  readonly input: unknown;
  /** What the asker attached (plain JSON data), e.g. a question to show a person. */
  readonly payload: unknown;
  readonly source: InterruptSource;
  /** The tool, layer or plugin that asked. */
  readonly by: string;
  /** The turn whose model call asked for the tool. */
  readonly turn: number;
}

/** A run or turn layer paused the run between turns; resuming continues with the next turn. */
export interface PauseInterruption {
  readonly kind: 'pause';
  readonly payload: unknown;
  readonly source: 'layer';
  /** The layer that paused the run. */
  readonly by: string;
  /** The last turn that completed before the pause (0: none). */
  readonly turn: number;
}

/** Why an interrupted run is waiting: in `AgentResult.interruptions` and in the snapshot. */
export type Interruption = ToolCallInterruption | PauseInterruption;

/**
 * What a person decided about one pending tool call:
 * - `{ type: 'approve' }`: run it as the model asked, through the tool middleware stack;
 * - `{ type: 'approve', input }`: run it with these arguments instead (parsed by the tool's
 *   schema when the resume starts; the assistant message's call is rewritten to match);
 * - `{ type: 'reject', message }`: do not run it; the model reads `message` as an error result;
 * - `{ type: 'respond', result }`: do not run it; `result` is the tool's result (a string as is,
 *   anything else as JSON).
 *
 * `by` says who decided (a user id, at most 200 characters): a checkpointed run keeps it, with the
 * decision, in its log.
 */
export type Decision =
  | { readonly type: 'approve'; readonly input?: unknown; readonly by?: string | undefined }
  | { readonly type: 'reject'; readonly message: string; readonly by?: string | undefined }
  | { readonly type: 'respond'; readonly result: unknown; readonly by?: string | undefined };
