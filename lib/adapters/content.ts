import { InvalidRequestError } from '../core/errors.js';
import { describeValue, type ReadonlyModelRequest } from '../core/executor.js';

/** An image part resolved to what wire formats take: a fetchable URL, or base64 bytes with their type. */
export type ImageSource =
  | { readonly kind: 'url'; readonly url: string }
  | { readonly kind: 'base64'; readonly data: string; readonly mediaType: string };

/**
 * Resolves an image part (`https:` URL, `data:` URL or bare base64). Bare base64 without a
 * `mediaType` is identified by its first bytes (PNG, JPEG, GIF, WebP).
 */
export function imageSource(
  part: { readonly image: string; readonly mediaType?: string | undefined },
  where: string,
): ImageSource {
  const { image } = part;
  if (image.startsWith('data:')) {
    const comma = image.indexOf(',');
    const header = image.slice(5, comma);
    if (comma > 0 && header.endsWith(';base64')) {
      return { kind: 'base64', data: image.slice(comma + 1), mediaType: part.mediaType ?? header.slice(0, -7) };
    }
    // The URL itself is content: the message says what is wrong, never what it held.
    throw new TypeError(
      `${where}: only base64 \`data:\` URLs are supported (\`data:<media type>;base64,<data>\`); this one is not base64.`,
    );
  }
  if (/^https?:\/\//i.test(image)) return { kind: 'url', url: image };
  const mediaType = part.mediaType ?? sniffImageType(image);
  if (mediaType === undefined) {
    throw new TypeError(
      `${where}: cannot tell the media type of a base64 image (its first bytes are not PNG, JPEG, GIF or WebP). Set \`mediaType\` on the part (e.g. 'image/png').`,
    );
  }
  return { kind: 'base64', data: image, mediaType };
}

const SIGNATURES: readonly (readonly [string, string])[] = [
  ['iVBORw0KGgo', 'image/png'],
  ['/9j/', 'image/jpeg'],
  ['R0lGOD', 'image/gif'],
  ['UklGR', 'image/webp'],
];

function sniffImageType(base64: string): string | undefined {
  for (const [prefix, type] of SIGNATURES) if (base64.startsWith(prefix)) return type;
  return undefined;
}

/**
 * Parses streamed or returned tool arguments. Invalid JSON is kept as the raw string, so the tool's
 * input schema rejects it and the model reads the error (DESIGN §6), instead of the call crashing.
 */
export function parseToolInput(json: string): unknown {
  if (json.trim() === '') return {};
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}

/**
 * Provider-specific body fields a caller put in `request.options[key]` for one call, after checking
 * that none of them is a core field (see `rejectCoreFields`).
 */
export function callExtras(
  request: ReadonlyModelRequest,
  key: string,
  core: CoreFields,
  layer: string,
): Readonly<Record<string, unknown>> | undefined {
  const value = (request.options as Readonly<Record<string, unknown>> | undefined)?.[key];
  if (!isRecord(value)) return undefined;
  rejectCoreFields(value, core, layer, ['options', key]);
  return value;
}

/**
 * Body fields the adapter fills from the request itself, each with how to set it instead. Extras
 * may not override them: the request the layers checked must be the one sent.
 */
export type CoreFields = ReadonlyMap<string, string>;

/** Throws `InvalidRequestError` naming the first own key of `extras` (found at `at`) that is a core field. */
export function rejectCoreFields(extras: object, core: CoreFields, layer: string, at: readonly string[]): void {
  const field = coreField(extras, core);
  if (field === undefined) return;
  const path = [...at, field];
  const message = `${layer}: \`${path.join('.')}\` would replace what the pipeline sends, unseen by its layers (redactPii, guard, usage, router, tracing, ...). ${core.get(field)}`;
  throw new InvalidRequestError({ layer, path, issues: [{ code: 'custom', path, message }], message });
}

function coreField(extras: object, core: CoreFields): string | undefined {
  for (const key of Object.keys(extras)) if (core.has(key)) return key;
  return undefined;
}

export function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Throws unless an adapter's `body` option is absent or a plain object without core fields. */
export function assertBody(body: unknown, where: string, core: CoreFields): void {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    throw new TypeError(
      `${where}: expected \`body\` to be an object of extra body fields, got ${describeValue(body)}.`,
    );
  }
  const field = body === undefined ? undefined : coreField(body as object, core);
  if (field !== undefined) {
    throw new TypeError(
      `${where}: \`body.${field}\` would replace what the pipeline sends on every call. ${core.get(field)}`,
    );
  }
}

/** Throws unless `client` has the method the adapter calls, e.g. `chat.completions.create`. */
export function assertClient(client: unknown, path: readonly string[], where: string, example: string): void {
  let value: unknown = client;
  for (const key of path)
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'function') {
    throw new TypeError(
      `${where}: expected \`client\` to be an SDK client with ${path.join('.')}(), got ${client === undefined ? 'undefined' : typeof client}. Pass { client: ${example} }.`,
    );
  }
}
