import { type IncomingHttpHeaders, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A scripted tool call; `id` defaults to `call_<turn>_<n>` (OpenAI) or `toolu_<turn>_<n>` (Anthropic). */
export interface FakeToolCall {
  readonly id?: string;
  readonly name: string;
  readonly input?: unknown;
}

/** One scripted model turn, answered as JSON or as SSE depending on the request's `stream` field. */
export interface FakeTurn {
  readonly text?: string;
  /** Reasoning: an Anthropic thinking block; `reasoning_content` on the OpenAI wire. */
  readonly reasoning?: string;
  /** The thinking block's signature. @default 'sig_<turn>' */
  readonly signature?: string;
  readonly toolCalls?: readonly FakeToolCall[];
  /** The wire's own finish value (`stop`, `tool_calls`, `end_turn`, ...). @default derived from the content */
  readonly finishReason?: string;
  /** Wire usage fields, merged over the defaults (e.g. `{ prompt_tokens: 12 }`). */
  readonly usage?: Readonly<Record<string, unknown>>;
  /** The model the server reports. @default the requested model */
  readonly model?: string;
  /** Characters per streamed text or argument delta. @default 4 */
  readonly chunkSize?: number;
  /** Delay before each streamed event, in ms. @default 0 */
  readonly delayMs?: number;
  /** Write this many SSE events, then hold the connection open without finishing (abort tests). */
  readonly stallAfterEvents?: number;
  /** Write this many SSE events, then end the response as a dropped connection would. */
  readonly cutAfterEvents?: number;
  /** Replace the stream after this many events with the provider's error event, as an overload mid-stream. */
  readonly streamError?: { readonly afterEvents: number; readonly type: string; readonly message?: string };
}

/** An HTTP error answer in the provider's error format. */
export interface FakeError {
  readonly status: number;
  /** The provider's error type, e.g. `rate_limit_error`. @default derived from the status */
  readonly type?: string;
  readonly message?: string;
  /** Response headers, e.g. `{ 'retry-after': '2' }`. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A step of a fake server's script: a text reply, a turn, an HTTP error, `hang` (accept the
 * request and never answer, for timeouts) or a function of the parsed request body.
 */
export type FakeStep =
  | string
  | FakeTurn
  | { readonly error: FakeError }
  | { readonly hang: true }
  | ((body: any, index: number) => FakeStep);

/** A request the fake server received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  readonly body: any;
  /**
   * Settles when the connection closes: `true` when the client hung up before the server had
   * finished writing the reply (an abort reached the network), `false` after a complete reply.
   */
  readonly closedEarly: Promise<boolean>;
}

export interface FakeServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** What to pass as the SDK client's `baseURL`. */
  readonly baseURL: string;
  /** Every request received, in order. */
  readonly requests: readonly RecordedRequest[];
  /** Ends open replies, closes every connection and the listener. */
  close(): Promise<void>;
}

/** A wire-level answer built by a provider module. */
export type WireReply =
  | {
      readonly kind: 'json';
      readonly status: number;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body: unknown;
    }
  | {
      readonly kind: 'sse';
      readonly events: readonly { readonly event?: string; readonly data: string }[];
      readonly delayMs: number;
      readonly stallAfterEvents?: number | undefined;
      readonly cutAfterEvents?: number | undefined;
    }
  | { readonly kind: 'hang' };

export interface WireFormat {
  /** Path prefix added to the origin for `baseURL` (`/v1` for OpenAI, none for Anthropic). */
  readonly basePath: string;
  /** The endpoint path the SDK posts to. */
  readonly endpoint: string;
  answer(step: Exclude<FakeStep, (...args: never[]) => unknown>, body: any, index: number): WireReply;
  notFound(path: string): WireReply;
}

export interface FakeServerOptions {
  /** When the script runs out: answer a 500 naming the request, or repeat the last step. @default 'fail' */
  readonly whenDone?: 'fail' | 'repeat-last';
  /** Keep every request in `requests` (turn off for long benchmark runs). @default true */
  readonly record?: boolean;
}

/** Starts a loopback server on a free port that answers the script's steps in order. */
export async function startFakeServer(
  format: WireFormat,
  script: readonly FakeStep[],
  options: FakeServerOptions = {},
): Promise<FakeServer> {
  const { whenDone = 'fail', record = true } = options;
  let served = 0;
  const requests: RecordedRequest[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      open.add(res);
      const closedEarly = new Promise<boolean>((resolve) => {
        res.on('close', () => {
          open.delete(res);
          resolve(!res.writableEnded);
        });
      });
      const index = served++;
      if (record)
        requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, closedEarly });
      let reply: WireReply;
      if (req.url !== format.endpoint) reply = format.notFound(req.url ?? '');
      else {
        const last = whenDone === 'repeat-last' ? script.at(-1) : undefined;
        let step: FakeStep = script[index] ??
          last ?? { error: { status: 500, message: `fake server: no step left for request #${index + 1}` } };
        while (typeof step === 'function') step = step(body, index);
        reply = format.answer(step, body, index);
      }
      void write(res, reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    baseURL: origin + format.basePath,
    requests,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function write(res: ServerResponse, reply: WireReply): Promise<void> {
  if (reply.kind === 'hang') return;
  if (reply.kind === 'json') {
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(JSON.stringify(reply.body));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let written = 0;
  for (const { event, data } of reply.events) {
    if (reply.stallAfterEvents !== undefined && written >= reply.stallAfterEvents) return;
    if (reply.cutAfterEvents !== undefined && written >= reply.cutAfterEvents) break;
    if (reply.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (res.destroyed) return;
    res.write(event === undefined ? `data: ${data}\n\n` : `event: ${event}\ndata: ${data}\n\n`);
    written++;
  }
  res.end();
}

/** Splits text into pieces of `size` characters (at least one piece, possibly empty). */
export function pieces(text: string, size: number): string[] {
  if (text.length === 0) return [''];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

export function isError(step: object): step is { readonly error: FakeError } {
  return 'error' in step;
}

/** The SSE reply for a turn: its events (with a mid-stream error spliced in) and its pacing. */
export function sseReply(
  turn: FakeTurn,
  events: { event?: string; data: string }[],
  errorEvent: (type: string, message: string) => { event?: string; data: string },
): WireReply {
  if (turn.streamError) {
    const { afterEvents, type, message = `Fake ${type} mid-stream` } = turn.streamError;
    events.splice(afterEvents, events.length, errorEvent(type, message));
  }
  return {
    kind: 'sse',
    events,
    delayMs: turn.delayMs ?? 0,
    stallAfterEvents: turn.stallAfterEvents,
    cutAfterEvents: turn.cutAfterEvents,
  };
}

export function isHang(step: object): step is { readonly hang: true } {
  return 'hang' in step;
}
