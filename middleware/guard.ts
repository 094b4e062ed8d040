import { type Middleware, defineMiddleware } from '../lib/core/compose.js';
import type { Context } from '../lib/core/context.js';
import type { ReadonlyModelRequest } from '../lib/core/executor.js';
import { BufferLimitError, PolicyViolationError } from '../lib/core/errors.js';
import type { ModelResponse, StreamPart } from '../lib/core/messages.js';
import {
  abortable,
  checkFunction,
  checkInteger,
  checkOneOf,
  checkString,
  ResponseAssembler,
  partChars,
  responseToParts,
  checkKeys,
  optionNames,
} from '../lib/kit.js';

/**
 * What a check returns. `undefined` or `true` allows; a reason string, `false` or a block object
 * blocks. `replaceWith` answers with a refusal instead of rejecting with `PolicyViolationError`.
 */
export type GuardVerdict = undefined | boolean | string | GuardBlock;

export interface GuardBlock {
  /** Why the guard blocked: the error message and the violation's `reason`. */
  readonly reason: string;
  /** The violation's code. @default 'GUARD_INPUT' or 'GUARD_OUTPUT' */
  readonly code?: string | undefined;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  /** Answer with this text (or response) instead of rejecting. */
  readonly replaceWith?: string | ModelResponse | undefined;
}

/** What an output check learns besides the response. */
export interface GuardOutputInfo {
  /** False for the partial responses an `'incremental'` stream check sees before the end. */
  readonly final: boolean;
}

// `void` so a check with no return statement (which allows) type-checks.
type CheckResult = GuardVerdict | void | Promise<GuardVerdict | void>;
export type GuardInputCheck = (request: ReadonlyModelRequest, ctx: Context) => CheckResult;
export type GuardOutputCheck = (response: ModelResponse, ctx: Context, info: GuardOutputInfo) => CheckResult;

export interface GuardOptions {
  /** Checks the request before the model is called; a block means the model is never called. */
  readonly input?: GuardInputCheck | undefined;
  /** Checks the response on its way out. */
  readonly output?: GuardOutputCheck | undefined;
  /**
   * How `output` runs in stream mode:
   * - `'buffer'`: hold every part back, check the assembled response, then release the parts (or
   *   answer with `replaceWith`). Nothing unchecked reaches the caller; the caller waits for the end.
   * - `'incremental'`: release the answer in batches, each only after a check of the response so
   *   far (`final: false`) covers it, and check the whole response at the end. Every part is held
   *   until a check covers it: text, reasoning, tool calls, and tool-call deltas until their tool
   *   call is complete; consecutive plain text deltas of a batch are released as one delta. A
   *   check runs once the parts since the last check reach the larger of
   *   `checkIntervalChars` and a quarter of the characters already checked, so checking costs a
   *   constant multiple (about 5×) of the answer's length however small the deltas. A batch that
   *   fails is never released; a `replaceWith` text is appended to what already streamed and the
   *   stream finishes with `content-filter`.
   * - `'final'`: release parts as they come, hold back only the `finish` part and check the
   *   assembled response; a block errors the stream (`replaceWith` cannot apply: the text has
   *   already streamed). Cheapest, for checks that flag rather than hide.
   * @default 'buffer'
   */
  readonly streaming?: 'buffer' | 'incremental' | 'final' | undefined;
  /**
   * `'incremental'` only: how many characters (text, reasoning, tool arguments) arrive before the
   * first check; later intervals grow to a quarter of what was checked (see `streaming`).
   * @default 128
   */
  readonly checkIntervalChars?: number | undefined;
  /**
   * The longest answer, in characters (text, reasoning, tool arguments), the layer holds to check
   * in stream mode; past it the stream fails with `BufferLimitError` (not retryable) and nothing
   * more is released. Applies to every `streaming` mode: each assembles the answer for the check.
   * @default 4_000_000
   */
  readonly maxBufferedChars?: number | undefined;
  /** Names the layer and the violation's `layer`. @default 'guard' */
  readonly name?: string | undefined;
}

const DEFAULT_MAX_BUFFERED_CHARS = 4_000_000;

const KEYS = optionNames<GuardOptions>({
  input: true,
  output: true,
  streaming: true,
  checkIntervalChars: true,
  maxBufferedChars: true,
  name: true,
});

/**
 * Input and output guardrails. `input(request, ctx)` runs before the model, `output(response, ctx,
 * { final })` after it; each may be async (use `ctx.signal`: an aborted call stops waiting for it).
 * A block rejects with `PolicyViolationError` (violation `layer` = the guard's name, `hook`
 * `llm_input` or `llm_output`), or answers with `replaceWith` (finish reason `content-filter`).
 *
 * @example
 * app.use(guard({
 *   input: (request) => (textOf(request.messages.at(-1)!).includes('password') ? 'asks for a password' : undefined),
 *   output: (response) => (textOf(response.message).includes('SECRET') ? { reason: 'leak', replaceWith: 'Sorry.' } : true),
 * }));
 */
export function guard(options: GuardOptions): Middleware {
  checkKeys('guard()', options, KEYS);
  const {
    input,
    output,
    streaming = 'buffer',
    checkIntervalChars = 128,
    maxBufferedChars = DEFAULT_MAX_BUFFERED_CHARS,
    name = 'guard',
  } = options ?? ({} as GuardOptions);
  checkFunction('guard()', 'input', input, '(request, ctx) => verdict', { optional: true });
  checkFunction('guard()', 'output', output, '(response, ctx, info) => verdict', { optional: true });
  if (input === undefined && output === undefined) {
    throw new TypeError('guard(): pass an `input` check, an `output` check or both; got neither.');
  }
  checkOneOf('guard()', 'streaming', streaming, ['buffer', 'incremental', 'final']);
  checkString('guard()', 'name', name);
  checkInteger('guard()', 'checkIntervalChars', checkIntervalChars);
  checkInteger('guard()', 'maxBufferedChars', maxBufferedChars);
  const limits: StreamLimits = { streaming, checkIntervalChars, maxBufferedChars, name };

  const judge = async (stage: Stage, verdict: CheckResult, ctx: Context) => {
    const settled = (await untilAborted(verdict, ctx.signal)) as GuardVerdict;
    return toBlock(settled, stage, name);
  };

  return defineMiddleware({
    name,
    async call(ctx, next) {
      if (input) {
        const block = await judge('input', input(ctx.request, ctx), ctx);
        if (block) {
          ctx.response = refuse(block, name);
          return;
        }
      }
      await next();
      if (!output) return;
      // No answer at all is the pipeline's error to report, naming the layer that gave none.
      if (ctx.response === undefined && ctx.stream === undefined) return;
      const check = (response: ModelResponse, final: boolean) => judge('output', output(response, ctx, { final }), ctx);
      if (ctx.mode === 'generate' || !ctx.stream) {
        const response = ctx.response as ModelResponse;
        const block = await check(response, true);
        if (block) ctx.response = refuse(block, name);
        return;
      }
      // An async transform rather than ctx.mapStream: the checks are async, and parts are held back.
      await ctx.wrapStream((source) => guardStream(source, limits, check));
    },
  });
}

type Stage = 'input' | 'output';
type Block = GuardBlock & { readonly stage: Stage };

interface StreamLimits {
  readonly streaming: 'buffer' | 'incremental' | 'final';
  readonly checkIntervalChars: number;
  readonly maxBufferedChars: number;
  readonly name: string;
}

async function* guardStream(
  source: AsyncIterable<StreamPart>,
  limits: StreamLimits,
  check: (response: ModelResponse, final: boolean) => Promise<Block | undefined>,
): AsyncGenerator<StreamPart> {
  const { streaming, checkIntervalChars, maxBufferedChars, name } = limits;
  const assembler = new ResponseAssembler();
  let held: StreamPart[] = [];
  let total = 0;
  // Characters covered by the last check: the next one waits for a quarter as many new ones, so
  // the checks' sizes grow geometrically and their sum stays linear in the answer.
  let checked = 0;
  const completeCalls = new Set<string>();
  for await (const part of source) {
    total += partChars(part);
    if (total > maxBufferedChars) throw tooLarge(name, maxBufferedChars);
    assembler.add(part);
    if (streaming === 'final' && part.type !== 'finish') {
      yield part;
      continue;
    }
    if (streaming !== 'incremental' || part.type === 'finish') {
      held.push(part);
      continue;
    }
    // Consecutive plain text deltas held back are released as one: a batch of thousands of tiny
    // deltas would otherwise be thousands of objects kept alive until the check.
    const last = held[held.length - 1];
    if (part.type === 'text-delta' && last?.type === 'text-delta' && isPlainText(part) && isPlainText(last)) {
      held[held.length - 1] = { type: 'text-delta', text: last.text + part.text };
    } else held.push(part);
    if (part.type === 'tool-call') completeCalls.add(part.toolCallId);
    if (total - checked < Math.max(checkIntervalChars, checked >> 2)) continue;
    checked = total;
    const block = await check(assembler.response(), false);
    if (block) {
      if (block.replaceWith === undefined) throw violation(block, name);
      // The source is closed by the for-await's return when this generator returns early.
      yield* refusalParts(block);
      return;
    }
    // A tool-call delta is covered once its call is complete (the check saw the whole input).
    let covered = 0;
    while (covered < held.length) {
      const next = held[covered] as StreamPart;
      if (next.type === 'tool-call-delta' && !completeCalls.has(next.toolCallId)) break;
      covered++;
    }
    if (covered === 0) continue;
    const release = covered === held.length ? held : held.slice(0, covered);
    held = covered === held.length ? [] : held.slice(covered);
    yield* release;
  }
  const block = await check(assembler.response(), true);
  if (block) {
    if (block.replaceWith === undefined || streaming === 'final') throw violation(block, name);
    yield* refusalParts(block);
    return;
  }
  yield* held;
}

/** A text delta with no provider extras, which merging would drop. */
function isPlainText(part: StreamPart & { type: 'text-delta' }): boolean {
  let keys = 0;
  for (const _ in part) if (++keys > 2) return false;
  return true;
}

function tooLarge(name: string, limit: number): BufferLimitError {
  return new BufferLimitError({
    layer: name,
    limit,
    message: `${name}: the streamed answer passed \`maxBufferedChars\` (${limit}) characters held for the output check; the stream was stopped. Raise \`maxBufferedChars\` or ask for a shorter answer.`,
  });
}

function refusalParts(block: Block): StreamPart[] {
  return responseToParts(refusal(block.replaceWith as string | ModelResponse));
}

function refuse(block: Block, name: string): ModelResponse {
  if (block.replaceWith === undefined) throw violation(block, name);
  return refusal(block.replaceWith);
}

function refusal(replaceWith: string | ModelResponse): ModelResponse {
  return typeof replaceWith === 'string'
    ? { message: { role: 'assistant', content: replaceWith }, finishReason: 'content-filter' }
    : replaceWith;
}

function violation(block: Block, name: string): PolicyViolationError {
  return new PolicyViolationError({
    reason: block.reason,
    code: block.code ?? (block.stage === 'input' ? 'GUARD_INPUT' : 'GUARD_OUTPUT'),
    layer: name,
    hook: block.stage === 'input' ? 'llm_input' : 'llm_output',
    ...(block.details ? { details: block.details } : {}),
  });
}

function toBlock(verdict: GuardVerdict, stage: Stage, name: string): Block | undefined {
  if (verdict === undefined || verdict === true) return undefined;
  if (verdict === false) return { reason: `${stage} rejected by \`${name}\``, stage };
  if (typeof verdict === 'string') return { reason: verdict, stage };
  if (typeof verdict === 'object' && verdict !== null && typeof verdict.reason === 'string') {
    return { ...verdict, stage };
  }
  throw new TypeError(
    `guard \`${name}\`: the ${stage} check returned ${verdict === null ? 'null' : typeof verdict}; return undefined or true to allow, or a reason string or { reason, replaceWith? } to block.`,
  );
}

/** Settles with the check, or rejects with the signal's reason as soon as the call is aborted. */
function untilAborted<T>(value: T | Promise<T>, signal: AbortSignal): Promise<T> {
  return value instanceof Promise ? abortable(value, signal) : Promise.resolve(value);
}
