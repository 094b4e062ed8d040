// The light messages draft of a synchronous transformContext recipe behaves like an Immer draft:
// nested edits change copies, drafts inside new values are finalised, a kept draft is dead.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Message, pipeline } from 'modelware';
import { type TransformContextRecipe, transformContext } from 'modelware/middleware';
import { USER, recordingExecutor } from '../fixtures/agent.js';

const CALL: Message = {
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 't', input: { q: 1 } }],
};
const RESULT: Message = { role: 'tool', toolCallId: 'c1', toolName: 't', content: 'full result' };

async function send(recipe: TransformContextRecipe, messages: Message[] = [USER, CALL, RESULT]) {
  const executor = recordingExecutor();
  await pipeline(executor)
    .use(transformContext(recipe, { name: 'shape' }))
    .generate({ model: 'm', messages });
  return executor.requests[0]?.messages ?? [];
}

describe('the messages draft of a sync transformContext recipe', () => {
  test("a nested edit through the draft changes the call's copy, never the caller's message", async () => {
    const caller = structuredClone([USER, CALL, RESULT]);
    const sent = await send((draft) => {
      (draft[2] as { content: string }).content = 'short';
      const call = draft[1] as { content: { input: unknown }[] };
      (call.content[0] as { input: unknown }).input = { q: 2 };
    }, caller);
    assert.deepEqual(caller, [USER, CALL, RESULT]);
    assert.equal((sent[2] as { content: string }).content, 'short');
    assert.deepEqual((sent[1] as unknown as { content: { input: unknown }[] }).content[0]?.input, { q: 2 });
    assert.equal(sent[0], caller[0], 'an untouched message keeps its identity');
  });

  test('a message read through the draft and not changed keeps its identity', async () => {
    const caller = [USER, CALL, RESULT];
    const sent = await send((draft) => {
      for (const m of draft) void m.role;
    }, caller);
    assert.equal(sent[1], CALL);
    assert.equal(sent[2], RESULT);
  });

  test('a new message built from a draft ({ ...draft[i] }) holds plain data, not revoked proxies', async () => {
    const sent = await send((draft) => {
      draft[1] = { ...(draft[1] as Message) } as Message;
      draft.push({ role: 'user', content: 'next' });
    });
    assert.deepEqual(JSON.parse(JSON.stringify(sent)), [USER, CALL, RESULT, { role: 'user', content: 'next' }]);
    assert.notEqual(sent[1], CALL);
  });

  test('splice, push and a changed length reach the request', async () => {
    const sent = await send((draft) => {
      draft.splice(1, 2);
      draft.push({ role: 'user', content: 'again' });
    });
    assert.deepEqual(sent, [USER, { role: 'user', content: 'again' }]);
  });

  test('a draft kept past the recipe cannot change the request later', async () => {
    let kept: Message[] | undefined;
    const sent = await send((draft) => {
      kept = draft as Message[];
      draft[2] = { ...RESULT, content: 'x' };
    });
    assert.throws(() => kept?.push(USER), TypeError);
    assert.equal(sent.length, 3);
  });

  test('a recipe that throws leaves the request as it was', async () => {
    const executor = recordingExecutor();
    const app = pipeline(executor).use(async (ctx, next) => {
      await next().catch(() => {});
      if (!ctx.response) ctx.response = { message: { role: 'assistant', content: 'fallback' }, finishReason: 'stop' };
    });
    let seen: unknown;
    app.use(async (ctx, next) => {
      await next().catch((e) => {
        seen = ctx.request.messages;
        throw e;
      });
    });
    app.use(
      transformContext((draft) => {
        draft[0] = { role: 'user', content: 'changed' };
        throw new Error('boom');
      }),
    );
    await app.generate({ model: 'm', messages: [USER] });
    assert.deepEqual(seen, [USER]);
  });

  // Any mix of writes, nested edits, pushes and reads: what is sent equals the same recipe run on a
  // deep copy of the messages, and the caller's messages are untouched.
  type Op =
    | { kind: 'write'; at: number; text: string }
    | { kind: 'nested'; at: number; text: string }
    | { kind: 'push'; text: string }
    | { kind: 'spread'; at: number }
    | { kind: 'read'; at: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), at: fc.nat(), text: fc.string() }),
    fc.record({ kind: fc.constant('nested' as const), at: fc.nat(), text: fc.string() }),
    fc.record({ kind: fc.constant('push' as const), text: fc.string() }),
    fc.record({ kind: fc.constant('spread' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('read' as const), at: fc.nat() }),
  );
  function apply(draft: Message[], ops: readonly Op[]): void {
    for (const op of ops) {
      const at = 'at' in op ? op.at % draft.length : 0;
      // The tool call at 2 stays, or its result would be an orphan and the request invalid.
      if (op.kind === 'write') draft[at === 2 ? 0 : at] = { role: 'user', content: op.text };
      else if (op.kind === 'push') draft.push({ role: 'user', content: op.text });
      else if (op.kind === 'spread') draft[at] = { ...(draft[at] as Message) } as Message;
      else if (op.kind === 'read') void draft[at]?.role;
      else {
        const m = draft[at] as { role: string; content: unknown };
        if (m.role === 'user' || m.role === 'system' || m.role === 'tool') m.content = op.text;
      }
    }
  }

  test('equals the same edits on a deep copy, and never touches the caller (fast-check, 200 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 12 }), async (ops) => {
        const caller: Message[] = [{ role: 'system', content: 's' }, USER, CALL, RESULT];
        const before = structuredClone(caller);
        const expected = structuredClone(caller);
        apply(expected, ops);
        const sent = await send((draft) => apply(draft as Message[], ops), caller);
        assert.deepEqual(sent, expected);
        assert.deepEqual(caller, before);
      }),
      { numRuns: 200 },
    );
  });
});
