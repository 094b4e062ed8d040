import type { Message, ToolCallPart, ToolMessage } from '../core/messages.js';
import { toolCallsOf } from '../core/messages.js';
import { describeValue } from '../internal/options.js';
import { ResumeError } from '../core/errors.js';
import { type CheckpointSettings, type RebuiltRun, checkCheckpointOptions, rebuildRun } from './checkpoint.js';
import type { Decision, Interruption, ToolCallInterruption } from './interrupts.js';
import type { AgentResult } from './run-context.js';
import { RUN_SNAPSHOT_VERSION, type RunSnapshot } from './snapshot.js';
import type { AnyTool } from './tools.js';

/**
 * `runAgent({ checkpoint: { store }, resume: { runId, decisions } })`: continue a checkpointed run
 * from its log (after a crash, on another worker, or after an interruption), by its id.
 */
export interface ResumeFromCheckpointOptions {
  /** The id of the run to continue; its log is read from `checkpoint.store`. */
  readonly runId: string;
  /**
   * One decision per tool call waiting for one, keyed by tool call id: the calls the run was
   * interrupted for, and calls a crash cut short that are not `idempotent`. @default {}
   */
  readonly decisions?: Readonly<Record<string, Decision>> | undefined;
}

/**
 * The payload of the interruption a crash leaves for a call of the turn it cut short:
 * `started-without-result`, the call started and may or may not have run; `not-started`, its tool
 * needs approval (or is missing) and the run stopped before it was asked for.
 */
export interface CrashInterruptionPayload {
  readonly reason: 'started-without-result' | 'not-started';
}

/** @internal The options of runAgent a resume by run id reads (declared here: agent.ts imports this file). */
export interface ResumeInput {
  readonly resume?: unknown;
  readonly checkpoint?: unknown;
  readonly tools?: readonly AnyTool[] | undefined;
  readonly state?: object | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** @internal What a resume by run id found: a result to return at once, or the options to run on. */
export type CheckpointResume =
  | { readonly kind: 'result'; readonly result: AgentResult }
  | {
      readonly kind: 'run';
      readonly options: ResumeInput;
      readonly logged: {
        readonly turn: number;
        readonly results: ReadonlySet<string>;
        readonly decided: ReadonlySet<string>;
      };
      readonly settings: CheckpointSettings;
    };

/** @internal Whether `resume` names a run id (rather than a snapshot). */
export function isResumeById(resume: unknown): resume is ResumeFromCheckpointOptions {
  return typeof resume === 'object' && resume !== null && 'runId' in resume && !('snapshot' in resume);
}

/**
 * @internal Takes the run's lease, reads its log and turns it into a snapshot with decisions:
 * calls with a result are never run again; an `idempotent` call that started without a result,
 * and a call that never started, run (their tool has no `needsApproval`); any other call without a
 * result waits for a decision. When a call a crash cut short has none, the run is not continued:
 * it resolves at once as interrupted, with that call among its interruptions.
 */
export async function resumeFromCheckpoint(options: ResumeInput, where: string): Promise<CheckpointResume> {
  const resume = options.resume as unknown as ResumeFromCheckpointOptions;
  if (options.checkpoint === undefined) {
    throw new TypeError(
      `${where}: \`resume: { runId }\` reads the run's log from \`checkpoint.store\`; pass checkpoint: { store } too.`,
    );
  }
  const settings = checkCheckpointOptions(where, options.checkpoint);
  const { runId } = resume;
  if (typeof runId !== 'string' || !/^[A-Za-z0-9_.:-]{1,200}$/.test(runId)) {
    throw new TypeError(`${where}: expected \`resume.runId\` to be a run id, got ${describeValue(runId)}.`);
  }
  if (settings.runId !== undefined && settings.runId !== runId) {
    throw new TypeError(
      `${where}: \`checkpoint.runId\` and \`resume.runId\` differ; give the run id once, in \`resume\`.`,
    );
  }
  const { store, owner, leaseTtlMs } = settings;
  const signal = options.signal;
  // Lease first, then read: the log cannot grow under us, and a second resumer stops here.
  await store.acquire(runId, owner, { ttlMs: leaseTtlMs, signal });
  try {
    const log = await store.read(runId, { signal });
    const rebuilt = rebuildRun(runId, log.entries, log.finished);
    if (rebuilt === undefined) {
      throw new TypeError(
        `${where}: run \`${runId}\` has no checkpoint in \`${store.name}\`. Check the run id and the store (and its prefix).`,
      );
    }
    const tools = new Map((options.tools ?? []).map((t) => [t.name, t] as const));
    const { snapshot, auto, replayed, cutShort } = toSnapshot(rebuilt, tools, options.state);
    const given = resume.decisions ?? {};
    if (typeof given === 'object' && given !== null) checkReplayed(given, replayed, runId, snapshot, where);
    // A decision already in the log stands (a re-delivered job may give the same one again).
    const decisions = { ...auto, ...given, ...replayed };
    const undecided = cutShort.filter((i) => !Object.hasOwn(decisions, i.toolCallId));
    if (undecided.length > 0) {
      const waiting = snapshot.interruptions.filter(
        (i) => i.kind !== 'tool-call' || !Object.hasOwn(decisions, i.toolCallId) || undecided.includes(i),
      );
      const interrupted = { ...snapshot, interruptions: waiting };
      await store.append(runId, [{ type: 'interrupted', meta: { interruptions: waiting, state: snapshot.state } }], {
        owner,
        signal,
      });
      await store.release(runId, owner);
      return { kind: 'result', result: interruptedResult(interrupted) };
    }
    const { runId: _, ...checkpoint } = options.checkpoint as Record<string, unknown>;
    const next = {
      ...options,
      checkpoint: { ...checkpoint, owner },
      resume: { snapshot, decisions },
      messages: undefined,
    } as ResumeInput;
    const results = new Set(rebuilt.pending ? rebuilt.pending.results.keys() : []);
    const decided = new Set([...Object.keys(auto), ...Object.keys(replayed)]);
    return { kind: 'run', options: next, logged: { turn: rebuilt.turn, results, decided }, settings };
  } catch (error) {
    await store.release(runId, owner).catch(() => false);
    throw error;
  }
}

function toSnapshot(
  rebuilt: RebuiltRun,
  tools: ReadonlyMap<string, AnyTool>,
  state: object | undefined,
): {
  snapshot: RunSnapshot;
  auto: Record<string, Decision>;
  replayed: Record<string, Decision>;
  cutShort: ToolCallInterruption[];
} {
  const saved = rebuilt.interrupted as { interruptions?: Interruption[]; state?: Record<string, unknown> } | undefined;
  const asked = new Map(
    (saved?.interruptions ?? []).flatMap((i) => (i.kind === 'tool-call' ? [[i.toolCallId, i] as const] : [])),
  );
  const interruptions: Interruption[] = (saved?.interruptions ?? []).filter((i) => i.kind === 'pause');
  const auto: Record<string, Decision> = {};
  const replayed: Record<string, Decision> = {};
  const cutShort: ToolCallInterruption[] = [];
  const { pending } = rebuilt;
  const results: ToolMessage[] = [];
  /** The interruption a checkpoint raises for a call of the pending turn, with why it asks (or `null`). */
  const interruptionFor = (
    call: ToolCallPart,
    reason: CrashInterruptionPayload['reason'] | null,
  ): ToolCallInterruption => ({
    kind: 'tool-call',
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    input: call.input,
    payload: reason === null ? null : ({ reason } satisfies CrashInterruptionPayload),
    source: 'tool',
    by: 'checkpoint',
    turn: rebuilt.turn,
  });
  if (pending) {
    for (const call of toolCallsOf(pending.response.message) as ToolCallPart[]) {
      const result = pending.results.get(call.toolCallId);
      if (result) {
        results.push(result);
        continue;
      }
      const tool = tools.get(call.toolName);
      const plain = tool !== undefined && tool.needsApproval === false;
      const started = pending.started.has(call.toolCallId);
      const before = asked.get(call.toolCallId);
      const decided = pending.decisions.get(call.toolCallId);
      if (decided && !(started && decided.type === 'approve' && !tool?.idempotent)) {
        // Decided on an earlier resume: the decision is applied again, not asked for. An approved
        // call that started runs again only when idempotent (else it may have run: asked below).
        interruptions.push(before ?? interruptionFor(call, null));
        replayed[call.toolCallId] = decided;
      } else if (before && !started) {
        interruptions.push(before);
      } else if (started && !(plain && tool.idempotent)) {
        const cut = interruptionFor(call, 'started-without-result');
        interruptions.push(cut);
        cutShort.push(cut);
      } else if (plain) {
        // Never started, or idempotent: it runs (again).
        interruptions.push(interruptionFor(call, null));
        auto[call.toolCallId] = { type: 'approve' };
      } else {
        // A call whose tool asks for approval (or is missing) never runs unasked.
        const ask = interruptionFor(call, 'not-started');
        interruptions.push(ask);
        cutShort.push(ask);
      }
    }
  }
  if (interruptions.length === 0 && !rebuilt.finished) {
    // Stopped between turns (a crash after a turn was saved): the run goes on with its next turn,
    // as after a pause, which needs no decision.
    interruptions.push({ kind: 'pause', payload: null, source: 'layer', by: 'checkpoint', turn: rebuilt.turn });
  }
  const snapshot: RunSnapshot = {
    version: RUN_SNAPSHOT_VERSION,
    runId: rebuilt.runId,
    status: rebuilt.finished ? 'finished' : 'interrupted',
    modelId: rebuilt.modelId,
    turn: rebuilt.turn,
    usage: rebuilt.usage,
    transcript: rebuilt.transcript as Message[],
    pending: pending ? { response: pending.response, results } : null,
    interruptions,
    state: rebuilt.state ?? (state as Record<string, unknown> | undefined) ?? {},
    metadata: rebuilt.metadata,
  };
  return { snapshot, auto, replayed, cutShort };
}

/**
 * A decision given again for a call whose decision is in the log: the same one is fine (a job
 * delivered twice); another one is refused, as the logged one was applied (or is being).
 */
function checkReplayed(
  given: Readonly<Record<string, Decision>>,
  replayed: Readonly<Record<string, Decision>>,
  runId: string,
  snapshot: RunSnapshot,
  where: string,
): void {
  for (const id of Object.keys(given)) {
    const logged = replayed[id];
    if (logged === undefined || sameDecision(logged, given[id] as Decision)) continue;
    throw new ResumeError({
      code: 'INVALID_DECISION',
      runId,
      toolCallId: id,
      pendingIds: snapshot.interruptions.flatMap((i) => (i.kind === 'tool-call' ? [i.toolCallId] : [])),
      message: `${where}: a tool call (the error's \`toolCallId\`) already has a decision in the log of run \`${runId}\`, given on an earlier resume, and \`resume.decisions\` gives another. The logged one stands: leave the call out of \`resume.decisions\`.`,
    });
  }
}

function sameDecision(a: Decision, b: Decision): boolean {
  const { by: _a, ...left } = a;
  const { by: _b, ...right } = (typeof b === 'object' && b !== null ? b : {}) as Decision;
  return JSON.stringify(left) === JSON.stringify(right);
}

function interruptedResult(snapshot: RunSnapshot): AgentResult {
  const response = snapshot.pending?.response ?? {
    message: { role: 'assistant', content: '' },
    finishReason: 'other',
  };
  return {
    runId: snapshot.runId,
    transcript: snapshot.transcript as Message[],
    response,
    text: '',
    turns: [],
    usage: snapshot.usage,
    stopReason: 'interrupted',
    state: snapshot.state,
    interruptions: snapshot.interruptions,
    snapshot,
  };
}
