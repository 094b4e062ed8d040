import { z } from 'zod';
import { SnapshotError, type SnapshotIssue } from '../core/errors.js';
import {
  MessageSchema,
  type Message,
  type ModelResponse,
  ModelResponseSchema,
  type ToolMessage,
  ToolMessageSchema,
  type Usage,
  UsageSchema,
  toolCallsOf,
} from '../core/messages.js';
import { checkToolPairing } from '../core/validate.js';
import { isQuickValidMessage, isQuickValidResponse } from '../internal/quick-check.js';
import type { Interruption } from './interrupts.js';

/** The version of the snapshot format this package writes and reads. */
export const RUN_SNAPSHOT_VERSION = 1;

/** The turn an interruption cut short: the model's response, and the results its calls already have. */
export interface PendingTurn {
  /** The response whose tool calls wait; its `message` is not in `transcript` yet. */
  readonly response: ModelResponse;
  /** Results of that turn's calls that needed no decision, in call order. */
  readonly results: readonly ToolMessage[];
}

/**
 * An interrupted (or finished) run as plain JSON data: `JSON.stringify` it anywhere, and resume it
 * in any process with `runAgent({ resume: { snapshot: loadRunSnapshot(json), decisions } })`.
 * `transcript` is always valid to send (no unanswered tool call): the pending turn is kept apart.
 */
export interface RunSnapshot {
  readonly version: 1;
  readonly runId: string;
  /**
   * `interrupted`: waiting for `interruptions` to be decided. `running`: a checkpoint of a run in
   * progress (a run store's); calls of the pending turn with neither a result nor an interruption
   * run again on resume, as the model asked. `finished`: it cannot be resumed.
   */
  readonly status: RunSnapshotStatus;
  /** The model id the run's requests named. */
  readonly modelId: string;
  /** Turns (model calls) made so far; the pending turn is one of them. */
  readonly turn: number;
  readonly usage: Usage;
  readonly transcript: readonly Message[];
  readonly pending: PendingTurn | null;
  readonly interruptions: readonly Interruption[];
  /** The run state keys listed in `persistState`, copied as JSON. */
  readonly state: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Where a snapshotted run stands. */
export type RunSnapshotStatus = 'interrupted' | 'running' | 'finished';

const MAX_ISSUES = 20;
const Id = z.string().min(1);

const InterruptionSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('tool-call'),
    toolCallId: Id,
    toolName: Id,
    input: z.unknown(),
    payload: z.unknown(),
    source: z.enum(['tool', 'layer', 'plugin']),
    by: z.string(),
    turn: z.number().int().positive(),
  }),
  z.strictObject({
    kind: z.literal('pause'),
    payload: z.unknown(),
    source: z.literal('layer'),
    by: z.string(),
    turn: z.number().int().nonnegative(),
  }),
]);

/**
 * The zod schema of `RunSnapshot` v1. Messages are checked by `loadRunSnapshot` with the message
 * schemas (a fast path first), so here they are `unknown` and the schema stays cheap to run.
 */
export const RunSnapshotSchema = z.strictObject({
  version: z.literal(RUN_SNAPSHOT_VERSION),
  runId: Id,
  status: z.enum(['interrupted', 'running', 'finished']),
  modelId: Id,
  turn: z.number().int().nonnegative(),
  usage: UsageSchema,
  transcript: z.array(z.unknown()),
  pending: z.strictObject({ response: z.unknown(), results: z.array(z.unknown()) }).nullable(),
  interruptions: z.array(InterruptionSchema),
  state: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
});

/**
 * Checks a snapshot (an object, or its JSON text) and returns it typed. Everything is checked:
 * the format version, the shape, every message against the message schemas, tool results paired
 * with their calls, and the pending turn against its interruptions. The objects are kept as given
 * (not copied).
 *
 * @throws SnapshotError `SNAPSHOT_NOT_JSON`, `SNAPSHOT_VERSION` or `SNAPSHOT_INVALID` (with `issues`: paths
 * and codes, never content).
 *
 * @example
 * const snapshot = loadRunSnapshot(await readFile('run.json', 'utf8'));
 */
export function loadRunSnapshot(input: unknown): RunSnapshot {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new SnapshotError({
        code: 'SNAPSHOT_NOT_JSON',
        message: `loadRunSnapshot(): the text is not JSON (${(error as Error).name}). Pass the string JSON.stringify(result.snapshot) produced, or the parsed object.`,
      });
    }
  }
  const version = typeof value === 'object' && value !== null ? (value as { version?: unknown }).version : undefined;
  if (version !== RUN_SNAPSHOT_VERSION) {
    throw new SnapshotError({
      code: 'SNAPSHOT_VERSION',
      issues: [{ path: ['version'], code: 'invalid_value' }],
      message: `loadRunSnapshot(): expected a run snapshot of version ${RUN_SNAPSHOT_VERSION}, got ${typeof version === 'number' ? `version ${version}` : `no valid \`version\` (${kindOf(version)})`}. A snapshot is read by the modelware version line that wrote it; finish the run there, or start a new run from its transcript.`,
    });
  }
  const parsed = RunSnapshotSchema.safeParse(value);
  if (!parsed.success) throw invalid(parsed.error.issues.map((issue) => toIssue(issue)));
  const snapshot = value as RunSnapshot;
  const issues: SnapshotIssue[] = [];
  checkMessages(snapshot.transcript, ['transcript'], MessageSchema, issues);
  const pending = snapshot.pending;
  if (pending) {
    if (!isQuickValidResponse(pending.response)) {
      const r = ModelResponseSchema.safeParse(pending.response);
      if (!r.success) for (const issue of r.error.issues) addIssue(issues, toIssue(issue, ['pending', 'response']));
    }
    checkMessages(pending.results, ['pending', 'results'], ToolMessageSchema, issues);
  }
  if (issues.length > 0) throw invalid(issues);
  checkConsistency(snapshot, issues);
  if (issues.length > 0) throw invalid(issues);
  return snapshot;
}

function checkMessages(
  messages: readonly unknown[],
  at: readonly PropertyKey[],
  schema: z.ZodType,
  issues: SnapshotIssue[],
): void {
  for (let i = 0; i < messages.length && issues.length < MAX_ISSUES; i++) {
    const message = messages[i];
    if (isQuickValidMessage(message) && (schema === MessageSchema || (message as Message).role === 'tool')) continue;
    const r = schema.safeParse(message);
    if (!r.success) for (const issue of r.error.issues) addIssue(issues, toIssue(issue, [...at, i]));
  }
}

/** What the schema cannot say: pairing, and the pending turn agreeing with its interruptions. */
function checkConsistency(s: RunSnapshot, issues: SnapshotIssue[]): void {
  const pairing = checkToolPairing(s.transcript);
  if (pairing) addIssue(issues, { path: ['transcript', ...pairing.path.slice(1)], code: 'custom' });
  const waiting = s.interruptions.filter((i) => i.kind === 'tool-call');
  // Interrupted means something waits; finished means nothing does (a checkpoint may be either).
  if (
    (s.status === 'interrupted' && s.interruptions.length === 0) ||
    (s.status === 'finished' && (s.interruptions.length > 0 || s.pending !== null))
  ) {
    addIssue(issues, { path: ['status'], code: 'custom' });
  }
  if (s.pending === null) {
    if (waiting.length > 0) addIssue(issues, { path: ['pending'], code: 'custom' });
    return;
  }
  const calls = toolCallsOf(s.pending.response.message);
  const answered = new Set<string>();
  let last = -1;
  s.pending.results.forEach((result, i) => {
    const at = calls.findIndex((c) => c.toolCallId === result.toolCallId);
    // In call order, once each, to a call of the pending message with the same tool name.
    if (at <= last || calls[at]?.toolName !== result.toolName) {
      addIssue(issues, { path: ['pending', 'results', i, 'toolCallId'], code: 'custom' });
    }
    last = Math.max(last, at);
    answered.add(result.toolCallId);
  });
  const held = new Set<string>();
  waiting.forEach((w, i) => {
    const call = calls.find((c) => c.toolCallId === w.toolCallId);
    if (!call || call.toolName !== w.toolName || answered.has(w.toolCallId) || held.has(w.toolCallId)) {
      addIssue(issues, { path: ['interruptions', s.interruptions.indexOf(w), 'toolCallId'], code: 'custom' });
    }
    held.add(w.toolCallId);
    void i;
  });
  calls.forEach((call, i) => {
    if (s.status !== 'running' && !answered.has(call.toolCallId) && !held.has(call.toolCallId)) {
      addIssue(issues, { path: ['pending', 'response', 'message', 'content', i], code: 'custom' });
    }
  });
}

function addIssue(issues: SnapshotIssue[], issue: SnapshotIssue): void {
  if (issues.length < MAX_ISSUES) issues.push(issue);
}

function toIssue(issue: z.core.$ZodIssue, at: readonly PropertyKey[] = []): SnapshotIssue {
  return { path: [...at, ...issue.path], code: issue.code };
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out === '' ? '(root)' : out;
}

function invalid(issues: readonly SnapshotIssue[]): SnapshotError {
  const listed = issues
    .slice(0, 5)
    .map((i) => `${formatIssuePath(i.path)} (${i.code})`)
    .join(', ');
  const more = issues.length > 5 ? ` and ${issues.length - 5} more` : '';
  return new SnapshotError({
    code: 'SNAPSHOT_INVALID',
    issues: issues.slice(0, MAX_ISSUES),
    message: `loadRunSnapshot(): the snapshot is not a valid run snapshot (edited, truncated, or not a snapshot): ${listed}${more}. Load the JSON exactly as \`result.snapshot\` was saved; the error's \`issues\` list every problem found.`,
  });
}

/** @internal What `buildSnapshot` needs from a run: the seam a run store uses too. */
export interface SnapshotSource {
  readonly runId: string;
  readonly status: RunSnapshotStatus;
  readonly modelId: string;
  readonly turn: number;
  readonly usage: Usage;
  /** The transcript without the pending turn's assistant message. */
  readonly transcript: readonly Message[];
  readonly pending: PendingTurn | null;
  readonly interruptions: readonly Interruption[];
  readonly state: object;
  readonly persistState: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * @internal Builds the snapshot of a run. Run state, metadata and interruption payloads are
 * copied as JSON after a check that they are plain data; messages are shared (they are immutable).
 *
 * @throws SnapshotError `SNAPSHOT_NOT_SERIALIZABLE`, naming the state key or field (never the value).
 */
export function buildSnapshot(source: SnapshotSource): RunSnapshot {
  const state = persistedState(source.state, source.persistState, 'snapshot the interrupted run');
  return {
    version: RUN_SNAPSHOT_VERSION,
    runId: source.runId,
    status: source.status,
    modelId: source.modelId,
    turn: source.turn,
    usage: { ...source.usage },
    transcript: source.transcript,
    pending: source.pending,
    interruptions: source.interruptions.map((i, n) => {
      const where = `interruptions[${n}].payload`;
      const payload = plainCopy(i.payload, `the interruption payload (${i.by})`, where);
      const input = i.kind === 'tool-call' ? plainCopy(i.input, 'a tool call input', `interruptions[${n}].input`) : 0;
      return i.kind === 'tool-call' ? { ...i, payload, input } : { ...i, payload };
    }),
    state,
    metadata: plainCopy(source.metadata, 'the run `metadata`', 'metadata') as Record<string, unknown>,
  };
}

/**
 * @internal The `persistState` keys of a run's state, copied as JSON (what a snapshot keeps, and
 * what a checkpoint saves with each answer). `doing` is what the error says could not be done.
 *
 * @throws SnapshotError `SNAPSHOT_NOT_SERIALIZABLE`, naming the key (never the value).
 */
export function persistedState(
  runState: object,
  keys: readonly string[],
  doing = 'snapshot the interrupted run',
): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const key of keys) {
    if (!Object.hasOwn(runState, key)) continue;
    const value = (runState as Record<string, unknown>)[key];
    state[key] = plainCopy(value, `run state \`${key}\``, key, doing);
  }
  return state;
}

function plainCopy(value: unknown, what: string, key: string, doing = 'snapshot the interrupted run'): unknown {
  const problem = findNonJson(value);
  if (problem) {
    const at = problem.path.length > 0 ? ` at ${formatIssuePath(problem.path)}` : '';
    throw new SnapshotError({
      code: 'SNAPSHOT_NOT_SERIALIZABLE',
      key,
      issues: [{ path: problem.path, code: 'custom' }],
      message: `runAgent: cannot ${doing}: ${what} holds ${problem.kind}${at}, which is not plain JSON data. Keep only JSON values there, or leave the key out of \`persistState\`.`,
    });
  }
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** The first value that would not survive a JSON round trip, and where; no recursion. */
function findNonJson(root: unknown): { path: PropertyKey[]; kind: string } | undefined {
  const stack: [unknown, PropertyKey[]][] = [[root, []]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [value, path] = stack.pop() as [unknown, PropertyKey[]];
    switch (typeof value) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (Number.isFinite(value)) continue;
        return { path, kind: 'a non-finite number' };
      case 'object':
        break;
      case 'undefined':
        // An object property set to undefined is dropped, as if absent; elsewhere it is changed.
        if (path.length === 0 || typeof path.at(-1) === 'string') continue;
        return { path, kind: 'undefined' };
      default:
        return { path, kind: `a ${typeof value}` };
    }
    if (value === null) continue;
    // Linear and safe: an object reached twice (a cycle, or shared) is refused rather than walked again.
    if (seen.has(value)) return { path, kind: 'an object reached twice (a reference cycle?)' };
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) stack.push([value[i], [...path, i]]);
      continue;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return { path, kind: typeof name === 'string' && name !== '' ? `a ${name}` : 'a class instance' };
    }
    for (const key of Object.keys(value)) stack.push([(value as Record<string, unknown>)[key], [...path, key]]);
  }
  return undefined;
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}
