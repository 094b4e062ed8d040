import { z } from 'zod';
import { RecordingFormatError } from './errors.js';

/**
 * The recording format: NDJSON, one record a line, the first line a `header`. Every record has a
 * `type` and `t`, milliseconds since the recording started (monotonic clock). docs/recording.md
 * documents each record; this file is the schema the recorder writes and `parseRecording` checks.
 *
 * Content (message text, tool input and results, responses) appears only in the optional fields
 * marked "with captureContent"; without it a recording holds roles, lengths, shapes, ids, model
 * names, timings, usage and errors' names, codes and layers.
 */

/** The version this library writes and reads. A reader refuses any other major version. */
export const RECORDING_FORMAT_VERSION = 1;

const ms = z.number().nonnegative();
const count = z.number().int().nonnegative();
const id = z.string().max(200);

/** An error as recorded: its class name, `code`, the layer that raised it; the message only when safe. */
export const RecordedErrorSchema = z.object({
  name: z.string(),
  code: z.string().optional(),
  layer: z.string().optional(),
  /** Only for modelware's own errors (which never print content) or with captureContent. */
  message: z.string().optional(),
  /** Whether another attempt may succeed (`isRetryable`); a replay throws it back the same way. */
  retryable: z.boolean().optional(),
});

/** Role, text length and part types of one message: what a recording shows without content. */
export const MessageShapeSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  /** Characters of text (text and reasoning parts; a tool result's content). */
  length: count,
  /** Part types in order, for array content (`['text', 'tool-call']`). */
  parts: z.array(z.string()).optional(),
  toolCallId: id.optional(),
  toolName: id.optional(),
});

/**
 * A message as a replay compares it: role, a hash of the content, and the non-content fields.
 * `content` is a hash (no content can be read back from it).
 */
export const MessageFingerprintSchema = z.object({
  role: z.string(),
  content: z.string(),
  toolCallId: id.optional(),
  toolName: id.optional(),
  isError: z.boolean().optional(),
});

/** One readable change a layer made, derived from the request (or response) before and after its update. */
export const ChangeSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('message_added'),
    /** Index in the messages after the change. */
    index: count,
    shape: MessageShapeSchema,
    /** With captureContent: the message. */
    message: z.unknown().optional(),
  }),
  z.object({
    kind: z.literal('message_removed'),
    /** Index in the messages before the change. */
    index: count,
    shape: MessageShapeSchema,
    message: z.unknown().optional(),
  }),
  z.object({
    kind: z.literal('text_replaced'),
    index: count,
    role: z.string(),
    /** Text length before and after. */
    from: count,
    to: count,
    /** With captureContent: the text before and after. */
    before: z.string().optional(),
    after: z.string().optional(),
  }),
  z.object({
    kind: z.literal('message_changed'),
    index: count,
    role: z.string(),
    /** Which fields of the message changed (`content`, `role`, `toolCallId`, `isError`, ...). */
    fields: z.array(z.string()),
    shape: MessageShapeSchema,
    /** With captureContent: the message before and after. */
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  }),
  z.object({
    kind: z.literal('option_changed'),
    /** The key under `options` (`temperature`, `maxOutputTokens`, ...). */
    key: z.string(),
    /** Numbers, booleans and null always; other values with captureContent. `undefined`: absent. */
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  }),
  z.object({
    kind: z.literal('field_changed'),
    /** A top-level field: `model`, `tools`, `metadata`, `finishReason`, `usage`, ... */
    field: z.string(),
    /** `model`, `finishReason` and numbers always; other values with captureContent. */
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  }),
]);

const UsageSchema = z.object({
  inputTokens: count,
  outputTokens: count,
  totalTokens: count.optional(),
  cachedInputTokens: count.optional(),
  reasoningTokens: count.optional(),
});

const base = { t: ms };

export const HeaderRecordSchema = z.object({
  type: z.literal('header'),
  ...base,
  format: z.literal('modelware.recording'),
  version: z.number().int().positive(),
  /** Wall-clock time of `t = 0`, ISO 8601. */
  startedAt: z.string(),
  captureContent: z.boolean(),
});

export const RunStartRecordSchema = z.object({
  type: z.literal('run_start'),
  ...base,
  runId: id,
  model: z.string().optional(),
  /** Messages the run started with. */
  messages: count,
});

export const RunEndRecordSchema = z.object({
  type: z.literal('run_end'),
  ...base,
  runId: id,
  durationMs: ms,
  turns: count,
  stopReason: z.string().optional(),
  usage: UsageSchema.optional(),
  costUsd: z.number().nonnegative().optional(),
  error: RecordedErrorSchema.optional(),
});

export const TurnStartRecordSchema = z.object({ type: z.literal('turn_start'), ...base, runId: id, turn: count });

export const TurnEndRecordSchema = z.object({
  type: z.literal('turn_end'),
  ...base,
  runId: id,
  turn: count,
  durationMs: ms,
  error: RecordedErrorSchema.optional(),
});

export const CallStartRecordSchema = z.object({
  type: z.literal('call_start'),
  ...base,
  callId: id,
  parentId: id.optional(),
  runId: id.optional(),
  turn: count.optional(),
  mode: z.enum(['generate', 'stream']),
  /** The requested model. */
  model: z.string(),
  /** Messages in the request as the recorder's layer received it. */
  messages: count,
  /**
   * The messages not in the previous call of the same run (by identity), from index `from`: the
   * whole request for the first call, the new turn's messages after that. Keeps a recording's size
   * per turn flat in the number of turns.
   */
  from: count,
  shapes: z.array(MessageShapeSchema),
  /** With captureContent: the messages from `from` on. */
  content: z.array(z.unknown()).optional(),
  tools: z.array(z.string()),
  options: z.array(z.string()),
});

export const LayerRecordSchema = z.object({
  type: z.literal('layer'),
  ...base,
  callId: id,
  /**
   * The call's attempt when the layer was entered: 1, then one more for each `attempt` record (a
   * replay layer such as retry or fallback re-running the layers inside it).
   */
  attempt: count,
  layer: z.string(),
  /** Position in the stack (0 = outermost). */
  index: count,
  /**
   * `enter`: the layer starts; `next`: it calls `next()` (goes inward); `back`: `next()` settled
   * (comes back out); `exit`: the layer is done. Time between enter and next is the layer's work on
   * the way in; between back and exit, its work on the way out.
   */
  phase: z.enum(['enter', 'next', 'back', 'exit']),
  error: RecordedErrorSchema.optional(),
});

export const ChangeRecordSchema = z.object({
  type: z.literal('change'),
  ...base,
  callId: id,
  attempt: count,
  layer: z.string(),
  target: z.enum(['request', 'response']),
  changes: z.array(ChangeSchema),
});

export const AttemptRecordSchema = z.object({
  type: z.literal('attempt'),
  ...base,
  callId: id,
  /** The replay layer starting the attempt. */
  layer: z.string(),
  /** The attempt now starting, numbered across the call: 2 for the first retry; each `attempt` record adds one. */
  attempt: count,
  /** What ended the previous attempt, if it failed. */
  error: RecordedErrorSchema.optional(),
});

export const DispatchRecordSchema = z.object({
  type: z.literal('dispatch'),
  ...base,
  callId: id,
  attempt: count,
  /** The model dispatched to (the resolved model). */
  model: z.string(),
  durationMs: ms,
  /** Hash of the request the executor received (model, messages, tools, options). */
  requestHash: z.string(),
  /** Messages in that request. */
  messages: count,
  /** Fingerprints of the messages from index `from` on; the ones before are those of the previous dispatch of the same run. */
  from: count,
  fingerprints: z.array(MessageFingerprintSchema),
  optionsHash: z.string(),
  toolsHash: z.string(),
  /** With captureContent: the executor's response (generate mode), or the assembled one (stream mode). */
  response: z.unknown().optional(),
  error: RecordedErrorSchema.optional(),
});

export const StreamRecordSchema = z.object({
  type: z.literal('stream'),
  ...base,
  callId: id,
  /** From `next()` settling to the first part; absent when no part came. */
  firstPartMs: ms.optional(),
  parts: count,
  durationMs: ms,
  /** The consumer stopped early or the call was aborted. */
  aborted: z.boolean().optional(),
  error: RecordedErrorSchema.optional(),
});

export const PluginRecordSchema = z.object({
  type: z.literal('plugin'),
  ...base,
  callId: id.optional(),
  runId: id.optional(),
  plugin: z.string(),
  hook: z.string(),
  decision: z.enum(['modified', 'blocked', 'violation', 'error', 'disabled']),
  /** The violation code, or the error's code. */
  code: z.string().optional(),
});

export const ToolRecordSchema = z.object({
  type: z.literal('tool'),
  ...base,
  runId: id.optional(),
  turn: count.optional(),
  toolCallId: id,
  tool: z.string(),
  durationMs: ms,
  isError: z.boolean(),
  /** Tool layers inside the recorder changed the input the model sent. */
  inputChanged: z.boolean(),
  /** Tool layers inside the recorder changed the tool's result; absent when the recorder cannot tell. */
  resultChanged: z.boolean().optional(),
  /** Length of the result text. */
  resultLength: count,
  /** With captureContent: the input as the model sent it and the result as persisted. */
  input: z.unknown().optional(),
  result: z.string().optional(),
  error: RecordedErrorSchema.optional(),
});

export const CallEndRecordSchema = z.object({
  type: z.literal('call_end'),
  ...base,
  callId: id,
  durationMs: ms,
  requestedModel: z.string(),
  resolvedModel: z.string(),
  /** The model the provider reported, if any. */
  responseModel: z.string().optional(),
  /** Executor dispatches this call made (retries and fallbacks included). */
  attempts: count,
  finishReason: z.string().optional(),
  usage: UsageSchema.optional(),
  costUsd: z.number().nonnegative().optional(),
  /** The response message's shape (role, length, parts). */
  shape: MessageShapeSchema.optional(),
  /** With captureContent: the response as the recorder's layer saw it. */
  response: z.unknown().optional(),
  error: RecordedErrorSchema.optional(),
});

/** Written once when a sink drops records (its byte bound reached, or a live consumer too slow). */
export const DroppedRecordSchema = z.object({
  type: z.literal('dropped'),
  ...base,
  reason: z.enum(['max_bytes', 'backpressure']),
});

export const RecordingRecordSchema = z.discriminatedUnion('type', [
  HeaderRecordSchema,
  RunStartRecordSchema,
  RunEndRecordSchema,
  TurnStartRecordSchema,
  TurnEndRecordSchema,
  CallStartRecordSchema,
  LayerRecordSchema,
  ChangeRecordSchema,
  AttemptRecordSchema,
  DispatchRecordSchema,
  StreamRecordSchema,
  PluginRecordSchema,
  ToolRecordSchema,
  CallEndRecordSchema,
  DroppedRecordSchema,
]);

export type RecordedError = z.infer<typeof RecordedErrorSchema>;
export type MessageShape = z.infer<typeof MessageShapeSchema>;
export type MessageFingerprint = z.infer<typeof MessageFingerprintSchema>;
export type RecordedChange = z.infer<typeof ChangeSchema>;
export type RecordingRecord = z.infer<typeof RecordingRecordSchema>;
export type RecordingRecordType = RecordingRecord['type'];
/** The record of one `type`. */
export type RecordingRecordOf<T extends RecordingRecordType> = Extract<RecordingRecord, { type: T }>;

/**
 * Where a recorder writes. `write` is called synchronously for each record, in order, starting with
 * the header; it must not throw and must not block (buffer, and drop past a bound, writing one
 * `dropped` record). `close` flushes and releases what the sink holds. The recorder ships
 * `memorySink`, `fileSink` and `callbackSink`; a live viewer plugs in its own (see docs/recording.md).
 */
export interface RecordingSink {
  write(record: RecordingRecord): void;
  close?(): Promise<void> | void;
}

/** A line `parseRecording` could not read: its 1-based number and what is wrong (never its content). */
export interface RecordingProblem {
  readonly line: number;
  readonly message: string;
}

/** What `parseRecording` returns: the header, the good records in order, and the bad lines. */
export interface ParsedRecording {
  readonly header: RecordingRecordOf<'header'> | undefined;
  readonly records: readonly RecordingRecord[];
  readonly problems: readonly RecordingProblem[];
}

/** Lines longer than this are reported, not parsed (a corrupt file can hold one huge line). */
const MAX_LINE_CHARS = 64 * 1024 * 1024;

/**
 * Reads an NDJSON recording line by line: each line is parsed and checked against
 * `RecordingRecordSchema`; a bad line (truncated, not JSON, an unknown record) is reported in
 * `problems` by its number and the rest are kept. Throws `RecordingFormatError` only when the
 * header names another format version. Blank lines are skipped.
 *
 * @example
 * const { records, problems } = parseRecording(await readFile('run.ndjson', 'utf8'));
 * for (const p of problems) console.warn(`line ${p.line}: ${p.message}`);
 */
export function parseRecording(text: string): ParsedRecording {
  if (typeof text !== 'string') {
    throw new TypeError(`parseRecording(): expected the recording as a string, got ${typeof text}.`);
  }
  const records: RecordingRecord[] = [];
  const problems: RecordingProblem[] = [];
  let header: RecordingRecordOf<'header'> | undefined;
  let start = 0;
  let line = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    if (raw.length === 0) continue;
    const record = parseLine(raw, line, problems);
    if (record === undefined) continue;
    if (record.type === 'header') {
      if (record.version !== RECORDING_FORMAT_VERSION) {
        throw new RecordingFormatError(
          'RECORDING_VERSION',
          `parseRecording(): line ${line} is a header of recording format version ${record.version}; this modelware reads version ${RECORDING_FORMAT_VERSION}. Open it with a matching modelware version.`,
        );
      }
      if (header) {
        problems.push({ line, message: 'a second header; a recording has one, on its first line' });
        continue;
      }
      header = record;
    } else if (!header && records.length === 0 && problems.length === 0) {
      problems.push({ line, message: 'the recording does not start with a header record' });
    }
    records.push(record);
  }
  return { header, records, problems };
}

function parseLine(raw: string, line: number, problems: RecordingProblem[]): RecordingRecord | undefined {
  if (raw.length > MAX_LINE_CHARS) {
    problems.push({ line, message: `the line is longer than ${MAX_LINE_CHARS} characters` });
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    problems.push({ line, message: 'not valid JSON (truncated or corrupt)' });
    return undefined;
  }
  const result = RecordingRecordSchema.safeParse(value);
  if (result.success) return result.data;
  // Issues name paths and expectations, never the received values.
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const kind = typeof type === 'string' && /^[a-z_]{1,30}$/.test(type) ? `a \`${type}\` record` : 'a record';
  problems.push({ line, message: `${kind} that does not match the schema${where}: ${issue?.code ?? 'invalid'}` });
  return undefined;
}
