import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Immutable } from 'immer';
import { InvalidRequestError, type Message, pipeline, runAgent } from 'modelware';
import { mapMessages, transformContext } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { USER, add, recordingExecutor, summary } from '../fixtures/agent.js';

const stub = (m: Message) => (m.role === 'tool' ? { ...m, content: `[${m.toolName}]` } : undefined);

describe('mapMessages', () => {
  test('maps each message object once across a run: call N maps only the messages new since call N-1', async () => {
    const model = scriptedExecutor([
      { toolCalls: [{ id: 'a', name: 'add', input: { a: 1, b: 1 } }] },
      { toolCalls: [{ id: 'b', name: 'add', input: { a: 2, b: 2 } }] },
      'done',
    ]);
    const mapped: string[] = [];
    const app = pipeline(model).use(
      mapMessages(function shorten(m) {
        mapped.push(m.role);
        return stub(m as Message);
      }),
    );
    const result = await runAgent({ model: app, messages: [USER], tools: [add], modelId: 'm' });
    assert.deepEqual(mapped, ['user', 'assistant', 'tool', 'assistant', 'tool']);
    assert.deepEqual(summary(model.calls[2]?.request.messages ?? []), [
      'user:What is 1 + 2?',
      'assistant:call(a)',
      'tool(a):[add]',
      'assistant:call(b)',
      'tool(b):[add]',
    ]);
    // The transcript keeps the full results.
    assert.deepEqual(
      result.transcript.filter((m) => m.role === 'tool').map((m) => m.content),
      ['2', '4'],
    );
  });

  test('the same replacement object is sent on every call, a frozen copy of what the mapper returned', async () => {
    const returned: object[] = [];
    const executor = recordingExecutor();
    const app = pipeline(executor).use(
      mapMessages((m) => {
        if (m.role !== 'user') return undefined;
        const out = { role: 'user' as const, content: m.content.toString().toUpperCase() };
        returned.push(out);
        return out;
      }),
    );
    const messages: Message[] = [USER];
    await app.generate({ model: 'm', messages });
    await app.generate({ model: 'm', messages: [...messages] });
    const [first, second] = executor.requests.map((r) => r.messages[0]);
    assert.equal(first, second);
    assert.ok(Object.isFrozen(first));
    assert.equal(returned.length, 1);
    assert.ok(!Object.isFrozen(returned[0]), "the mapper's own object is not frozen");
    assert.notEqual(first, returned[0]);
  });

  test('a message edited in place (content or role) is mapped again', async () => {
    const executor = recordingExecutor();
    let calls = 0;
    const app = pipeline(executor).use(
      mapMessages((m) => {
        calls++;
        return m.role === 'user' ? { role: 'user', content: `<${String(m.content)}>` } : undefined;
      }),
    );
    const message = { role: 'user' as 'user' | 'system', content: 'a' };
    const messages = [message as Message];
    await app.generate({ model: 'm', messages });
    message.content = 'b';
    await app.generate({ model: 'm', messages });
    message.role = 'system';
    await app.generate({ model: 'm', messages });
    assert.equal(calls, 3);
    assert.deepEqual(
      executor.requests.map((r) => r.messages[0]?.content),
      ['<a>', '<b>', 'b'],
    );
  });

  test('exceptLast sends the newest messages as they are', async () => {
    const executor = recordingExecutor();
    const messages: Message[] = [
      { role: 'user', content: 'one' },
      { role: 'user', content: 'two' },
      { role: 'user', content: 'three' },
    ];
    await pipeline(executor)
      .use(mapMessages((m) => ({ ...(m as Message), content: 'x' }) as Message, { exceptLast: 2 }))
      .generate({ model: 'm', messages });
    assert.deepEqual(summary(executor.requests[0]?.messages ?? []), ['user:x', 'user:two', 'user:three']);
  });

  test('chains with transformContext in use() order, each seeing the previous output', async () => {
    const executor = recordingExecutor();
    const saw: string[][] = [];
    await pipeline(executor)
      .use(
        transformContext(function add(draft) {
          draft.push({ role: 'user', content: 'added' });
        }),
        mapMessages((m) => (m.role === 'user' ? { role: 'user', content: `~${String(m.content)}` } : undefined)),
        transformContext(function look(_draft, { original }) {
          saw.push(summary(original));
        }),
      )
      .generate({ model: 'm', messages: [USER] });
    assert.deepEqual(saw, [['user:~What is 1 + 2?', 'user:~added']]);
  });

  test('an invalid replacement is an InvalidRequestError naming the layer; the request is not sent', async () => {
    const executor = recordingExecutor();
    const error = await pipeline(executor)
      .use(
        mapMessages(function orphan(m) {
          return m.role === 'user'
            ? ({ role: 'tool', toolCallId: 'x', toolName: 't', content: 'r' } as Message)
            : undefined;
        }),
      )
      .generate({ model: 'm', messages: [USER] })
      .catch((e: unknown) => e);
    assert.ok(InvalidRequestError.isInstance(error));
    assert.equal(error.layer, 'orphan');
    assert.equal(executor.requests.length, 0);
  });

  test('rejects a bad mapper or options at factory time', () => {
    assert.throws(() => mapMessages(42 as never), /mapMessages\(\): expected `mapper`/);
    assert.throws(() => mapMessages(() => undefined, { exceptLast: -1 }), /`exceptLast` to be a non-negative integer/);
    assert.throws(
      () => mapMessages(() => undefined, { exceptlast: 1 } as never),
      /unknown option `exceptlast` \(did you mean `exceptLast`\?\)/,
    );
    assert.throws(() => mapMessages(() => undefined, { name: '' }), /`name` to be a non-empty string/);
  });
});

describe('mapMessages on ctx.replaceMessages (property)', () => {
  // A pool of message objects reused across calls (as a loop's transcript is), arrays of any
  // length and order built from it, in-place edits between calls, a failing call now and then,
  // and two pipelines sharing one layer: every call sends exactly what mapping each message afresh
  // would send. (The layer hands the core only what it decided anew, with `previous` carrying the
  // rest; any wrong carry shows up as a difference here.)
  test('every call sends the fresh mapping of its messages, whatever came before', async () => {
    const upper = (m: Immutable<Message>) =>
      m.role === 'user' && typeof m.content === 'string' && !m.content.startsWith('!')
        ? { ...m, content: m.content.toUpperCase() }
        : undefined;
    const step = fc.record({
      picks: fc.array(fc.nat(7), { maxLength: 12 }),
      edit: fc.option(fc.record({ at: fc.nat(7), text: fc.constantFrom('x', 'y', '!bad') }), { nil: undefined }),
      twin: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), fc.nat(2), async (steps, exceptLast) => {
        const pool: Message[] = Array.from({ length: 8 }, (_, k) =>
          k % 3 === 2 ? { role: 'assistant', content: `a${k}` } : { role: 'user', content: `u${k}` },
        );
        const layer = mapMessages(upper, { exceptLast });
        const one = recordingExecutor();
        const two = recordingExecutor();
        const apps = [pipeline(one).use(layer), pipeline(two).use(layer)];
        const sent: (readonly unknown[])[] = [];
        const expected: unknown[][] = [];
        for (const { picks, edit, twin } of steps) {
          if (edit) (pool[edit.at] as { content: string }).content = edit.text;
          const messages = picks.map((k) => pool[k] as Message);
          if (messages.length === 0) continue;
          const executor = twin ? two : one;
          await (twin ? apps[1] : apps[0])?.generate({ model: 'm', messages });
          sent.push(structuredClone(executor.requests.at(-1)?.messages ?? []));
          const end = messages.length - exceptLast;
          expected.push(messages.map((m, i) => structuredClone((i < end && upper(m)) || m)));
        }
        assert.deepEqual(sent, expected);
      }),
      { numRuns: 150 },
    );
  });

  test('after a call whose replacement is invalid, the next call sends the fresh mapping', async () => {
    const executor = recordingExecutor();
    let broken = true;
    const app = pipeline(executor).use(
      mapMessages((m) =>
        m.role === 'user' ? (broken ? ({ role: 'user' } as never) : { ...m, content: 'ok' }) : undefined,
      ),
    );
    const messages: Message[] = [USER, { role: 'assistant', content: 'a' }, { role: 'user', content: 'b' }];
    await assert.rejects(app.generate({ model: 'm', messages }), InvalidRequestError);
    broken = false;
    const fresh = messages.map((m) => ({ ...m }));
    await app.generate({ model: 'm', messages: fresh });
    await app.generate({ model: 'm', messages: [...fresh, { role: 'assistant', content: 'c' }] });
    assert.deepEqual(
      executor.requests.map((r) => r.messages.map((m) => m.content)),
      [
        ['ok', 'a', 'ok'],
        ['ok', 'a', 'ok', 'c'],
      ],
    );
  });
});
