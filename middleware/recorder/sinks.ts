import { createWriteStream } from 'node:fs';
import type { RecordingRecord, RecordingSink } from '../../lib/index.js';
import { checkFunction, checkInteger, checkKeys, checkString } from '../../lib/kit.js';

/** A sink that keeps the records in memory. */
export interface MemorySink extends RecordingSink {
  /** The records written so far, in order. */
  readonly records: readonly RecordingRecord[];
  /** The records as NDJSON (one line each, ending in `\n`), as `fileSink` writes them. */
  toNDJSON(): string;
  /** Forgets the records (the next recorder call writes a header again only if it is a new recorder). */
  clear(): void;
}

export interface MemorySinkOptions {
  /** Records kept; past it records are dropped and one `dropped` record is kept. @default 100_000 */
  readonly maxRecords?: number | undefined;
}

/**
 * Keeps the records in memory: for tests, replay and a viewer in the same process.
 *
 * @example
 * const sink = memorySink();
 * app.use(recorder({ sink, captureContent: true }));
 * // ... then: replayExecutor(sink.records)
 */
export function memorySink(options: MemorySinkOptions = {}): MemorySink {
  checkKeys('memorySink()', options, ['maxRecords']);
  const { maxRecords = 100_000 } = options;
  checkInteger('memorySink()', 'maxRecords', maxRecords);
  let records: RecordingRecord[] = [];
  let dropped = false;
  return {
    get records() {
      return records;
    },
    write(record) {
      if (records.length < maxRecords) records.push(record);
      else if (!dropped) {
        dropped = true;
        records.push({ type: 'dropped', t: record.t, reason: 'max_bytes' });
      }
    },
    toNDJSON() {
      let text = '';
      for (const record of records) text += `${JSON.stringify(record)}\n`;
      return text;
    },
    clear() {
      records = [];
      dropped = false;
    },
  };
}

export interface FileSinkOptions {
  /** Bytes written at most; past it records are dropped and one `dropped` record is written. @default 256 MiB */
  readonly maxBytes?: number | undefined;
  /**
   * Bytes waiting for the disk at most; past it records are dropped (one `dropped` record with
   * `reason: 'backpressure'`) until the file catches up. @default 16 MiB
   */
  readonly maxBufferedBytes?: number | undefined;
}

/** A file sink; `close()` flushes and closes the file (rejects if writing failed). */
export interface FileSink extends RecordingSink {
  close(): Promise<void>;
}

/**
 * Writes the records to a file as NDJSON, created (or truncated) when the sink is made, appended
 * to as records come, bounded in size and in memory. Close it when done: `await sink.close()`.
 *
 * @example
 * const sink = fileSink('run.ndjson');
 * app.use(recorder({ sink }));
 * // ... after the run:
 * await sink.close(); // then: npx modelware inspect run.ndjson
 */
export function fileSink(path: string, options: FileSinkOptions = {}): FileSink {
  checkString('fileSink()', 'path', path);
  checkKeys('fileSink()', options, ['maxBytes', 'maxBufferedBytes']);
  const { maxBytes = 256 * 1024 * 1024, maxBufferedBytes = 16 * 1024 * 1024 } = options;
  checkInteger('fileSink()', 'maxBytes', maxBytes);
  checkInteger('fileSink()', 'maxBufferedBytes', maxBufferedBytes);
  const stream = createWriteStream(path, { flags: 'w' });
  let failure: unknown;
  stream.on('error', (error) => {
    failure ??= error;
  });
  let written = 0;
  let full = false;
  let backlogged = false;
  stream.on('drain', () => {
    backlogged = false;
  });
  const put = (line: string) => {
    written += Buffer.byteLength(line);
    stream.write(line);
  };
  let closing: Promise<void> | undefined;
  return {
    write(record) {
      if (full || failure !== undefined || closing) return;
      const line = `${JSON.stringify(record)}\n`;
      if (written + Buffer.byteLength(line) > maxBytes) {
        full = true;
        put(`${JSON.stringify({ type: 'dropped', t: record.t, reason: 'max_bytes' })}\n`);
        return;
      }
      if (stream.writableLength > maxBufferedBytes) {
        if (!backlogged) {
          backlogged = true;
          put(`${JSON.stringify({ type: 'dropped', t: record.t, reason: 'backpressure' })}\n`);
        }
        return;
      }
      put(line);
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        stream.end(() => (failure === undefined ? resolve() : reject(failure)));
        stream.once('error', reject);
      });
      return closing;
    },
  };
}

/**
 * Hands each record to `fn` as it is written: to forward records live (a viewer's server, a log
 * shipper). `fn` runs on the call's path; what it throws is ignored.
 *
 * @example
 * app.use(recorder({ sink: callbackSink((record) => channel.send(JSON.stringify(record))) }));
 */
export function callbackSink(fn: (record: RecordingRecord) => void): RecordingSink {
  checkFunction('callbackSink()', 'fn', fn, '(record) => void');
  return {
    write(record) {
      try {
        fn(record);
      } catch {
        // A sink must not break the call it records.
      }
    },
  };
}
