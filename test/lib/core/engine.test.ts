// koa-compose's contract list (https://github.com/koajs/compose/blob/master/test/test.js), run as one
// table over the four stacks that share the engine (lib/core/engine.ts): call, run, turn and tool.
// Each stack is driven through the public API; the logs are exact, not sorted.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AgentError,
  type Middleware,
  MiddlewareError,
  compose,
  defineMiddleware,
  pipeline,
  runAgent,
  tool,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { BASE_REQUEST } from '../../fixtures/core.js';
import { USER } from '../../fixtures/agent.js';

type Kind = 'call' | 'run' | 'turn' | 'tool';
type LayerFn = (ctx: unknown, next: () => Promise<void>) => Promise<void> | void;

interface Stack {
  readonly kind: Kind;
  /** Runs one call, run, turn or tool call through `middleware`; `inner` runs at the centre. */
  readonly run: (middleware: readonly Middleware[], inner: () => void) => Promise<void>;
  /** How `next()` twice is named: the call stack names the layer only. */
  readonly twice: (layer: string) => RegExp;
}

function layer(kind: Kind, name: string, fn: LayerFn, replay = false): Middleware {
  return defineMiddleware({ name, [kind]: fn, replay } as never);
}

/** What a failed run rejects with, as the layers saw it. */
function unwrap(error: unknown): unknown {
  return AgentError.isInstance(error) ? error.cause : error;
}

const agentRun = (kind: Kind) => async (middleware: readonly Middleware[], inner: () => void) => {
  if (kind === 'tool') {
    const probe = tool({
      name: 'probe',
      input: z.object({ s: z.string() }),
      execute: () => {
        inner();
        return 'ok';
      },
    });
    const model = scriptedExecutor([{ toolCalls: [{ id: 't1', name: 'probe', input: { s: 'a' } }] }, 'done']);
    await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [probe], middleware: [...middleware] });
    return;
  }
  const model = scriptedExecutor([
    () => {
      inner();
      return 'done';
    },
  ]);
  await runAgent({ model, modelId: 'test-model', messages: [USER], middleware: [...middleware] });
};

const STACKS: readonly Stack[] = [
  {
    kind: 'call',
    run: async (middleware, inner) => {
      const model = scriptedExecutor([
        () => {
          inner();
          return 'done';
        },
      ]);
      await pipeline(model)
        .use(...middleware)
        .generate(BASE_REQUEST);
    },
    twice: (name) => new RegExp(`^next\\(\\) called multiple times in \`${name}\``),
  },
  ...(['run', 'turn', 'tool'] as const).map(
    (kind): Stack => ({
      kind,
      run: agentRun(kind),
      twice: (name) => new RegExp(`^next\\(\\) called multiple times in ${kind} layer \`${name}\``),
    }),
  ),
];

function logging(kind: Kind, name: string, log: string[]): Middleware {
  return layer(kind, name, async (_ctx, next) => {
    log.push(`${name}:in`);
    await next();
    log.push(`${name}:out`);
  });
}

for (const stack of STACKS) {
  const { kind } = stack;

  describe(`engine, ${kind} stack: the koa-compose contract`, () => {
    test('zero middleware: the centre runs once', async () => {
      const log: string[] = [];
      await stack.run([], () => log.push('inner'));
      assert.deepEqual(log, ['inner']);
    });

    test('a layer that is not a function is rejected with a TypeError naming it', () => {
      assert.throws(
        () => defineMiddleware({ name: 'x', [kind]: 42 } as never),
        (error: unknown) =>
          error instanceof TypeError && error.message.includes(`\`${kind}\` of middleware \`x\` must be a function`),
      );
    });

    test('onion order, by exact log', async () => {
      const log: string[] = [];
      const layers = ['a', 'b', 'c'].map((name) => logging(kind, name, log));
      await stack.run(layers, () => log.push('inner'));
      assert.deepEqual(log, ['a:in', 'b:in', 'c:in', 'inner', 'c:out', 'b:out', 'a:out']);
    });

    test('an error thrown downstream is caught upstream', async () => {
      const log: string[] = [];
      const boom = new Error('boom');
      const outer = layer(kind, 'outer', async (_ctx, next) => {
        try {
          await next();
        } catch (error) {
          log.push(`caught:${error === boom}`);
          throw error;
        }
      });
      const thrower = layer(kind, 'thrower', () => {
        throw boom;
      });
      const error = await stack
        .run([outer, thrower], () => log.push('inner'))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.deepEqual(log, ['caught:true']);
      assert.equal(unwrap(error), boom);
    });

    test('nested compositions keep the exact onion order', async () => {
      const log: string[] = [];
      const [a, b, c] = ['a', 'b', 'c'].map((name) => logging(kind, name, log)) as [Middleware, Middleware, Middleware];
      await stack.run([compose(a, compose(b, c))], () => log.push('inner'));
      assert.deepEqual(log, ['a:in', 'b:in', 'c:in', 'inner', 'c:out', 'b:out', 'a:out']);
    });

    test('the array of middleware is not modified', async () => {
      const log: string[] = [];
      const layers = ['a', 'b'].map((name) => logging(kind, name, log));
      const copy = [...layers];
      await stack.run(layers, () => log.push('inner'));
      await stack.run(layers, () => log.push('inner'));
      assert.deepEqual(layers, copy);
      assert.equal(log.filter((entry) => entry === 'inner').length, 2);
    });

    test('next() twice is rejected with a MiddlewareError naming the layer, and the centre runs once', async () => {
      const log: string[] = [];
      const greedy = layer(kind, 'greedy', async (_ctx, next) => {
        await next();
        await next();
      });
      const error = unwrap(await stack.run([greedy], () => log.push('inner')).catch((e: unknown) => e));
      assert.equal(MiddlewareError.isInstance(error), true);
      assert.equal((error as MiddlewareError).layer, 'greedy');
      assert.match((error as Error).message, stack.twice('greedy'));
      assert.deepEqual(log, ['inner']);
    });

    if (kind === 'run' || kind === 'turn') {
      test(`a ${kind} layer must call next()`, async () => {
        const log: string[] = [];
        const skip = layer(kind, 'skip', () => {});
        const error = unwrap(await stack.run([skip], () => log.push('inner')).catch((e: unknown) => e));
        assert.equal(MiddlewareError.isInstance(error), true);
        assert.match((error as Error).message, new RegExp(`^${kind} layer \`skip\` returned without calling`));
        assert.deepEqual(log, []);
      });
    }
  });
}

// The replay rule, for the stacks whose layers may replay (run and turn layers wrap the loop itself):
// an attempt starts from the snapshot taken when the replay layer was entered, plus the replay
// layer's own changes, never the inner layers' ones.
interface ReplayStack {
  readonly kind: 'call' | 'tool';
  /** Appends to the state the layers shape (the first message for a call, `input.s` for a tool). */
  readonly append: (ctx: unknown, suffix: string) => void;
  /** Runs `middleware`; returns the state the centre received on each attempt. */
  readonly run: (middleware: readonly Middleware[]) => Promise<string[]>;
}

const REPLAY_STACKS: readonly ReplayStack[] = [
  {
    kind: 'call',
    append: (ctx, suffix) =>
      (ctx as { update: (r: (d: { messages: { content: string }[] }) => void) => void }).update((draft) => {
        (draft.messages[0] as { content: string }).content += suffix;
      }),
    run: async (middleware) => {
      const sent: string[] = [];
      const model = scriptedExecutor(
        [
          (request) => {
            sent.push(request.messages[0]?.content as string);
            return 'done';
          },
        ],
        { whenDone: 'repeat-last' },
      );
      await pipeline(model)
        .use(...middleware)
        .generate({ model: 'test-model', messages: [{ role: 'user', content: 'a' }] });
      return sent;
    },
  },
  {
    kind: 'tool',
    append: (ctx, suffix) =>
      (ctx as { updateInput: (r: (d: { s: string }) => void) => void }).updateInput((draft) => {
        draft.s += suffix;
      }),
    run: async (middleware) => {
      const sent: string[] = [];
      const probe = tool({
        name: 'probe',
        input: z.object({ s: z.string() }),
        execute: ({ s }) => {
          sent.push(s);
          return 'ok';
        },
      });
      const model = scriptedExecutor([{ toolCalls: [{ id: 't1', name: 'probe', input: { s: 'a' } }] }, 'done']);
      await runAgent({ model, modelId: 'test-model', messages: [USER], tools: [probe], middleware: [...middleware] });
      return sent;
    },
  },
];

for (const stack of REPLAY_STACKS) {
  const { kind, append } = stack;
  const suffix = layer(kind, 'suffix', async (ctx, next) => {
    append(ctx, '-s');
    await next();
  });

  describe(`engine, ${kind} stack: replay`, () => {
    test("a change the replay layer makes after an attempt applies to the snapshot, not to the inner layers' changes", async () => {
      const again = layer(
        kind,
        'again',
        async (ctx, next) => {
          await next();
          append(ctx, '!');
          await next();
        },
        true,
      );
      assert.deepEqual(await stack.run([again, suffix]), ['a-s', 'a!-s']);
    });

    test('changes made before the first attempt are kept on every attempt', async () => {
      const again = layer(
        kind,
        'again',
        async (ctx, next) => {
          append(ctx, '>');
          await next();
          await next();
        },
        true,
      );
      assert.deepEqual(await stack.run([again, suffix]), ['a>-s', 'a>-s']);
    });

    test('after a failed attempt the next one starts from the snapshot', async () => {
      let attempts = 0;
      const flaky = layer(kind, 'flaky', async (ctx, next) => {
        append(ctx, '-f');
        await next();
        if (++attempts === 1) throw new Error('flaked');
      });
      const retry = layer(
        kind,
        'retry',
        async (_ctx, next) => {
          try {
            await next();
          } catch {
            await next();
          }
        },
        true,
      );
      assert.deepEqual(await stack.run([retry, suffix, flaky]), ['a-s-f', 'a-s-f']);
    });

    test('next() while an attempt is running is rejected with a MiddlewareError naming the layer', async () => {
      let seen: unknown;
      const eager = layer(
        kind,
        'eager',
        async (_ctx, next) => {
          const first = next();
          seen = await next().catch((e: unknown) => e);
          await first;
        },
        true,
      );
      assert.deepEqual(await stack.run([eager, suffix]), ['a-s']);
      assert.equal(MiddlewareError.isInstance(seen), true);
      assert.equal((seen as MiddlewareError).layer, 'eager');
      assert.match(
        (seen as Error).message,
        /^next\(\) called again in `eager` while the previous attempt is still running/,
      );
    });
  });
}
