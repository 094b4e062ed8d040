import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkInteger, failOption } from '../internal/options.js';
import { InspectorError } from './errors.js';
import { RECORDING_FORMAT_VERSION } from '../core/recording.js';
import type { RecordingRecord, RecordingSink } from '../core/recording.js';
import type { LoadedRecording } from './load.js';
import { renderInspectorPage } from './page.js';

/** Options of `startInspector()`. */
export interface InspectorOptions {
  /** The port to listen on; `0` picks a free one. @default 4983 */
  readonly port?: number;
  /** The interface to listen on. Anything but loopback shares the recording with the network. @default '127.0.0.1' */
  readonly host?: string;
  /** Fail with `PORT_IN_USE` when `port` is taken, instead of trying the next ones. @default false */
  readonly strictPort?: boolean;
  /** A recording to show (from `loadRecordingFile()` / `readRecordingText()`); without it the page is live. */
  readonly recording?: LoadedRecording;
  /** Live mode: the most records kept for pages that open later; older ones are dropped (and counted). @default 50000 */
  readonly maxRecords?: number;
  /** Live mode: the most pages streaming at once; more get `503`. @default 16 */
  readonly maxClients?: number;
  /** Closes the inspector when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * A running inspector (`startInspector()`). It is a `RecordingSink`: hand it to the recorder
 * (`recorder({ sink: inspector })`) and every open page shows the records as the app runs.
 */
export interface Inspector extends RecordingSink {
  /** The page's address, e.g. `http://127.0.0.1:4983/`. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Live mode: shows one more record on every open page (and keeps it for pages opened later). */
  write(record: RecordingRecord): void;
  /** Stops serving and ends every open stream. */
  close(): Promise<void>;
}

const OPTION_KEYS = new Set(['port', 'host', 'strictPort', 'recording', 'maxRecords', 'maxClients', 'signal']);
/** Ports tried after a taken one, when `strictPort` is off. */
const PORT_ATTEMPTS = 20;
/** A page that reads slower than this many unsent bytes is disconnected rather than buffered for. */
const MAX_CLIENT_BACKLOG = 8 * 1024 * 1024;
const HEARTBEAT_MS = 15_000;

/**
 * Starts the inspector's local server: one self-contained page (no CDN, no external fetch) that shows
 * a recording, or, without `recording`, the records written to it as the app runs (over SSE).
 *
 * @example
 * const inspector = await startInspector({ port: 0 });
 * console.log(`inspector on ${inspector.url}`);
 * const app = pipeline(model).use(recorder({ sink: inspector }));
 */
export async function startInspector(options: InspectorOptions = {}): Promise<Inspector> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) failOption('startInspector()', key, 'a known option', 'an unknown key');
  }
  const {
    port = 4983,
    host = '127.0.0.1',
    strictPort = false,
    recording,
    maxRecords = 50_000,
    maxClients = 16,
    signal,
  } = options;
  checkInteger('startInspector()', 'port', port, { sign: 'non-negative' });
  if (port > 65535) failOption('startInspector()', 'port', 'an integer from 0 to 65535', port);
  if (typeof host !== 'string' || host === '') failOption('startInspector()', 'host', 'a host name or address', host);
  checkInteger('startInspector()', 'maxRecords', maxRecords);
  checkInteger('startInspector()', 'maxClients', maxClients);
  signal?.throwIfAborted();

  const live = recording === undefined;
  const records: string[] = recording ? recording.records.map((r) => JSON.stringify(r)) : [];
  let first = 0; // the sequence number of records[0]
  let versionError = recording?.versionError;
  const clients = new Set<ServerResponse>();
  const nonce = randomBytes(16).toString('base64');
  const page = renderInspectorPage(nonce);
  let allowedHosts: Set<string> = new Set();
  let closed: Promise<void> | undefined;

  const snapshot = (): string =>
    `{"source":${JSON.stringify(recording?.source ?? 'live')},"live":${live},"formatVersion":${RECORDING_FORMAT_VERSION},` +
    `"versionError":${JSON.stringify(versionError ?? null)},` +
    `"problems":${JSON.stringify(recording?.problems ?? [])},"problemCount":${recording?.problemCount ?? 0},` +
    `"dropped":${first},"next":${first + records.length},"records":[${records.join(',')}]}`;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://inspector');
    // A page elsewhere could point a DNS name at 127.0.0.1 and read the recording (DNS rebinding):
    // answer only requests addressed to this server by its own host and port.
    if (!allowedHosts.has(req.headers.host ?? '')) send(res, 421, 'text/plain', 'unknown Host\n');
    else if (req.method !== 'GET') send(res, 405, 'text/plain', 'only GET\n');
    else if (url.pathname === '/') {
      send(res, 200, 'text/html; charset=utf-8', page, {
        'content-security-policy':
          `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
          "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      });
    } else if (url.pathname === '/recording.json') send(res, 200, 'application/json; charset=utf-8', snapshot());
    else if (url.pathname === '/events' && live) stream(res, Number(url.searchParams.get('from') ?? 0));
    else send(res, 404, 'text/plain', 'not found\n');
  }

  function stream(res: ServerResponse, from: number): void {
    if (clients.size >= maxClients) {
      send(res, 503, 'text/plain', 'too many open pages\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', ...SECURITY_HEADERS });
    const start = Number.isSafeInteger(from) ? Math.max(from, first) : first;
    for (let seq = start; seq < first + records.length; seq++) res.write(event(seq, records[seq - first]!));
    clients.add(res);
    res.on('close', () => clients.delete(res));
  }

  function write(record: RecordingRecord): void {
    if (!live)
      throw new TypeError(
        'Inspector.write(): this inspector shows a file; start it without `recording` to write to it.',
      );
    const value = record as unknown as Record<string, unknown> | null;
    if (typeof value !== 'object' || value === null || typeof value['type'] !== 'string') {
      failOption('Inspector.write()', 'record', 'an object with a string `type`', record);
    }
    if (closed !== undefined) return; // an app still recording after the inspector closed
    if (value['type'] === 'header' && value['version'] !== RECORDING_FORMAT_VERSION) {
      versionError = `The app records format version ${String(value['version'])}; this inspector reads version ${RECORDING_FORMAT_VERSION}.`;
    }
    const json = JSON.stringify(record);
    const seq = first + records.length;
    records.push(json);
    if (records.length > maxRecords) {
      records.shift();
      first++;
    }
    const message = event(seq, json);
    for (const client of clients) {
      if (client.writableLength > MAX_CLIENT_BACKLOG) client.destroy();
      else client.write(message);
    }
  }

  const server = createServer(handle);
  const bound = await listen(server, port, host, strictPort);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  allowedHosts = new Set([`${shownHost}:${bound}`, `localhost:${bound}`, `127.0.0.1:${bound}`, `[::1]:${bound}`]);
  const heartbeat = setInterval(() => {
    for (const client of clients) client.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      clearInterval(heartbeat);
      signal?.removeEventListener('abort', onAbort);
      for (const client of clients) client.end();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };
  const onAbort = () => void close();
  signal?.addEventListener('abort', onAbort, { once: true });

  return { url: `http://${shownHost}:${bound}/`, port: bound, host, write, close };
}

const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY_HEADERS, ...headers });
  res.end(body);
}

function event(seq: number, json: string): string {
  return `id: ${seq}\ndata: ${json}\n\n`;
}

async function listen(server: Server, port: number, host: string, strictPort: boolean): Promise<number> {
  const attempts = strictPort || port === 0 ? 1 : PORT_ATTEMPTS;
  for (let i = 0; i < attempts; i++) {
    const candidate = port === 0 ? 0 : port + i;
    if (candidate > 65535) break;
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error) => {
          server.off('listening', onListening);
          reject(error);
        };
        const onListening = () => {
          server.off('error', onError);
          resolve();
        };
        server.once('error', onError);
        server.once('listening', onListening);
        server.listen(candidate, host);
      });
      return (server.address() as AddressInfo).port;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      if (strictPort) {
        throw new InspectorError({
          code: 'PORT_IN_USE',
          option: 'port',
          message: `startInspector(): port ${port} on ${host} is in use. Choose another \`port\`, or turn \`strictPort\` off to take the next free one.`,
          cause: error,
        });
      }
    }
  }
  throw new InspectorError({
    code: 'PORT_IN_USE',
    option: 'port',
    message: `startInspector(): ports ${port} to ${port + attempts - 1} on ${host} are all in use. Choose another \`port\` (0 picks a free one).`,
  });
}
