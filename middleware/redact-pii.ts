import { createHash } from 'node:crypto';
import type { Immutable } from 'immer';
import { type Middleware, defineMiddleware } from '../lib/compose.js';
import { PolicyViolationError } from '../lib/errors.js';
import type { AssistantMessage, Message, ModelResponse, StreamPart } from '../lib/messages.js';
import { closable, discardStream } from '../lib/stream.js';

export type PiiStrategy = 'redact' | 'mask' | 'hash' | 'block';
export type BuiltinPiiDetector = 'email' | 'phone' | 'credit-card' | 'ipv4' | 'api-key';
/** Where to look: the request's messages by role, and the model's answer. */
export type PiiScope = 'system' | 'user' | 'assistant' | 'tool' | 'response';

/** A custom detector: every match of `pattern` (global or not) that `validate` accepts. */
export interface PiiDetector {
  /** Names the kind in placeholders (`employee-id` → `[REDACTED_EMPLOYEE_ID]`) and violations. */
  readonly name: string;
  readonly pattern: RegExp;
  /** Rejects false positives, e.g. a checksum. */
  readonly validate?: ((match: string) => boolean) | undefined;
}

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

interface Detector {
  readonly name: string;
  readonly label: string;
  readonly pattern: RegExp;
  readonly validate: ((match: string) => boolean) | undefined;
}

interface Match {
  readonly start: number;
  readonly end: number;
  readonly detector: Detector;
  readonly value: string;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

const BUILTIN: Record<BuiltinPiiDetector, Omit<PiiDetector, 'name'>> = {
  email: { pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  phone: {
    pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?!\w)|\+\d{8,15}(?!\w)/g,
    // Dates and version-like runs share the shape; a phone number has 7-15 digits.
    validate: (match) => {
      const digits = match.replace(/\D/g, '').length;
      return digits >= 7 && digits <= 15 && !/^\d{4}-\d{2}-\d{2}$/.test(match);
    },
  },
  'credit-card': { pattern: /(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)/g, validate: luhn },
  ipv4: { pattern: new RegExp(`(?<![\\d.])(?:${OCTET}\\.){3}${OCTET}(?!\\d|\\.\\d)`, 'g') },
  'api-key': {
    pattern:
      /\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{20,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|\bghp_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{22,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}/g,
  },
};
const DEFAULT_DETECTORS: readonly BuiltinPiiDetector[] = ['api-key', 'email', 'credit-card', 'ipv4', 'phone'];
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

/**
 * Releases streamed text `hold` characters behind the model; a match reaching into the held tail
 * holds back from its start, so a value split over several deltas is rewritten whole.
 */
class TextWindow {
  #pending = '';

  constructor(
    readonly find: (text: string) => readonly Match[],
    readonly rewrite: (text: string) => string,
    readonly hold: number,
  ) {}

  push(text: string): string {
    this.#pending += text;
    let cut = Math.max(0, this.#pending.length - this.hold);
    for (const m of this.find(this.#pending)) {
      if (m.end > cut) {
        cut = Math.min(cut, m.start);
        break;
      }
    }
    const released = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    return released ? this.rewrite(released) : '';
  }

  flush(): string {
    const rest = this.#pending;
    this.#pending = '';
    return rest ? this.rewrite(rest) : '';
  }
}

async function* rewriteStream(
  source: AsyncIterable<StreamPart>,
  held: TextWindow,
  rewrite: (text: string) => string,
): AsyncGenerator<StreamPart> {
  for await (const part of source) {
    if (part.type === 'text-delta') {
      const text = held.push(part.text);
      if (text) yield { ...part, text };
      continue;
    }
    // Any other part ends the run of text: what is held goes out before it, in order.
    const rest = held.flush();
    if (rest) yield { type: 'text-delta', text: rest };
    if (part.type === 'tool-call') yield { ...part, input: rewriteDeep(part.input, rewrite) };
    // Argument deltas are rewritten one by one (a value split across two is missed); the complete
    // tool-call part that follows them is what the agent loop runs.
    else if (part.type === 'tool-call-delta') yield { ...part, inputDelta: rewrite(part.inputDelta) };
    else yield part;
  }
  const rest = held.flush();
  if (rest) yield { type: 'text-delta', text: rest };
}

/** The message with every text rewritten; the same object when nothing changed. */
function rewriteMessage<M extends Immutable<Message> | AssistantMessage>(
  message: M,
  rewrite: (text: string) => string,
): M {
  const { content } = message as { content: unknown };
  if (typeof content === 'string') {
    const text = rewrite(content);
    return text === content ? message : ({ ...message, content: text } as M);
  }
  if (!Array.isArray(content)) return message;
  let parts: unknown[] | undefined;
  content.forEach((part: { type: string; text?: string; input?: unknown }, i) => {
    let next: unknown = part;
    if (part.type === 'text') {
      const text = rewrite(part.text as string);
      if (text !== part.text) next = { ...part, text };
    } else if (part.type === 'tool-call') {
      const input = rewriteDeep(part.input, rewrite);
      if (input !== part.input) next = { ...part, input };
    }
    if (next !== part) (parts ??= content.slice())[i] = next;
  });
  return parts ? ({ ...message, content: parts } as M) : message;
}

/** Rewrites the strings in a JSON value, keeping every unchanged object. */
function rewriteDeep(value: unknown, rewrite: (text: string) => string): unknown {
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = rewriteDeep(item, rewrite);
      if (next !== item) (out ??= value.slice())[i] = next;
    });
    return out ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    let out: Record<string, unknown> | undefined;
    for (const [key, item] of Object.entries(value)) {
      const next = rewriteDeep(item, rewrite);
      if (next !== item) (out ??= { ...(value as Record<string, unknown>) })[key] = next;
    }
    return out ?? value;
  }
  return value;
}

/** Every accepted match, left to right; where two overlap, the earlier detector's wins. */
function findMatches(text: string, detectors: readonly Detector[]): Match[] {
  const all: (Match & { rank: number })[] = [];
  detectors.forEach((detector, rank) => {
    for (const m of text.matchAll(detector.pattern)) {
      if (m[0].length === 0 || (detector.validate && !detector.validate(m[0]))) continue;
      all.push({ start: m.index, end: m.index + m[0].length, detector, value: m[0], rank });
    }
  });
  if (all.length <= 1) return all;
  all.sort((a, b) => a.rank - b.rank || a.start - b.start);
  const kept: Match[] = [];
  for (const m of all) if (!kept.some((k) => m.start < k.end && k.start < m.end)) kept.push(m);
  return kept.sort((a, b) => a.start - b.start);
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

function mask(value: string): string {
  const keep = Math.max(0, value.length - 4);
  return value.slice(0, keep).replace(/[A-Za-z0-9]/g, '*') + value.slice(keep);
}

function luhn(match: string): boolean {
  const digits = match.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function toDetectors(requested: readonly (BuiltinPiiDetector | PiiDetector)[]): Detector[] {
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new TypeError(
      `redactPii(): expected \`detectors\` to be a non-empty array of built-in names (${DEFAULT_DETECTORS.join(', ')}) or { name, pattern } objects, got \`${String(requested)}\`.`,
    );
  }
  return requested.map((entry, i) => {
    const spec: PiiDetector | undefined =
      typeof entry === 'string'
        ? Object.hasOwn(BUILTIN, entry)
          ? { name: entry, ...BUILTIN[entry as BuiltinPiiDetector] }
          : undefined
        : entry;
    if (typeof entry === 'string' && !spec) {
      throw new TypeError(
        `redactPii(): unknown detector \`${entry}\` in \`detectors[${i}]\`; built-ins are ${DEFAULT_DETECTORS.join(', ')}.`,
      );
    }
    const { name, pattern, validate } = (spec ?? {}) as Partial<PiiDetector>;
    if (typeof name !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(name) || !(pattern instanceof RegExp)) {
      throw new TypeError(
        `redactPii(): \`detectors[${i}]\` must be a built-in name or { name: 'letters, digits, - or _', pattern: RegExp, validate? }, got ${typeof entry === 'object' ? JSON.stringify({ name, pattern: String(pattern) }) : String(entry)}.`,
      );
    }
    if (validate !== undefined && typeof validate !== 'function') {
      throw new TypeError(`redactPii(): \`detectors[${i}].validate\` must be a function, got ${typeof validate}.`);
    }
    const flags = pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`;
    return {
      name,
      label: name.toUpperCase().replace(/-/g, '_'),
      pattern: new RegExp(pattern.source, flags),
      validate,
    };
  });
}
