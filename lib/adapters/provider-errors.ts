import { ProviderError } from '../core/errors.js';

/**
 * Maps what an SDK threw to a `ProviderError` that `retry()` understands. The openai and
 * @anthropic-ai/sdk packages share one generated error family (`APIError` with `status` and
 * `headers`, `APIConnectionError`, `APIConnectionTimeoutError`, `APIUserAbortError`); the adapters
 * import no SDK code, so the classes are recognised by name along the prototype chain.
 *
 * Returns `signal.reason` when the caller aborted (executors reject with it), and anything it does
 * not recognise unchanged.
 */
export function fromSdkError(error: unknown, provider: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  if (typeof error !== 'object' || error === null || ProviderError.isInstance(error)) return error;
  const names = classNames(error);
  const sdk = error as SdkError;
  // The SDK's text stays in `providerMessage`: providers echo the request in it (see ProviderError).
  const text = typeof sdk.message === 'string' ? sdk.message : undefined;
  if (names.has('APIConnectionTimeoutError')) {
    return new ProviderError({
      provider,
      message: `${provider}: the request timed out. Raise the client's \`timeout\`, or add retry().`,
      retryable: true,
      code: 'timeout',
      providerMessage: text,
      cause: error,
    });
  }
  if (names.has('APIConnectionError')) {
    return new ProviderError({
      provider,
      message: `${provider}: could not reach the API. Check the base URL and the network; retry() will try again.`,
      retryable: true,
      code: 'connection_error',
      providerMessage: text,
      cause: error,
    });
  }
  if (names.has('APIUserAbortError') || !names.has('APIError')) return error;
  const status = typeof sdk.status === 'number' ? sdk.status : undefined;
  // The provider's own sentence: Anthropic's SDK keeps it in `apiMessage`, OpenAI's in the body's
  // `error.message`; both SDKs' `message` adds the status or the whole body to it.
  const detail = firstString(sdk.apiMessage, (sdk.error as { message?: unknown } | undefined)?.message) ?? text;
  const code = firstString(sdk.code, sdk.errorCode, sdk.type);
  const retryable = retryableFor(status, code, sdk.headers);
  const retryAfter = status === undefined ? undefined : retryAfterMs(sdk.headers);
  const requestId = firstString(sdk.requestID);
  return new ProviderError({
    provider,
    message: describeFailure(provider, status, code, requestId, hint(status, retryable, retryAfter)),
    status,
    retryable,
    retryAfterMs: retryAfter,
    code,
    requestId,
    providerMessage: detail,
    cause: error,
  });
}

/**
 * `openai: HTTP 400 (invalid_request_error, request req_1). Not retryable: ... See \`providerMessage\`.`:
 * status, code and request id only, never the provider's text.
 */
export function describeFailure(
  provider: string,
  status: number | undefined,
  code: string | undefined,
  requestId: string | undefined,
  hint: string,
): string {
  const what = status === undefined ? 'the provider reported an error' : `HTTP ${status}`;
  const details = [code, requestId && `request ${requestId}`].filter(Boolean).join(', ');
  return `${provider}: ${what}${details ? ` (${details})` : ''}. ${hint} The provider's text is in \`providerMessage\`.`;
}

/** Status codes the official SDKs themselves retry: request timeout, lock conflict, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * The wait a response asks for, in ms: `retry-after-ms` (OpenAI's, more precise) or `retry-after`
 * (seconds or an HTTP date). Accepts a `Headers` object or a plain record.
 */
export function retryAfterMs(headers: unknown): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = header(headers, 'retry-after');
  if (after === undefined) return undefined;
  const seconds = Number(after.trim());
  if (after.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

interface SdkError {
  readonly status?: unknown;
  readonly headers?: unknown;
  readonly message?: unknown;
  readonly apiMessage?: unknown;
  readonly error?: unknown;
  readonly code?: unknown;
  readonly errorCode?: unknown;
  readonly type?: unknown;
  readonly requestID?: unknown;
}

// Error types the providers send in a body (or mid-stream, where there is no status) for transient trouble.
const TRANSIENT_TYPES = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error', 'server_error']);

function retryableFor(status: number | undefined, code: string | undefined, headers: unknown): boolean {
  // The providers' own override, which their SDKs obey too.
  const flag = header(headers, 'x-should-retry');
  if (flag === 'true') return true;
  if (flag === 'false') return false;
  if (status !== undefined) return isRetryableStatus(status);
  return code !== undefined && TRANSIENT_TYPES.has(code);
}

function hint(status: number | undefined, retryable: boolean, retryAfter: number | undefined): string {
  if (retryable) {
    return retryAfter === undefined
      ? 'Retryable: add retry() to try again.'
      : `Retryable: the provider asks to wait ${Math.round(retryAfter)} ms; retry() honours it.`;
  }
  if (status === 401 || status === 403) return 'Not retryable: check the API key and its permissions.';
  if (status === 404) return 'Not retryable: check the model name and the base URL.';
  return 'Not retryable: fix the request.';
}

function header(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && typeof value === 'string') return value;
  }
  return undefined;
}

function classNames(error: object): Set<string> {
  const names = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(error);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto.constructor as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return undefined;
}
