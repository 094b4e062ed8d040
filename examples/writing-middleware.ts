// Writing middleware: a factory, typed per-call state, a short-circuit and a response rewrite.
import { type Middleware, defineMiddleware, pipeline, textOf } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

declare module 'modelware' {
  interface CallState {
    cacheHit?: boolean;
  }
}

export interface MemoOptions {
  /** Entries kept. @default 100 */
  readonly maxEntries?: number;
}

/** Answers repeated questions from memory without calling the model. */
export function memo(options: MemoOptions = {}): Middleware {
  const { maxEntries = 100 } = options;
  const answers = new Map<string, NonNullable<import('modelware').ModelResponse>>();
  return defineMiddleware({
    name: 'memo',
    async call(ctx, next) {
      const key = JSON.stringify([ctx.request.model, ctx.request.messages]);
      const hit = answers.get(key);
      if (hit) {
        ctx.state.cacheHit = true;
        ctx.response = hit; // short-circuit: no next(), nothing inside runs
        return;
      }
      await next();
      if (ctx.response && answers.size < maxEntries) answers.set(key, ctx.response);
    },
  });
}

const shout: Middleware = async function shout(ctx, next) {
  await next();
  ctx.updateResponse((draft) => void (draft.message.content = textOf(draft.message).toUpperCase()));
};

const model = scriptedExecutor(['hello there']);
const app = pipeline(model, shout, memo());
const request = { model: 'demo', messages: [{ role: 'user' as const, content: 'hi' }] };

console.log(textOf((await app.generate(request)).message)); // HELLO THERE (from the model)
console.log(textOf((await app.generate(request)).message)); // HELLO THERE (from memo)
console.log(`model calls: ${model.calls.length}`); // 1
