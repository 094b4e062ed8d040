import { parseArgs } from 'node:util';
import { InspectorError } from './errors.js';
import { loadRecordingFile } from './load.js';
import { startInspector } from './server.js';

/** Where the command writes, and what stops it (the bin passes process streams and SIGINT). */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Stops the server; `main()` then resolves. */
  readonly signal: AbortSignal;
}

const USAGE = `Usage: modelware inspect <recording.ndjson> [--port N] [--host 127.0.0.1] [--max-mb N]

Serves a recording (made by the recorder) on a local page: runs, calls, each call's onion with
timings, what each layer changed, tool calls, tokens and cost. Ctrl-C stops it.

  --port N      the port; when it is taken the command fails (default: 4983, or the next free one)
  --host H      the interface to listen on (default: 127.0.0.1; anything else shares the recording)
  --max-mb N    refuse recordings larger than N megabytes (default: 100)

To watch an app live, call startInspector() from 'modelware/inspector' in the app.
`;

const DEFAULT_MAX_MB = 100;

/** Runs `modelware <args>`; resolves with the exit code once the server stops (or at once on an error). */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (!InspectorError.isInstance(error)) throw error;
    io.stderr.write(`${error.message}\n`);
    return error.code === 'BAD_ARGUMENTS' ? 2 : 1;
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw badArguments(`modelware: ${(error as Error).message}`);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    io.stdout.write(USAGE);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const [command, file, ...rest] = positionals;
  if (command !== 'inspect') throw badArguments(`modelware: unknown command \`${command}\`.`);
  if (file === undefined)
    throw badArguments('modelware inspect: name the recording to open, e.g. `modelware inspect run.ndjson`.');
  if (rest.length > 0) throw badArguments('modelware inspect: opens one recording at a time.');
  const port = values.port === undefined ? undefined : integerFlag('--port', values.port, 0, 65535);
  const maxMb = values['max-mb'] === undefined ? DEFAULT_MAX_MB : numberFlag('--max-mb', values['max-mb']);

  const recording = await loadRecordingFile(file, { maxBytes: maxMb * 1024 * 1024, maxOption: '--max-mb' });
  if (recording.versionError !== undefined) {
    throw new InspectorError({ code: 'UNSUPPORTED_VERSION', message: `modelware inspect: ${recording.versionError}` });
  }
  if (recording.problemCount > 0) {
    const lines = recording.problems.slice(0, 10).map((p) => p.line);
    const more = recording.problemCount > lines.length ? ` and ${recording.problemCount - lines.length} more` : '';
    io.stderr.write(
      `modelware inspect: ${recording.problemCount} line(s) could not be read (line ${lines.join(', ')}${more}); showing the rest.\n`,
    );
  }
  let inspector: Awaited<ReturnType<typeof startInspector>>;
  try {
    inspector = await startInspector({
      recording,
      port: port ?? 4983,
      strictPort: port !== undefined,
      ...(values.host === undefined ? {} : { host: values.host }),
    });
  } catch (error) {
    if (InspectorError.isInstance(error) && error.code === 'PORT_IN_USE' && port !== undefined) {
      throw new InspectorError({
        code: 'PORT_IN_USE',
        option: '--port',
        message: `modelware inspect: port ${port} is in use (--port). Pass another --port, or leave --port out to take the next free one.`,
        cause: error,
      });
    }
    throw error;
  }
  if (!isLoopback(inspector.host)) {
    io.stderr.write(
      `modelware inspect: listening on ${inspector.host}: anyone who can reach it can read the recording.\n`,
    );
  }
  io.stdout.write(`modelware inspect: ${recording.records.length} records from ${file}\n`);
  io.stdout.write(`Inspector: ${inspector.url}\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await inspector.close();
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'max-mb': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function badArguments(message: string): InspectorError {
  return new InspectorError({ code: 'BAD_ARGUMENTS', message: `${message}\n\n${USAGE}` });
}

function integerFlag(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw badArguments(`modelware inspect: ${flag} expects an integer from ${min} to ${max}.`);
  }
  return n;
}

function numberFlag(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw badArguments(`modelware inspect: ${flag} expects a positive number of megabytes.`);
  }
  return n;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
