import { ModelwareError, ProviderError, RecordingFormatError, ReplayError } from '../core/errors.js';
import type { ExecuteOptions, Executor, ReadonlyModelRequest } from '../core/executor.js';
import {
  fingerprintDifference,
  hashValue,
  messageFingerprint,
  messagesHash,
  requestHashOf,
} from '../core/fingerprint.js';
import type { Message, ModelResponse, StreamPart } from '../core/messages.js';
import {
  type MessageFingerprint,
  type RecordedChange,
  type RecordingRecord,
  type RecordingRecordOf,
  parseRecording,
} from '../core/recording.js';
import { responseToParts } from '../core/stream.js';

/** A recording as NDJSON text, its records, or anything holding them (`memorySink()`, `parseRecording()`'s result). */
export type RecordingInput = string | readonly RecordingRecord[] | { readonly records: readonly RecordingRecord[] };

function recordsOf(recording: RecordingInput, where: string): readonly RecordingRecord[] {
  if (typeof recording === 'string') {
    const { records, problems } = parseRecording(recording);
    if (problems.length > 0) {
      const lines = problems.slice(0, 5).map((p) => p.line);
      throw new RecordingFormatError(
        'RECORDING_CORRUPT',
        `${where}: the recording has ${problems.length} bad line(s) (line ${lines.join(', ')}${problems.length > 5 ? ', ...' : ''}); a replay needs every record. Check it with parseRecording().`,
      );
    }
    return records;
  }
  if (Array.isArray(recording)) return recording as readonly RecordingRecord[];
  if (
    typeof recording === 'object' &&
    recording !== null &&
    Array.isArray((recording as { records?: unknown }).records)
  ) {
    return (recording as { records: readonly RecordingRecord[] }).records;
  }
  throw new TypeError(`${where}: expected a recording (NDJSON text, an array of records, or a sink with \`records\`).`);
}

/** One dispatch as a replay needs it, with the message fingerprints made whole again. */
interface Expected {
  readonly record: RecordingRecordOf<'dispatch'>;
  readonly fingerprints: readonly MessageFingerprint[];
}

function expectedDispatches(records: readonly RecordingRecord[]): Expected[] {
  const runOf = new Map<string, string>();
  const previous = new Map<string, readonly MessageFingerprint[]>();
  const out: Expected[] = [];
  for (const record of records) {
    if (record.type === 'call_start' && record.runId !== undefined) runOf.set(record.callId, record.runId);
    if (record.type !== 'dispatch') continue;
    // The same key the recorder used: the run, or the call outside runs.
    const key = runOf.get(record.callId) ?? record.callId;
    const before = previous.get(key) ?? [];
    const fingerprints = [...before.slice(0, record.from), ...record.fingerprints];
    previous.set(key, fingerprints);
    out.push({ record, fingerprints });
  }
  return out;
}

/** A replay executor, with what it has answered so far. */
export interface ReplayExecutor extends Executor {
  readonly name: string;
  /** Executor calls answered so far. */
  readonly calls: number;
  /** Executor calls the recording holds. */
  readonly total: number;
}

/**
 * An executor that answers from a recording made with `recorder({ captureContent: true })`: the
 * N-th executor call gets the N-th recorded dispatch's response (or its error, thrown again with
 * the same `retryable`), after the request is checked against the recorded one. Put it where the
 * recorded executor was, under the same middleware, and the run re-runs offline and
 * deterministically. On a difference it throws `ReplayError` naming the call, the first differing
 * message by index and role, and the field (no content).
 *
 * @example
 * const app = pipeline(replayExecutor(readFileSync('run.ndjson', 'utf8'))).use(...sameLayers);
 * const result = await runAgent({ model: app, messages, tools });
 */
export function replayExecutor(recording: RecordingInput): ReplayExecutor {
  const expected = expectedDispatches(recordsOf(recording, 'replayExecutor()'));
  let next = 0;

  function answer(request: ReadonlyModelRequest): ModelResponse {
    const call = next++;
    const entry = expected[call];
    if (entry === undefined) {
      throw new ReplayError({
        code: 'REPLAY_EXHAUSTED',
        call,
        message: `replayExecutor(): executor call #${call} has no recorded dispatch (the recording holds ${expected.length}). The run makes more model calls than the recorded one.`,
      });
    }
    check(request, entry, call);
    const { record } = entry;
    if (record.error !== undefined) {
      const { name, code, retryable = false } = record.error;
      throw new ProviderError({
        provider: 'replay',
        message: `replayExecutor(): call #${call} failed in the recording with ${name}${code ? ` (${code})` : ''}; replayed.`,
        retryable,
        code,
      });
    }
    if (record.response === undefined) {
      throw new ReplayError({
        code: 'REPLAY_NO_RESPONSE',
        call,
        message: `replayExecutor(): the recording holds no response for call #${call}. Record with recorder({ captureContent: true }) to replay.`,
      });
    }
    return structuredClone(record.response) as ModelResponse;
  }

  return {
    name: 'replay',
    get calls() {
      return next;
    },
    total: expected.length,
    async generate(request: ReadonlyModelRequest, options?: ExecuteOptions) {
      options?.signal?.throwIfAborted();
      return answer(request);
    },
    async *stream(request: ReadonlyModelRequest, options?: ExecuteOptions): AsyncGenerator<StreamPart> {
      options?.signal?.throwIfAborted();
      yield* responseToParts(answer(request));
    },
  };
}

function check(request: ReadonlyModelRequest, { record, fingerprints }: Expected, call: number): void {
  const live = request.messages.map((m) => messageFingerprint(m as Message));
  const optionsHash = hashValue(request.options ?? null);
  const toolsHash = hashValue(request.tools ?? null);
  if (requestHashOf(request.model, messagesHash(live), optionsHash, toolsHash) === record.requestHash) return;
  const n = Math.min(live.length, fingerprints.length);
  for (let i = 0; i < n; i++) {
    const field = fingerprintDifference(fingerprints[i] as MessageFingerprint, live[i] as MessageFingerprint);
    if (field !== undefined)
      throw diverged(
        call,
        `message ${i} (${fingerprints[i]?.role}) differs in \`${field}\``,
        i,
        fingerprints[i]?.role,
        field,
      );
  }
  if (live.length !== fingerprints.length) {
    const i = n;
    const role = (live[i] ?? fingerprints[i])?.role;
    const what = live.length > fingerprints.length ? 'has an extra' : 'lacks the recorded';
    throw diverged(
      call,
      `the request ${what} message ${i} (${role}): ${live.length} messages, ${fingerprints.length} recorded`,
      i,
      role,
      'messages.length',
    );
  }
  const field = optionsHash !== record.optionsHash ? 'options' : toolsHash !== record.toolsHash ? 'tools' : 'model';
  throw diverged(call, `the messages match but \`${field}\` differs`, undefined, undefined, field);
}

function diverged(
  call: number,
  what: string,
  index: number | undefined,
  role: string | undefined,
  field: string,
): ReplayError {
  return new ReplayError({
    code: 'REPLAY_DIVERGED',
    call,
    index,
    role,
    field,
    message: `replayExecutor(): executor call #${call} diverged from the recording: ${what}. A layer, the input or a tool now behaves differently; record again if that is intended.`,
  });
}

/**
 * What each layer changed, one line per change, for snapshot tests of middleware:
 * `#<call> <layer> <target>: <change>`, calls numbered from 1 in the order they started. Lines hold
 * roles, indices and lengths (and option values that are numbers or booleans), never content.
 *
 * @example
 * layerChanges(sink); // ['#1 tokenBudget request: message_removed [2] tool(617)', ...]
 */
export function layerChanges(recording: RecordingInput): string[] {
  const records = recordsOf(recording, 'layerChanges()');
  const number = new Map<string, number>();
  const lines: string[] = [];
  for (const record of records) {
    if (record.type === 'call_start') number.set(record.callId, number.size + 1);
    if (record.type !== 'change') continue;
    const n = number.get(record.callId) ?? 0;
    for (const change of record.changes)
      lines.push(`#${n} ${record.layer} ${record.target}: ${describeChange(change)}`);
  }
  return lines;
}

function describeChange(change: RecordedChange): string {
  switch (change.kind) {
    case 'message_added':
    case 'message_removed':
      return `${change.kind} [${change.index}] ${change.shape.role}(${change.shape.length})`;
    case 'text_replaced':
      return `text_replaced [${change.index}] ${change.role} ${change.from}→${change.to}`;
    case 'message_changed':
      return `message_changed [${change.index}] ${change.role} ${change.fields.join(',')}`;
    case 'option_changed':
      return `option_changed ${change.key}${values(change)}`;
    case 'field_changed':
      return `field_changed ${change.field}${values(change, change.field === 'model' || change.field === 'finishReason')}`;
  }
}

function values(change: { readonly before?: unknown; readonly after?: unknown }, names = false): string {
  const shown = (v: unknown) =>
    typeof v === 'number' ||
    typeof v === 'boolean' ||
    v === null ||
    v === undefined ||
    (names && typeof v === 'string');
  if (!('before' in change) && !('after' in change)) return '';
  if (!shown(change.before) || !shown(change.after)) return '';
  return ` ${String(change.before)}→${String(change.after)}`;
}

/**
 * Asserts `layerChanges(recording)` equals `expected`, line for line; the error names the first
 * differing line and shows both.
 *
 * @example
 * assertLayerChanges(sink, ['#1 redactPii request: text_replaced [1] user 42→40']);
 */
export function assertLayerChanges(recording: RecordingInput, expected: readonly string[]): void {
  const actual = layerChanges(recording);
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] === expected[i]) continue;
    throw new ModelwareError(
      `assertLayerChanges(): line ${i + 1} differs.\n  expected: ${expected[i] ?? '(nothing)'}\n  actual:   ${actual[i] ?? '(nothing)'}\nAll actual lines:\n${actual.map((l) => `  ${l}`).join('\n')}`,
    );
  }
}
