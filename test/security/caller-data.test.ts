// The caller's data is safe in every mode (issue 10, item 8): a layer that mutates ctx.request
// directly (plain JS ignores the read-only types) never reaches the caller's arrays, and strict
// mode freezes the library's copies, never the caller's own objects.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Executor, type Message, type Middleware, type ModelResponse, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

const MODES = ['generate', 'stream'] as const;

async function call(app: Executor, mode: (typeof MODES)[number], request: Parameters<Executor['generate']>[0]) {
  if (mode === 'generate') return app.generate(request);
  const stream = app.stream?.(request) as AsyncIterable<unknown> & { response: Promise<ModelResponse> };
  for await (const _ of stream);
  return stream.response;
}

/** What a careless plain-JS layer does: push onto the request's own arrays. */
const pusher: Middleware = async function pusher(ctx, next) {
  const request = ctx.request as unknown as { messages: Message[]; tools?: unknown[] };
  request.messages.push({ role: 'user', content: 'injected' });
  await next();
};

function history() {
  return {
    model: 'm',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ] as Message[],
    options: { temperature: 0.5 },
    metadata: { tenant: 't1' },
  };
}

for (const strict of [false, true]) {
  const label = strict ? 'strict' : 'default';
  describe(`caller's data (${label} mode)`, () => {
    for (const mode of MODES) {
      test(`${mode}: a direct push onto ctx.request.messages never grows the caller's array`, async () => {
        const request = history();
        const seen: number[] = [];
        const app = pipeline({
          executor: scriptedExecutor(['a', 'b', 'c']),
          strict,
        }).use(async function pusherOrThrow(ctx, next) {
          try {
            await pusher(ctx, async () => {});
          } catch (error) {
            // Strict mode makes the mutation itself throw.
            assert.ok(strict, String(error));
            assert.ok(error instanceof TypeError);
          }
          seen.push(ctx.request.messages.length);
          await next();
        });
        for (let i = 0; i < 3; i++) await call(app, mode, request);
        assert.equal(request.messages.length, 2);
        assert.deepEqual(seen, strict ? [2, 2, 2] : [3, 3, 3]);
      });
    }

    test(`assigning a field of ctx.request ${strict ? 'throws' : 'changes only this call'} and leaves the caller request alone`, async () => {
      const request = history();
      const app = pipeline({ executor: scriptedExecutor(['a']), strict }).use(async function setter(ctx, next) {
        const assign = () => {
          (ctx.request as { model: string }).model = 'other';
        };
        // Strict mode freezes the library's copy; the default mode leaves it unfrozen (freezing it
        // cost ~0.5 µs a call, docs/decisions.md §25), and the copy is the library's own.
        if (strict) assert.throws(assign, TypeError);
        else assign();
        await next();
      });
      await app.generate(request);
      assert.equal(request.model, 'm');
    });

    test("the caller's own objects are never frozen, even after updates, and stay editable", async () => {
      const request = history();
      const app = pipeline({ executor: scriptedExecutor(['a', 'b']), strict }).use(async function edit(ctx, next) {
        ctx.update((draft) => {
          draft.messages.push({ role: 'user', content: 'more' });
          draft.options = { ...draft.options, temperature: 0 };
        });
        await next();
      });
      await app.generate(request);
      for (const value of [request, request.messages, ...request.messages, request.options, request.metadata]) {
        assert.equal(Object.isFrozen(value), false);
      }
      // The caller's next turn edits its history in place: no TypeError.
      (request.messages[0] as { content: string }).content = 'be kind';
      request.messages.push({ role: 'user', content: 'next' });
      await app.generate(request);
      assert.deepEqual(
        request.messages.map((m) => m.content),
        ['be kind', 'hi', 'next'],
      );
    });
  });
}

describe("caller's data: strict mode freezes the library's copies", () => {
  test('every level of ctx.request is frozen, on entry and after an update', async () => {
    const request = history();
    const frozen: boolean[] = [];
    const check: Middleware = async (ctx, next) => {
      const r = ctx.request;
      frozen.push(
        Object.isFrozen(r),
        Object.isFrozen(r.messages),
        r.messages.every((m) => Object.isFrozen(m)),
        Object.isFrozen(r.options),
        Object.isFrozen(r.metadata),
      );
      await next();
    };
    const app = pipeline({ executor: scriptedExecutor(['a']), strict: true }).use(
      check,
      async function edit(ctx, next) {
        ctx.update((draft) => void draft.messages.push({ role: 'user', content: 'more' }));
        await next();
      },
      check,
    );
    await app.generate(request);
    assert.deepEqual(frozen, Array(10).fill(true));
  });

  test('a direct edit of a message inside ctx.request throws instead of reaching the caller', async () => {
    const request = history();
    const app = pipeline({ executor: scriptedExecutor(['a']), strict: true }).use(async function editor(ctx, next) {
      assert.throws(() => {
        (ctx.request.messages[1] as { content: string }).content = 'changed';
      }, TypeError);
      await next();
    });
    await app.generate(request);
    assert.equal(request.messages[1]?.content, 'hi');
  });

  test('copies are reused across calls while the caller leaves a message alone', async () => {
    const request = history();
    const seen: unknown[] = [];
    const app = pipeline({ executor: scriptedExecutor(['a', 'b']), strict: true }).use(async (ctx, next) => {
      seen.push(ctx.request.messages[0]);
      await next();
    });
    await app.generate(request);
    await app.generate(request);
    assert.equal(seen[0], seen[1]);
    assert.notEqual(seen[0], request.messages[0]);
  });
});

describe("caller's data: the default mode shares what it can", () => {
  test('message objects keep their identity (identity-keyed caches keep working)', async () => {
    const request = history();
    let first: unknown;
    const app = pipeline(scriptedExecutor(['a'])).use(async (ctx, next) => {
      first = ctx.request.messages[0];
      await next();
    });
    await app.generate(request);
    assert.equal(first, request.messages[0]);
  });

  test('a frozen messages array is shared, not copied', async () => {
    const messages = Object.freeze([{ role: 'user', content: 'hi' }] as Message[]);
    let seen: unknown;
    const app = pipeline(scriptedExecutor(['a'])).use(async (ctx, next) => {
      seen = ctx.request.messages;
      await next();
    });
    await app.generate({ model: 'm', messages });
    assert.equal(seen, messages);
  });
});
