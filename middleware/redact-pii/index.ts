import { createHash, randomBytes } from 'node:crypto';
import { type Middleware, defineMiddleware } from '../../lib/core/compose.js';
import { PolicyViolationError } from '../../lib/core/errors.js';
import type { Message, ModelResponse } from '../../lib/core/messages.js';
import {
  type BuiltinPiiDetector,
  DEFAULT_DETECTORS,
  type Detector,
  type Match,
  PLACEHOLDER_LIKE,
  type PiiDetector,
  type Scan,
  Spans,
  mask,
  scanText,
  toDetectors,
} from './detectors.js';
import {
  type StreamRewrite,
  TextWindow,
  fingerprint,
  rewriteDeep,
  rewriteMessage,
  rewriteStream,
  sameFingerprint,
} from './text-rewrite.js';
import { describeValue, checkKeys, optionNames } from '../../lib/kit.js';

export type { BuiltinPiiDetector, PiiDetector } from './detectors.js';

export type PiiStrategy = 'redact' | 'mask' | 'hash' | 'block';
/** Where to look: the request's messages by role, and the model's answer. */
export type PiiScope = 'system' | 'user' | 'assistant' | 'tool' | 'response';
export type PiiRole = Exclude<PiiScope, 'response'>;

export interface RedactPiiOptions {
  /**
   * What to find, in priority order (when two matches overlap, the earlier detector wins).
   * Built-ins, each linear in its input and with a longest match: `email` (318 characters: 64
   * before the `@`, 253 after), `phone` (36; international and North-American shapes),
   * `credit-card` (37; 13-19 digits passing the Luhn check), `ipv4` (15), `api-key` (256; `sk-…`,
   * `sk-ant-…`, AWS `AKIA…`/`ASIA…`, GitHub `ghp_…`/`github_pat_…`, Slack `xox?-…`, Google
   * `AIza…`; a longer token is redacted for its first 256 characters).
   * @default ['api-key', 'email', 'credit-card', 'ipv4', 'phone']
   */
  readonly detectors?: readonly (BuiltinPiiDetector | PiiDetector)[] | undefined;
  /**
   * `'redact'`: `[REDACTED_EMAIL]`; `'mask'`: every letter and digit but the last 4 characters
   * becomes `*`; `'hash'`: `[EMAIL_1a2b3c4d]`, the first 8 hex digits of sha256(salt + value);
   * `'block'`: reject with `PolicyViolationError` (code `PII_DETECTED`).
   * @default 'redact'
   */
  readonly strategy?: PiiStrategy | undefined;
  /**
   * Which texts: the request's messages of these roles (string content, text parts and the string
   * values in assistant tool-call inputs; reasoning parts are left alone, their signatures must
   * stay verbatim), and with `'response'` the model's answer: text, reasoning and tool-call inputs,
   * streamed deltas included.
   * @default ['system', 'user', 'assistant', 'tool']
   */
  readonly scope?: readonly PiiScope[] | undefined;
  /**
   * Put real values back into the answer's text where the model used a placeholder. Only values
   * found in `restoreFrom` messages come back; placeholders carry a random part new on every call
   * (`[REDACTED_EMAIL_1_9f3c0a6b2e]`), and placeholder-shaped text in the request is itself
   * redacted, so a placeholder can be neither guessed nor forged. Needs strategy `'redact'`;
   * cannot be combined with scope `'response'`.
   * @default false
   */
  readonly restore?: boolean | undefined;
  /** With `restore`: the roles whose values may come back. @default ['user'] */
  readonly restoreFrom?: readonly PiiRole[] | undefined;
  /**
   * With `restore`: put values back into tool-call inputs too (the tool then receives the real
   * value the model only saw as a placeholder).
   * @default false
   */
  readonly restoreToolInputs?: boolean | undefined;
  /**
   * Prepended to each value before hashing, so short values (phone numbers) cannot be looked up.
   * Without it, a random salt drawn once per process: hashes are stable within a process only.
   * @default a random per-process salt
   */
  readonly salt?: string | undefined;
  /**
   * In stream mode, text is released this many characters behind the model (and never inside a
   * possible match), so a value split across deltas is found as it would be unstreamed. Values
   * below the longest match of the detectors in use (or of a restore placeholder) are rejected.
   * @default the longest match the detectors can produce (318 with the built-ins)
   */
  readonly holdBackChars?: number | undefined;
  /**
   * Characters one call may scan (request and answer, each counted as scanned; cached messages
   * are free). Past it the call fails with `PolicyViolationError` code `PII_SCAN_LIMIT`: nothing
   * unscanned is ever sent or released.
   * @default 4_000_000
   */
  readonly maxScanChars?: number | undefined;
  /**
   * Characters a stream may hold back at once (a custom detector's long match waits whole). Past it
   * the stream fails with `PolicyViolationError` code `PII_BUFFER_LIMIT` (not retryable).
   * @default 65_536
   */
  readonly maxBufferedChars?: number | undefined;
  /** Names the layer and the violation's `plugin`. @default 'redactPii' */
  readonly name?: string | undefined;
}

const SCOPES: readonly PiiScope[] = ['system', 'user', 'assistant', 'tool', 'response'];
const ROLES: readonly PiiRole[] = ['system', 'user', 'assistant', 'tool'];
/** `[REDACTED_` + a 64-character label + `_` + up to 9 digits + `_` + 10 hex + `]`. */
const RESTORE_PLACEHOLDER_MAX = 96;
/** Drawn once per process when no `salt` is given: hashes cannot be looked up in a table. */
let processSalt: string | undefined;

const KEYS = optionNames<RedactPiiOptions>({
  detectors: true,
  strategy: true,
  scope: true,
  restore: true,
  restoreFrom: true,
  restoreToolInputs: true,
  salt: true,
  holdBackChars: true,
  maxScanChars: true,
  maxBufferedChars: true,
  name: true,
});

/**
 * Finds personal data and secrets in what is sent to the model and redacts, masks, hashes or
 * blocks it. Edits go through `ctx.update`, so validation and inspection see them; the caller's
 * messages and the transcript keep the real values. With `restore: true` the answer gets the
 * user's own values back. Scans are cached per message and its content: a run pays for each
 * message once, and a message edited in place is scanned again.
 *
 * @example
 * app.use(redactPii({ restore: true }));
 */
export function redactPii(options: RedactPiiOptions = {}): Middleware {
  checkKeys('redactPii()', options, KEYS);
  const {
    detectors: requested = DEFAULT_DETECTORS,
    strategy = 'redact',
    scope = ['system', 'user', 'assistant', 'tool'],
    restore = false,
    restoreFrom = ['user'],
    restoreToolInputs = false,
    salt,
    holdBackChars,
    maxScanChars = 4_000_000,
    maxBufferedChars = 65_536,
    name = 'redactPii',
  } = options ?? {};
  const builtins = toDetectors(requested);
  if (!['redact', 'mask', 'hash', 'block'].includes(strategy)) {
    throw new TypeError(
      `redactPii(): expected \`strategy\` to be 'redact', 'mask', 'hash' or 'block', got ${describeValue(strategy)}.`,
    );
  }
  if (!Array.isArray(scope) || scope.some((s) => !SCOPES.includes(s))) {
    throw new TypeError(
      `redactPii(): expected \`scope\` to be an array of ${SCOPES.map((s) => `'${s}'`).join(', ')}, got ${describeValue(scope)}.`,
    );
  }
  if (typeof restore !== 'boolean') {
    throw new TypeError(`redactPii(): expected \`restore\` to be a boolean, got ${describeValue(restore)}.`);
  }
  if (restore && strategy !== 'redact') {
    throw new TypeError(
      `redactPii(): \`restore\` needs strategy 'redact' (per-call placeholders that map back to one value), got \`${strategy}\`${strategy === 'hash' ? '; hashes are the same for every caller, so anyone who knows one could have its value restored' : ''}.`,
    );
  }
  if (restore && scope.includes('response')) {
    throw new TypeError(
      "redactPii(): `restore` puts real values into the answer and scope 'response' takes them out; choose one.",
    );
  }
  if (!Array.isArray(restoreFrom) || restoreFrom.some((r) => !ROLES.includes(r))) {
    throw new TypeError(
      `redactPii(): expected \`restoreFrom\` to be an array of ${ROLES.map((s) => `'${s}'`).join(', ')}, got ${describeValue(restoreFrom)}.`,
    );
  }
  if (typeof restoreToolInputs !== 'boolean') {
    throw new TypeError(
      `redactPii(): expected \`restoreToolInputs\` to be a boolean, got ${describeValue(restoreToolInputs)}.`,
    );
  }
  if (salt !== undefined && typeof salt !== 'string')
    throw new TypeError(`redactPii(): expected \`salt\` to be a string, got ${typeof salt}.`);
  const scanResponse = scope.includes('response');
  const detectors = restore ? [PLACEHOLDER_LIKE, ...builtins] : builtins;
  const longest = Math.max(
    scanResponse ? Math.max(...detectors.map((d) => d.maxMatch)) : 0,
    restore ? RESTORE_PLACEHOLDER_MAX : 0,
  );
  if (holdBackChars !== undefined && (!Number.isInteger(holdBackChars) || holdBackChars < longest)) {
    throw new TypeError(
      `redactPii(): expected \`holdBackChars\` to be an integer of at least ${longest} (the longest match the stream must see whole), got ${describeValue(holdBackChars)}.`,
    );
  }
  const hold = Math.max(longest, holdBackChars ?? 0);
  for (const [key, value] of [
    ['maxScanChars', maxScanChars],
    ['maxBufferedChars', maxBufferedChars],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new TypeError(`redactPii(): expected \`${key}\` to be a positive integer, got ${describeValue(value)}.`);
    }
  }
  if (maxBufferedChars < 2 * (hold + 1)) {
    throw new TypeError(
      `redactPii(): expected \`maxBufferedChars\` to be at least ${2 * (hold + 1)} (twice the hold-back window), got ${describeValue(maxBufferedChars)}.`,
    );
  }
  const hashSalt = salt ?? (processSalt ??= randomBytes(16).toString('hex'));
  const roles = new Set<string>(scope);
  const restorable = new Set<string>(restoreFrom);
  const limits = { maxScanChars, maxBufferedChars, name };
  const scan = (text: string, from = 0) => scanText(text, detectors, from);
  // What each message was sent as, keyed by the message object and checked against its content
  // (an edit in place is scanned again). Undefined `sent`: nothing to redact.
  const seen = new WeakMap<object, { readonly key: unknown[]; readonly sent: Message | undefined }>();

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const session = new Session(strategy, restore, hashSalt, limits);
      const found: { kind: string; path: string }[] = [];
      const { messages } = ctx.request;
      let out: Message[] | undefined;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as Message;
        if (!roles.has(message.role)) continue;
        const key = fingerprint(message);
        const cached = seen.get(message);
        if (cached && sameFingerprint(cached.key, key)) {
          if (cached.sent) (out ??= messages.slice() as Message[])[i] = cached.sent;
          continue;
        }
        const path = `messages[${i}]`;
        const before = found.length;
        const keep = restorable.has(message.role);
        const sent = rewriteMessage(message, (text) => {
          session.charge(text.length, 'llm_input');
          const { matches } = scan(text);
          for (const m of matches) found.push({ kind: m.detector.name, path });
          return strategy === 'block' ? text : session.replace(text, matches, keep);
        });
        if (found.length === before) seen.set(message, { key, sent: undefined });
        else if (!restore && strategy !== 'block') seen.set(message, { key, sent });
        if (sent !== message) (out ??= messages.slice() as Message[])[i] = sent;
      }
      if (strategy === 'block' && found.length > 0) throw blocked(found, name, 'llm_input');
      if (out) {
        const replaced = out;
        ctx.update((draft) => void (draft.messages = replaced));
      }
      await next();

      if (!restore && !scanResponse) return;
      // No answer at all is the pipeline's error to report, naming the layer that gave none.
      if (ctx.response === undefined && ctx.stream === undefined) return;
      const substitute = restore
        ? (m: Match) => m.value
        : (m: Match) => {
            if (strategy === 'block') throw blocked([{ kind: m.detector.name, path: 'response' }], name, 'llm_output');
            return session.substitute(m, false);
          };
      const find = restore ? (text: string, from = 0) => session.placeholders(text, from) : scan;
      const rewrite = (text: string) => {
        session.charge(text.length, 'llm_output');
        return replaceAll(text, find(text).matches, substitute);
      };
      if (ctx.mode === 'generate' || !ctx.stream) {
        const response = ctx.response as ModelResponse;
        const message = rewriteMessage(response.message, rewrite, {
          reasoning: scanResponse,
          toolInputs: scanResponse || restoreToolInputs,
        });
        if (message !== response.message) ctx.updateResponse((draft) => void (draft.message = message));
        return;
      }
      const window = () =>
        new TextWindow({
          scan: find,
          substitute,
          maxMatch: hold,
          maxBuffered: maxBufferedChars,
          overflow: (held) => session.limit('PII_BUFFER_LIMIT', 'maxBufferedChars', maxBufferedChars, held),
        });
      const toolInputs = scanResponse || restoreToolInputs;
      const plan: StreamRewrite = {
        text: window,
        reasoning: scanResponse ? window : undefined,
        toolInputDeltas: toolInputs ? window : undefined,
        toolInput: toolInputs ? (input) => rewriteDeep(input, rewrite) : undefined,
        charge: (chars) => session.charge(chars, 'llm_output'),
      };
      await ctx.wrapStream((source) => rewriteStream(source, plan));
    },
  });
}

function replaceAll(text: string, matches: readonly Match[], substitute: (m: Match) => string): string {
  if (matches.length === 0) return text;
  // One join at the end: a rope of thousands of pieces is flattened once, not grown piece by piece.
  const parts: string[] = [];
  let at = 0;
  for (const m of matches) {
    parts.push(text.slice(at, m.start), substitute(m));
    at = m.end;
  }
  parts.push(text.slice(at));
  return parts.join('');
}

/**
 * One call's placeholders: the same value gets the same placeholder; with `restore`, placeholders
 * are numbered and end in this call's random nonce, and only values from `restoreFrom` roles map
 * back.
 */
class Session {
  readonly #byValue = new Map<string, string>();
  readonly #restorable = new Map<string, string>();
  readonly #counts = new Map<string, number>();
  readonly #placeholder: RegExp | undefined;
  readonly #restoreDetector: Detector;
  #scanned = 0;

  constructor(
    readonly strategy: PiiStrategy,
    readonly numbered: boolean,
    readonly salt: string,
    readonly limits: { readonly maxScanChars: number; readonly maxBufferedChars: number; readonly name: string },
  ) {
    const nonce = numbered ? randomBytes(5).toString('hex') : '';
    this.#placeholder = numbered ? new RegExp(`\\[REDACTED_[A-Z0-9_]{1,64}_\\d{1,9}_${nonce}\\]`, 'g') : undefined;
    this.nonce = nonce;
    this.#restoreDetector = {
      name: 'placeholder',
      label: 'PLACEHOLDER',
      maxMatch: RESTORE_PLACEHOLDER_MAX,
      scan: () => [],
    };
  }

  readonly nonce: string;

  charge(chars: number, hook: string): void {
    this.#scanned += chars;
    if (this.#scanned > this.limits.maxScanChars) {
      throw this.limit('PII_SCAN_LIMIT', 'maxScanChars', this.limits.maxScanChars, this.#scanned, hook);
    }
  }

  limit(code: string, option: string, limit: number, received: number, hook = 'llm_output'): PolicyViolationError {
    return new PolicyViolationError({
      reason: `more than \`${option}\` (${limit}) characters in one call (${received}); raise \`${option}\` or send less`,
      code,
      plugin: this.limits.name,
      hook,
      details: { option, limit, received },
    });
  }

  replace(text: string, matches: readonly Match[], restorable: boolean): string {
    return replaceAll(text, matches, (m) => this.substitute(m, restorable));
  }

  substitute({ detector, value }: Match, restorable: boolean): string {
    if (this.strategy === 'mask') return mask(value);
    const key = `${detector.label}\u0000${value}`;
    let placeholder = this.#byValue.get(key);
    if (placeholder === undefined) {
      if (this.strategy === 'hash') {
        const digest = createHash('sha256')
          .update(this.salt + value)
          .digest('hex')
          .slice(0, 8);
        placeholder = `[${detector.label}_${digest}]`;
      } else if (this.numbered) {
        const n = (this.#counts.get(detector.label) ?? 0) + 1;
        this.#counts.set(detector.label, n);
        placeholder = `[REDACTED_${detector.label}_${n}_${this.nonce}]`;
      } else {
        placeholder = `[REDACTED_${detector.label}]`;
      }
      this.#byValue.set(key, placeholder);
    }
    if (restorable && this.numbered) this.#restorable.set(placeholder, value);
    return placeholder;
  }

  /** This call's restorable placeholders in a text, as matches whose value is the real one. */
  placeholders(text: string, from = 0): Scan {
    const matches: Match[] = [];
    const spans = new Spans();
    const pattern = this.#placeholder;
    if (!pattern || this.#restorable.size === 0) return { matches, spans };
    pattern.lastIndex = from;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const value = this.#restorable.get(m[0]);
      const end = m.index + m[0].length;
      spans.push(m.index, end, value === undefined ? 0 : 1);
      if (value !== undefined) matches.push({ start: m.index, end, detector: this.#restoreDetector, value });
    }
    return { matches, spans };
  }
}

function blocked(found: readonly { kind: string; path: string }[], name: string, hook: string): PolicyViolationError {
  const where = [...new Set(found.map((f) => `${f.kind} in ${f.path}`))];
  return new PolicyViolationError({
    // Never the values themselves: the error may be logged.
    reason: `found ${where.join(', ')}; remove it or use strategy 'redact'`,
    code: 'PII_DETECTED',
    plugin: name,
    hook,
    details: { detections: found },
  });
}
