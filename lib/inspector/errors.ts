import { ModelwareError } from '../core/errors.js';

const INSPECTOR = Symbol.for('modelware.error.InspectorError');

/** What went wrong, as `InspectorError.code`. */
export type InspectorErrorCode =
  /** The port asked for (`port` with `strictPort`, or `--port`) is taken. */
  | 'PORT_IN_USE'
  /** The recording is larger than `maxBytes` (`--max-mb`). */
  | 'FILE_TOO_LARGE'
  /** The recording file could not be read (missing, a directory, no permission). */
  | 'FILE_UNREADABLE'
  /** The recording's header names a format version this modelware does not read. */
  | 'UNSUPPORTED_VERSION'
  /** The file does not start with a recording header (not an NDJSON recording at all). */
  | 'NOT_A_RECORDING'
  /** The command line could not be understood. */
  | 'BAD_ARGUMENTS';

/**
 * The inspector (`modelware inspect`, `startInspector()`) could not start or could not read a
 * recording. The message says where, what and how to fix it, and never quotes the recording's
 * content (a file name and line numbers at most).
 */
export class InspectorError extends ModelwareError {
  override readonly name = 'InspectorError';
  readonly code: InspectorErrorCode;
  /** The command-line flag or option the problem is about (`--port`, `maxBytes`), when there is one. */
  readonly option: string | undefined;

  constructor(init: { code: InspectorErrorCode; message: string; option?: string | undefined; cause?: unknown }) {
    super(init.message, { cause: init.cause });
    this.code = init.code;
    this.option = init.option;
  }

  static override isInstance(error: unknown): error is InspectorError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[INSPECTOR] === true;
  }
}
Object.defineProperty(InspectorError.prototype, INSPECTOR, { value: true });
