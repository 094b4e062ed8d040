import { readFile, stat } from 'node:fs/promises';
import { InspectorError } from './errors.js';

/** The recording format version this inspector reads. */
export const INSPECTOR_FORMAT_VERSION = 1;

/** At most this many bad lines are listed one by one; the rest are counted. */
const MAX_LISTED_PROBLEMS = 200;

/** A line of a recording that could not be read: its 1-based number and why (never its content). */
export interface RecordingProblem {
  readonly line: number;
  readonly message: string;
}

/** A recording as the page receives it: the records that parsed, and the lines that did not. */
export interface LoadedRecording {
  /** Where it came from (a file name), shown in the page's title. */
  readonly source: string;
  /** The format version the header names, when there is a header. */
  readonly version: number | undefined;
  /** Set when the version is not one this inspector reads; the page shows it instead of the records. */
  readonly versionError: string | undefined;
  readonly records: readonly Record<string, unknown>[];
  /** The first bad lines, at most 200. */
  readonly problems: readonly RecordingProblem[];
  /** How many bad lines there were in all. */
  readonly problemCount: number;
}

/**
 * Reads NDJSON recording text line by line. A line that is not JSON (a truncated last line, a
 * corrupt one) or not a record becomes a problem naming its line number, and the rest is kept.
 */
export function readRecordingText(text: string, source: string): LoadedRecording {
  const records: Record<string, unknown>[] = [];
  const problems: RecordingProblem[] = [];
  let problemCount = 0;
  let version: number | undefined;
  const problem = (line: number, message: string) => {
    problemCount++;
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push({ line, message });
  };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      problem(i + 1, i === lines.length - 1 ? 'not valid JSON (the file looks truncated here)' : 'not valid JSON');
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problem(i + 1, 'not a JSON object');
      continue;
    }
    const record = value as Record<string, unknown>;
    if (typeof record['type'] !== 'string') {
      problem(i + 1, 'has no string `type`');
      continue;
    }
    if (record['type'] === 'header' && version === undefined) {
      version = typeof record['version'] === 'number' ? record['version'] : Number.NaN;
    }
    records.push(record);
  }
  const versionError =
    version === undefined || version === INSPECTOR_FORMAT_VERSION
      ? undefined
      : `${source} is a recording in format version ${Number.isNaN(version) ? 'unknown' : version}; ` +
        `this modelware reads version ${INSPECTOR_FORMAT_VERSION}. Open it with the modelware version that ` +
        'recorded it, or record it again.';
  return { source, version, versionError, records, problems, problemCount };
}

/**
 * Reads a recording file, refusing one larger than `maxBytes` before reading it.
 * Throws `InspectorError` (`FILE_UNREADABLE`, `FILE_TOO_LARGE`, `NOT_A_RECORDING`).
 */
export async function loadRecordingFile(
  path: string,
  options: { readonly maxBytes: number; readonly maxOption?: string },
): Promise<LoadedRecording> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
  } catch (error) {
    throw new InspectorError({
      code: 'FILE_UNREADABLE',
      message: `modelware inspect: cannot read \`${path}\` (${(error as NodeJS.ErrnoException).code ?? 'not a regular file'}). Pass the path of an .ndjson recording.`,
      cause: error,
    });
  }
  if (size > options.maxBytes) {
    const option = options.maxOption ?? 'maxBytes';
    throw new InspectorError({
      code: 'FILE_TOO_LARGE',
      option,
      message:
        `modelware inspect: \`${path}\` is ${formatMb(size)} MB, over the limit of ${formatMb(options.maxBytes)} MB ` +
        `(${option}). Raise ${option} if you mean to open it.`,
    });
  }
  const loaded = readRecordingText(await readFile(path, 'utf8'), path);
  if (loaded.records.length === 0 || loaded.version === undefined) {
    throw new InspectorError({
      code: 'NOT_A_RECORDING',
      message: `modelware inspect: \`${path}\` does not start with a recording header (a \`{"type":"header",...}\` line). Record one with the recorder, or check the path.`,
    });
  }
  return loaded;
}

function formatMb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 2 : 1);
}
