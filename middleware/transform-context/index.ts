import { type Draft, Immer, type Immutable, type Patch, current, isDraft } from 'immer';
import { type Middleware, defineMiddleware } from '../../lib/core/compose.js';
import type { Context, RunContext } from '../../lib/core/context.js';
import { MiddlewareError } from '../../lib/core/errors.js';
import type { EffectiveModel } from '../../lib/core/events.js';
import type { Message } from '../../lib/core/messages.js';
import { type Tokenizer, countTokens } from '../../lib/core/tokens.js';
import { checkFunction, checkKeys, checkString, describeValue, optionNames } from '../../lib/kit.js';
import { MessagesDraft } from './draft.js';

// The layer's own Immer instance for async recipes: auto-freeze off, like the drafts ctx.update hands
// out, so finishing a draft never walks the whole transcript.
const immer = new Immer({ autoFreeze: false });

/** The second argument of a `transformContext` recipe. */
export interface TransformContextInfo {
  /**
   * The messages as this layer received them (the previous layers' output). Read here, write to
   * the draft: reading through the draft creates a proxy per message touched.
   */
  readonly original: Immutable<Message[]>;
  /** The run's 1-based turn; 0 outside a run. */
  readonly turn: number;
  /** The run this call belongs to; `undefined` outside `runAgent()`. */
  readonly run: RunContext | undefined;
  /** The requested and resolved model of this call. */
  readonly model: EffectiveModel;
  /** Counts tokens as `tokenBudget` does, memoised per message object. */
  readonly countTokens: (input: string | Immutable<Message> | Immutable<Message[]>) => Promise<number>;
  /** The call context, for `state`, `request.tools` and the like. */
  readonly ctx: Context;
}

/**
 * Mutates the messages draft and returns nothing, or returns a replacement array and touches
 * nothing. May be async.
 */
export type TransformContextRecipe = (
  draft: Draft<Message[]>,
  info: TransformContextInfo,
) => void | Message[] | Immutable<Message[]> | Promise<void | Message[] | Immutable<Message[]>>;

export interface TransformContextOptions {
  /** Names the layer in errors, patches and traces. @default the recipe's function name, else 'transformContext' */
  readonly name?: string | undefined;
  /** The tokenizer behind `info.countTokens`. @default gpt-tokenizer's o200k_base, loaded on first use */
  readonly tokenizer?: Tokenizer | undefined;
}

const KEYS = optionNames<TransformContextOptions>({ name: true, tokenizer: true });

/**
 * Reshapes the messages each model call sends, on every call of every turn, without touching the
 * run's transcript (use `info.run.updateTranscript` for edits meant to persist). Several chain in
 * `use()` order, each seeing the previous one's output; the result is validated and an invalid one
 * throws `InvalidRequestError` naming this layer. Inside a retry or fallback it runs again on each
 * attempt, from the request as it was when the retry layer was entered.
 *
 * @example
 * app.use(transformContext(function dropImages(draft, { original }) {
 *   original.forEach((m, i) => { if (m.role === 'user' && Array.isArray(m.content)) draft[i] = { ...m, content: textOf(m) }; });
 * }));
 */
export function transformContext(recipe: TransformContextRecipe, options: TransformContextOptions = {}): Middleware {
  if (typeof recipe !== 'function') {
    throw new TypeError(`transformContext(): expected a recipe (draft, info) => void, got ${describeValue(recipe)}.`);
  }
  checkKeys('transformContext()', options, KEYS);
  const { name = recipe.name || 'transformContext', tokenizer } = options ?? {};
  checkString('transformContext()', 'name', name);
  checkFunction('transformContext()', 'tokenizer', tokenizer, '(text) => number', { optional: true });
  const count = (input: string | Immutable<Message> | Immutable<Message[]>) => countTokens(input, { tokenizer });
  const isAsync = (recipe as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === 'AsyncFunction';

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const info = new Info(ctx, count);
      if (isAsync) await updateAsync(ctx, recipe, info, name);
      else if (ctx.patches === undefined) updateSync(ctx, recipe, info, name);
      else {
        // Inspecting: the recipe works on the call's own Immer draft, so its patches say exactly
        // which messages it changed (slower: Immer pays per written element).
        ctx.update((draft) => {
          const messages = draft.messages;
          const returned = recipe(messages, info);
          if (returned === undefined || returned === messages) return;
          if (returned instanceof Promise) {
            returned.catch(() => {});
            throw new MiddlewareError(
              name,
              `\`${name}\` returned a promise but is not declared \`async\`. Declare the recipe \`async\` so transformContext awaits it before the draft is closed.`,
            );
          }
          if (current(messages) !== info.original) throw bothError(name);
          draft.messages = returned as Message[];
        });
      }
      await next();
    },
  });
}

/**
 * A class, not an object literal: a literal with a getter gets a hidden class of its own on every
 * call (the getter is a new closure each time), which costs ~20 µs per call in V8.
 */
class Info implements TransformContextInfo {
  readonly original: Immutable<Message[]>;
  readonly turn: number;
  readonly run: RunContext | undefined;
  constructor(
    readonly ctx: Context,
    readonly countTokens: TransformContextInfo['countTokens'],
  ) {
    this.original = ctx.request.messages;
    this.run = ctx.run;
    this.turn = this.run?.turn ?? 0;
  }
  /** Built on demand: most recipes never look at it. */
  get model(): EffectiveModel {
    return this.ctx.model;
  }
}

/** More changed messages than this and the result replaces the array in one update. */
const MAX_WRITES = 8;

/**
 * A sync recipe gets a plain array behind a light draft (see draft.ts), and its result reaches the
 * request in one `ctx.update`: a few changed messages are written index by index, so validation
 * and provenance see which ones; more, or a changed length, replace the array.
 */
function updateSync(ctx: Context, recipe: TransformContextRecipe, info: TransformContextInfo, name: string): void {
  const original = info.original as readonly Message[];
  const draft = new MessagesDraft(immer, original);
  let returned: ReturnType<TransformContextRecipe>;
  try {
    returned = recipe(draft.proxy, info);
  } catch (error) {
    draft.finish();
    throw error;
  }
  if (returned instanceof Promise) {
    returned.catch(() => {});
    draft.finish();
    throw new MiddlewareError(
      name,
      `\`${name}\` returned a promise but is not declared \`async\`. Declare the recipe \`async\` so transformContext awaits it before the draft is closed.`,
    );
  }
  const replaced = returned !== undefined && returned !== (draft.proxy as unknown);
  if (replaced && !Array.isArray(returned)) {
    notAnArray(ctx, returned, draft.finish() !== undefined, name);
    return;
  }
  const out = draft.finish(replaced ? (returned as readonly unknown[]) : undefined);
  if (out === 'both') throw bothError(name);
  if (out === undefined || out === original) return;
  const written = replaced ? undefined : draft.writtenIndices();
  const changed =
    written !== undefined
      ? changedAt(original, out, written)
      : out.length === original.length
        ? changedIndices(original, out)
        : undefined;
  if (changed?.length === 0) return;
  if (changed && changed.length <= MAX_WRITES && out.length === original.length) {
    // The core puts them in place, checks only these and records which changed (no Immer pass).
    ctx.replaceMessages(changed.map((i) => [i, out[i] as Message] as const));
  } else ctx.update((request) => void (request.messages = out));
}

/** Which of the `written` indices hold a different object than before, sorted, without repeats; `undefined` past MAX_WRITES. */
function changedAt(a: readonly unknown[], b: readonly unknown[], written: readonly number[]): number[] | undefined {
  const changed: number[] = [];
  for (const i of written) if (a[i] !== b[i] && !changed.includes(i)) changed.push(i);
  return changed.length > MAX_WRITES ? undefined : changed.sort((x, y) => x - y);
}

/** The indices at which two arrays of one length hold different objects; `undefined` past MAX_WRITES. */
function changedIndices(a: readonly unknown[], b: readonly unknown[]): number[] | undefined {
  const changed: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && changed.push(i) > MAX_WRITES) return undefined;
  }
  return changed;
}

/** An async recipe outlives one synchronous update: it gets its own draft, applied when it settles. */
async function updateAsync(ctx: Context, recipe: TransformContextRecipe, info: TransformContextInfo, name: string) {
  const { original } = info;
  let patches: Patch[] | undefined;
  const listener = ctx.patches ? (p: Patch[]) => void (patches = p) : undefined;
  // A plain copy of a frozen array: Immer's copy of a frozen one is ~50× slower (see lib/call-core.ts).
  const base = (Object.isFrozen(original) ? [...original] : original) as Message[];
  const draft = immer.createDraft(base);
  const returned = await recipe(draft, info);
  let out: Message[];
  if (returned === undefined || returned === draft) out = immer.finishDraft(draft, listener);
  else if (!Array.isArray(returned)) {
    notAnArray(ctx, returned, immer.finishDraft(draft) !== base, name);
    return;
  } else {
    // What produce() does to a returned value: a message taken from the draft is finalised.
    const replacement = [...(returned as Message[])];
    for (let i = 0; i < replacement.length; i++) {
      if (isDraft(replacement[i])) replacement[i] = current(replacement[i] as Message);
    }
    if (immer.finishDraft(draft) !== base) throw bothError(name);
    out = replacement;
    if (listener) patches = [{ op: 'replace', path: [], value: replacement }];
  }
  if (out === base) return;
  if (patches) {
    // Replay the recipe's own patches, so ctx.patches says which messages changed.
    const prefixed = patches.map((p) => ({ ...p, path: ['messages', ...p.path] }));
    ctx.update((request) => void immer.applyPatches(request, prefixed));
  } else ctx.update((request) => void (request.messages = out));
}

/**
 * A recipe returned something that is not an array (`null`, an object): put in place of the messages,
 * the core's validation refuses it with an `InvalidRequestError` naming this layer, as it did when
 * every recipe ran in `produce`.
 */
function notAnArray(ctx: Context, returned: unknown, changed: boolean, name: string): void {
  if (changed) throw bothError(name);
  ctx.update((request) => void (request.messages = returned as Message[]));
}

function bothError(name: string): MiddlewareError {
  return new MiddlewareError(
    name,
    `\`${name}\` both changed the draft and returned a replacement. A recipe mutates the draft and returns nothing, or returns a replacement and touches nothing.`,
  );
}
