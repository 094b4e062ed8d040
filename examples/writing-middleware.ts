// Writing middleware: a factory, typed per-call state, a short-circuit and a response rewrite.
import { type Middleware, defineMiddleware, defineMiddlewareFactory, pipeline, textOf } from 'modelware';
import { checkInteger, checkKeys, optionNames } from 'modelware/kit';
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

// Checked against MemoOptions by the compiler: a name it lacks, or an option left out, is a type error.
const KEYS = optionNames<MemoOptions>({ maxEntries: true });

/** Answers repeated questions from memory without calling the model. */
export const memo = defineMiddlewareFactory(function memo(options: MemoOptions = {}): Middleware {
  checkKeys('memo()', options, KEYS); // memo({ maxEntires: 5 }) throws: unknown option `maxEntires` (did you mean `maxEntries`?)
  const { maxEntries = 100 } = options;
  checkInteger('memo()', 'maxEntries', maxEntries, { sign: 'positive' });
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
});

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
try {
  memo({ maxEntires: 5 } as MemoOptions);
} catch (error) {
  console.log((error as Error).message);
}
