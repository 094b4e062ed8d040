import { readFile, stat } from 'node:fs/promises';
import { RecordingFormatError } from '../core/errors.js';
import { parseRecording, RECORDING_FORMAT_VERSION, type RecordingProblem } from '../core/recording.js';
import { InspectorError } from './errors.js';

/** At most this many bad lines are listed one by one; the rest are counted. */
const MAX_LISTED_PROBLEMS = 200;

/** A recording as the page receives it: the records that parsed, and the lines that did not. */
export interface LoadedRecording {
  /** Where it came from (a file name), shown in the page's title. */
  readonly source: string;
  /** The format version the header names, when there is a header. */
  readonly version: number | undefined;
  /** Set when the version is not one this inspector reads; the page shows it instead of the records. */
  readonly versionError: string | undefined;
  /** The records that match the schema (`RecordingRecordSchema`), in order. */
  readonly records: readonly Readonly<Record<string, unknown>>[];
  /** The first bad lines, at most 200, by 1-based number and what is wrong (never their content). */
  readonly problems: readonly RecordingProblem[];
  /** How many bad lines there were in all. */
  readonly problemCount: number;
}

/**
 * Reads NDJSON recording text with `parseRecording`: a line that is not JSON (a truncated last
 * line, a corrupt one) or not a record becomes a problem naming its line number, and the rest is
 * kept. A header of another format version sets `versionError` instead of throwing.
 */
export function readRecordingText(text: string, source: string): LoadedRecording {
  try {
    const { header, records, problems } = parseRecording(text);
    return {
      source,
      version: header?.version,
      versionError: undefined,
      records: records as readonly Readonly<Record<string, unknown>>[],
      problems: problems.slice(0, MAX_LISTED_PROBLEMS),
      problemCount: problems.length,
    };
  } catch (error) {
    if (!RecordingFormatError.isInstance(error)) throw error;
    const version = headerVersion(text);
    return {
      source,
      version,
      versionError:
        `${source} is a recording in format version ${version ?? 'unknown'}; this modelware reads version ` +
        `${RECORDING_FORMAT_VERSION}. Open it with the modelware version that recorded it, or record it again.`,
      records: [],
      problems: [],
      problemCount: 0,
    };
  }
}

/** The version the first header line names (only called once `parseRecording` refused it). */
function headerVersion(text: string): number | undefined {
  for (const line of text.split('\n', 50)) {
    try {
      const value = JSON.parse(line) as { type?: unknown; version?: unknown };
      if (value?.type === 'header' && typeof value.version === 'number') return value.version;
    } catch {
      // not the header
    }
  }
  return undefined;
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
  if (loaded.version === undefined) {
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
