import { type Draft, Immer, type Immutable, type Patch, current, isDraft } from 'immer';
import { type Middleware, defineMiddleware } from '../lib/compose.js';
import type { Context, RunContext } from '../lib/context.js';
import { MiddlewareError } from '../lib/errors.js';
import type { EffectiveModel } from '../lib/events.js';
import type { Message } from '../lib/messages.js';
import { type Tokenizer, countTokens } from '../lib/tokens.js';

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

// Auto-freeze would walk every message on every call (DESIGN §3).
const immer = new Immer({ autoFreeze: false });

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
    throw new TypeError(
      `transformContext(): expected a recipe (draft, info) => void, got ${recipe === null ? 'null' : typeof recipe}.`,
    );
  }
  const { name = recipe.name || 'transformContext', tokenizer } = options ?? {};
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`transformContext(): expected \`name\` to be a non-empty string, got \`${String(name)}\`.`);
  }
  if (tokenizer !== undefined && typeof tokenizer !== 'function') {
    throw new TypeError(
      `transformContext(): expected \`tokenizer\` to be a function (text) => number, got ${typeof tokenizer}.`,
    );
  }
  const count = (input: string | Immutable<Message> | Immutable<Message[]>) => countTokens(input, { tokenizer });

  return defineMiddleware({
    name,
    async call(ctx, next) {
      const original = ctx.request.messages;
      const run = ctx.run;
      const info: TransformContextInfo = {
        original,
        turn: run?.turn ?? 0,
        run,
        model: ctx.model,
        countTokens: count,
        ctx,
      };
      let patches: Patch[] | undefined;
      const listener = ctx.patches ? (p: Patch[]) => void (patches = p) : undefined;
      // createDraft/finishDraft rather than produce(): Immer 11 recipes cannot be async.
      const draft = immer.createDraft(original as Message[]);
      let returned = recipe(draft, info);
      if (returned instanceof Promise) returned = await returned;
      let out: Message[];
      if (returned === undefined || returned === draft) out = immer.finishDraft(draft, listener);
      else {
        // What produce() would do to a returned value: a message taken from the draft is finalised.
        const replacement = (returned as Message[]).map((m) => (isDraft(m) ? current(m) : m));
        if (immer.finishDraft(draft) !== original) {
          throw new MiddlewareError(
            name,
            `\`${name}\` both changed the draft and returned a replacement. A recipe mutates the draft and returns nothing, or returns a replacement and touches nothing.`,
          );
        }
        out = replacement;
        if (listener) patches = [{ op: 'replace', path: [], value: replacement }];
      }
      if (out !== original) {
        const result = out;
        // With inspection on, replay the recipe's own patches so ctx.patches says which messages changed.
        if (patches) {
          const prefixed = patches.map((p) => ({ ...p, path: ['messages', ...p.path] }));
          ctx.update((draft) => void immer.applyPatches(draft, prefixed));
        } else ctx.update((draft) => void (draft.messages = result));
      }
      await next();
    },
  });
}
