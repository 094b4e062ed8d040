import { createHash } from 'node:crypto';
import { type Middleware, defineMiddleware } from '../lib/compose.js';
import { PolicyViolationError } from '../lib/errors.js';
import type { Message, ModelResponse } from '../lib/messages.js';
import {
  type BuiltinPiiDetector,
  DEFAULT_DETECTORS,
  type Detector,
  type Match,
  type PiiDetector,
  findMatches,
  mask,
  toDetectors,
} from '../lib/pii.js';
import { closable, discardStream } from '../lib/stream.js';
import { TextWindow, rewriteMessage, rewriteStream } from '../lib/text-rewrite.js';

export type { BuiltinPiiDetector, PiiDetector } from '../lib/pii.js';

export type PiiStrategy = 'redact' | 'mask' | 'hash' | 'block';
/** Where to look: the request's messages by role, and the model's answer. */
export type PiiScope = 'system' | 'user' | 'assistant' | 'tool' | 'response';

export interface RedactPiiOptions {
  /**
   * What to find, in priority order (when two matches overlap, the earlier detector wins).
   * Built-ins: `email`, `phone` (international and North-American shapes with separators),
   * `credit-card` (13-19 digits passing the Luhn check), `ipv4`, `api-key` (`sk-…`, `sk-ant-…`,
   * AWS `AKIA…`/`ASIA…`, GitHub `ghp_…`/`github_pat_…`, Slack `xox?-…`, Google `AIza…`).
   * @default ['api-key', 'email', 'credit-card', 'ipv4', 'phone']
   */
  readonly detectors?: readonly (BuiltinPiiDetector | PiiDetector)[] | undefined;
  /**
   * `'redact'`: `[REDACTED_EMAIL]`; `'mask'`: every letter and digit but the last 4 characters
   * becomes `*`; `'hash'`: `[EMAIL_1a2b3c4d]`, the first 8 hex digits of sha256(salt + value),
   * stable across calls; `'block'`: reject with `PolicyViolationError` (code `PII_DETECTED`).
   * @default 'redact'
   */
  readonly strategy?: PiiStrategy | undefined;
  /**
   * Which texts: the request's messages of these roles (string content, text parts and the string
   * values in assistant tool-call inputs; reasoning parts are left alone, their signatures must
   * stay verbatim), and with `'response'` the model's answer, streamed text included.
   * @default ['system', 'user', 'assistant', 'tool']
   */
  readonly scope?: readonly PiiScope[] | undefined;
  /**
   * Put the real values back into the answer (text and tool-call inputs) where the model used a
   * placeholder: the user and the tools see the values, the model never does. Placeholders are
   * unique per value within a call (`[REDACTED_EMAIL_1]`, `[REDACTED_EMAIL_2]`). Needs strategy
   * `'redact'` or `'hash'`; cannot be combined with scope `'response'`.
   * @default false
   */
  readonly restore?: boolean | undefined;
  /** Prepended to each value before hashing, so short values (phone numbers) cannot be looked up. @default '' */
  readonly salt?: string | undefined;
  /**
   * In stream mode, text is released this many characters behind the model (and a match that
   * reaches into them waits whole), so a value split across deltas is still found.
   * @default 64
   */
  readonly holdBackChars?: number | undefined;
  /** Names the layer and the violation's `plugin`. @default 'redactPii' */
  readonly name?: string | undefined;
}

const SCOPES: readonly PiiScope[] = ['system', 'user', 'assistant', 'tool', 'response'];
const PLACEHOLDER = /\[[A-Z0-9_]+\]/g;

/**
 * Finds personal data and secrets in what is sent to the model and redacts, masks, hashes or
 * blocks it. Edits go through `ctx.update`, so validation and inspection see them; the caller's
 * messages and the transcript keep the real values. With `restore: true` the answer gets the real
 * values back. Scans are cached per message object: a run pays for each message once.
 *
 * @example
 * app.use(redactPii({ restore: true }));
 */
export function redactPii(options: RedactPiiOptions = {}): Middleware {
  const {
    detectors: requested = DEFAULT_DETECTORS,
    strategy = 'redact',
    scope = ['system', 'user', 'assistant', 'tool'],
    restore = false,
    salt = '',
    holdBackChars = 64,
    name = 'redactPii',
  } = options ?? {};
  const detectors = toDetectors(requested);
  if (!['redact', 'mask', 'hash', 'block'].includes(strategy)) {
    throw new TypeError(
      `redactPii(): expected \`strategy\` to be 'redact', 'mask', 'hash' or 'block', got \`${String(strategy)}\`.`,
    );
  }
  if (!Array.isArray(scope) || scope.some((s) => !SCOPES.includes(s))) {
    throw new TypeError(
      `redactPii(): expected \`scope\` to be an array of ${SCOPES.map((s) => `'${s}'`).join(', ')}, got \`${String(scope)}\`.`,
    );
  }
  if (typeof restore !== 'boolean') {
    throw new TypeError(`redactPii(): expected \`restore\` to be a boolean, got ${typeof restore}.`);
  }
  if (restore && strategy !== 'redact' && strategy !== 'hash') {
    throw new TypeError(
      `redactPii(): \`restore\` needs strategy 'redact' or 'hash' (placeholders that map back to one value), got \`${strategy}\`.`,
    );
  }
  if (restore && scope.includes('response')) {
    throw new TypeError(
      "redactPii(): `restore` puts real values into the answer and scope 'response' takes them out; choose one.",
    );
  }
  if (typeof salt !== 'string')
    throw new TypeError(`redactPii(): expected \`salt\` to be a string, got ${typeof salt}.`);
  if (!Number.isInteger(holdBackChars) || holdBackChars < 0) {
    throw new TypeError(
      `redactPii(): expected \`holdBackChars\` to be a non-negative integer, got \`${String(holdBackChars)}\`.`,
    );
  }
  const roles = new Set<string>(scope);
  const scanResponse = roles.has('response');
  const find = (text: string) => findMatches(text, detectors);
  // Messages with nothing to redact, and (when the output does not depend on the call) each
  // message's redacted copy: derived from the message object, so cached by it.
  const clean = new WeakSet<object>();
  const redacted = new WeakMap<object, Message>();

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const session = new Session(strategy, restore, salt);
      const found: { kind: string; path: string }[] = [];
      const { messages } = ctx.request;
      let out: Message[] | undefined;
      for (let i = 0; i < messages.length; i++) {
        const message = messages[i] as Message;
        if (!roles.has(message.role) || clean.has(message)) continue;
        let sent = restore ? undefined : redacted.get(message);
        if (!sent) {
          const path = `messages[${i}]`;
          const before = found.length;
          sent = rewriteMessage(message, (text) => {
            const matches = find(text);
            for (const m of matches) found.push({ kind: m.detector.name, path });
            return strategy === 'block' ? text : session.replace(text, matches);
          });
          if (found.length === before) clean.add(message);
          else if (!restore && strategy !== 'block') redacted.set(message, sent);
        }
        if (sent !== message) (out ??= messages.slice() as Message[])[i] = sent;
      }
      if (strategy === 'block' && found.length > 0) throw blocked(found, name, 'llm_input');
      if (out) {
        const replaced = out;
        ctx.update((draft) => void (draft.messages = replaced));
      }
      await next();

      if (!restore && !scanResponse) return;
      const rewrite = restore
        ? (text: string) => session.restore(text)
        : (text: string) => {
            const matches = find(text);
            if (strategy === 'block' && matches.length > 0) {
              throw blocked(
                matches.map((m) => ({ kind: m.detector.name, path: 'response' })),
                name,
                'llm_output',
              );
            }
            return session.replace(text, matches);
          };
      // No answer at all is the pipeline's error to report, naming the layer that gave none.
      if (ctx.response === undefined && ctx.stream === undefined) return;
      if (ctx.mode === 'generate' || !ctx.stream) {
        const response = ctx.response as ModelResponse;
        const message = rewriteMessage(response.message, rewrite);
        if (message !== response.message) ctx.updateResponse((draft) => void (draft.message = message));
        return;
      }
      const source = ctx.stream;
      const findAll = restore ? (text: string) => session.placeholders(text) : find;
      const held = new TextWindow(findAll, rewrite, holdBackChars);
      ctx.core.stream = closable(rewriteStream(source, held, rewrite), () => discardStream(source));
    },
  });
}

/** One call's placeholders: the same value gets the same placeholder, and `restore` maps it back. */
class Session {
  readonly #byValue = new Map<string, string>();
  readonly #byPlaceholder = new Map<string, string>();
  readonly #counts = new Map<string, number>();

  constructor(
    readonly strategy: PiiStrategy,
    readonly numbered: boolean,
    readonly salt: string,
  ) {}

  replace(text: string, matches: readonly Match[]): string {
    if (matches.length === 0) return text;
    let out = '';
    let at = 0;
    for (const m of matches) {
      out += text.slice(at, m.start) + this.#substitute(m);
      at = m.end;
    }
    return out + text.slice(at);
  }

  #substitute({ detector, value }: Match): string {
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
        placeholder = `[REDACTED_${detector.label}_${n}]`;
      } else {
        placeholder = `[REDACTED_${detector.label}]`;
      }
      this.#byValue.set(key, placeholder);
      this.#byPlaceholder.set(placeholder, value);
    }
    return placeholder;
  }

  /** The placeholders of this call found in a text, as matches (for the stream window). */
  placeholders(text: string): Match[] {
    const matches: Match[] = [];
    for (const m of text.matchAll(PLACEHOLDER)) {
      if (this.#byPlaceholder.has(m[0])) {
        matches.push({ start: m.index, end: m.index + m[0].length, detector: RESTORE, value: m[0] });
      }
    }
    return matches;
  }

  restore(text: string): string {
    if (this.#byPlaceholder.size === 0) return text;
    return text.replace(PLACEHOLDER, (p) => this.#byPlaceholder.get(p) ?? p);
  }
}

const RESTORE: Detector = { name: 'placeholder', label: 'PLACEHOLDER', pattern: PLACEHOLDER, validate: undefined };

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
