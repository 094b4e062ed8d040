// ctx.replaceMessages(): the core builds, checks and records a replacement of messages by index.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type Context,
  InvalidRequestError,
  type Message,
  MessageSchema,
  MiddlewareError,
  type ReadonlyModelRequest,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { messagesChangedSince, sealMessage } from 'modelware/kit';
import { retry } from 'modelware/middleware';
import { checkToolPairing } from '../../../lib/core/validate.js';
import { recordingExecutor, transcriptArb } from '../../fixtures/agent.js';

type Messages = ReadonlyModelRequest['messages'];

const call = (id: string) => ({ type: 'tool-call' as const, toolCallId: id, toolName: 't', input: {} });
const MESSAGES: Message[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Look it up.' },
  { role: 'assistant', content: [call('a')] },
  { role: 'tool', toolCallId: 'a', toolName: 't', content: 'a long result' },
  { role: 'assistant', content: 'Done.' },
];
const stub = (content: string): Message => sealMessage({ ...(MESSAGES[3] as Message & { role: 'tool' }), content });

/** Runs `layers` over one call of MESSAGES; resolves to what reached the executor. */
async function run(...layers: ((ctx: Context, next: () => Promise<void>) => Promise<void> | void)[]) {
  const executor = recordingExecutor();
  const app = pipeline(executor);
  for (const layer of layers) app.use(layer);
  await app.generate({ model: 'm', messages: MESSAGES });
  return executor.requests[0]?.messages as Messages;
}

describe('ctx.replaceMessages()', () => {
  test('replaces by index from a Map or pairs; layers inside see it; the rest keeps its identity', async () => {
    const seen: Messages[] = [];
    const caller = [...MESSAGES];
    const executor = recordingExecutor();
    await pipeline(executor)
      .use(function first(ctx, next) {
        const out = ctx.replaceMessages(new Map([[3, stub('[old]')]]));
        assert.equal(out, ctx.request.messages);
        return next();
      })
      .use(function second(ctx, next) {
        seen.push(ctx.request.messages);
        ctx.replaceMessages([[0, { role: 'system', content: 'Be terse.' }]]);
        return next();
      })
      .generate({ model: 'm', messages: caller });
    const sent = executor.requests[0]?.messages as Messages;
    assert.deepEqual(
      sent.map((m) => m.content),
      ['Be terse.', 'Look it up.', [call('a')], '[old]', 'Done.'],
    );
    // The second layer saw the first one's replacement (chained, not the original).
    assert.equal(seen[0]?.[3]?.content, '[old]');
    for (const i of [1, 2, 4]) assert.equal(sent[i], MESSAGES[i]);
    // The caller's array and messages are untouched, and not frozen.
    assert.deepEqual(caller, MESSAGES);
    assert.equal(caller[3], MESSAGES[3]);
    assert.equal(Object.isFrozen(caller), false);
  });

  test('no changes: the same messages in an array that can be passed as previous next time', async () => {
    let before: Messages | undefined;
    let empty: Messages | undefined;
    const sent = await run(
      (ctx, next) => {
        before = ctx.request.messages;
        empty = ctx.replaceMessages(new Map());
        return next();
      },
      (ctx, next) => {
        ctx.replaceMessages([[3, stub('[old]')]], { previous: empty });
        return next();
      },
    );
    assert.notEqual(empty, before);
    assert.deepEqual([...(empty as Messages)], [...(before as Messages)]);
    assert.equal(sent[3]?.content, '[old]');
  });

  test('an invalid replacement throws InvalidRequestError naming the layer; the request stays as it was', async () => {
    let after: Messages | undefined;
    let before: Messages | undefined;
    await assert.rejects(
      run(function breaker(ctx, next) {
        before = ctx.request.messages;
        try {
          ctx.replaceMessages([[3, { role: 'tool', toolCallId: 'a', toolName: 't' } as never]]);
        } finally {
          after = ctx.request.messages;
        }
        return next();
      }),
      (error: unknown) =>
        InvalidRequestError.isInstance(error) &&
        error.layer === 'breaker' &&
        error.path[0] === 'messages' &&
        error.path[1] === 3 &&
        /^`breaker` produced an invalid request: messages\[3\]/.test(error.message),
    );
    assert.equal(after, before);
  });

  test('a replacement that breaks the tool pairing is caught (the pairing is checked when ids change)', async () => {
    const orphan: Message = { role: 'tool', toolCallId: 'zzz', toolName: 't', content: 'x' };
    const noCall: Message = { role: 'assistant', content: 'no call any more' };
    for (const [index, message] of [
      [3, orphan],
      [2, noCall],
    ] as const) {
      await assert.rejects(
        run(function breaker(ctx, next) {
          ctx.replaceMessages([[index, message]]);
          return next();
        }),
        (e: unknown) => InvalidRequestError.isInstance(e) && e.layer === 'breaker' && /toolCallId/.test(e.message),
      );
    }
    // Changing a role but keeping the pairing intact is fine.
    const sent = await run((ctx, next) => {
      ctx.replaceMessages([[1, { role: 'system', content: 'moved' }]]);
      return next();
    });
    assert.equal(sent[1]?.role, 'system');
  });

  const badIndices: [string, unknown, RegExp][] = [
    ['past the end', 5, /index number `5` is not a message of the request; expected an integer from 0 to 4/],
    ['negative', -1, /index number `-1`/],
    ['not an integer', 1.5, /index number `1.5`/],
    ['a string', '2', /index string `2`/],
    ['NaN', Number.NaN, /index number `NaN`/],
  ];
  for (const [label, index, says] of badIndices) {
    test(`an index ${label} is a MiddlewareError naming the layer`, async () => {
      await assert.rejects(
        run(function replacer(ctx, next) {
          ctx.replaceMessages([[index as number, MESSAGES[0] as Message]]);
          return next();
        }),
        (e: unknown) =>
          MiddlewareError.isInstance(e) &&
          e.layer === 'replacer' &&
          says.test(e.message) &&
          /ctx\.update/.test(e.message),
      );
    });
  }

  test('changes that are not an iterable of pairs, or an unknown option, are a MiddlewareError', async () => {
    for (const [changes, options, says] of [
      [undefined, undefined, /expected a Map of index to message/],
      [{ 0: MESSAGES[0] }, undefined, /expected a Map of index to message/],
      [[MESSAGES[0]], undefined, /expected \[index, message\] pairs, got an object/],
      [[], { previuos: [] }, /previuos/],
    ] as const) {
      await assert.rejects(
        run(function replacer(ctx, next) {
          ctx.replaceMessages(changes as never, options as never);
          return next();
        }),
        (e: unknown) => (MiddlewareError.isInstance(e) || e instanceof TypeError) && says.test((e as Error).message),
      );
    }
  });

  test('previous must be an array replaceMessages returned: a copy or a Proxy of one is refused', async () => {
    let real: Messages | undefined;
    await run((ctx, next) => {
      real = ctx.replaceMessages([[3, stub('[old]')]]);
      return next();
    });
    for (const fake of [[...(real as Messages)], new Proxy(real as Messages, {}), MESSAGES]) {
      await assert.rejects(
        run(function replacer(ctx, next) {
          ctx.replaceMessages([], { previous: fake });
          return next();
        }),
        (e: unknown) =>
          MiddlewareError.isInstance(e) &&
          /`previous` is not an array ctx\.replaceMessages\(\) returned/.test(e.message),
      );
    }
  });

  test('previous carries its replacements where the same message sits at the same index, and checks them no more', async () => {
    // A replacement that counts every read of its fields: a carried-over one must not be read again.
    let reads = 0;
    const counted = new Proxy(stub('[old]') as object, {
      get(target, key, receiver) {
        reads++;
        return Reflect.get(target, key, receiver);
      },
    }) as Message;
    let previous: Messages | undefined;
    let readsAfterFirst = 0;
    const sent = await run(
      function compact(ctx, next) {
        previous = ctx.replaceMessages([[3, counted]]);
        readsAfterFirst = reads;
        return next();
      },
      function edit(ctx, next) {
        // Another layer rewrites the system prompt and appends a message.
        ctx.update((draft) => {
          draft.messages[0] = { role: 'system', content: 'Be terse.' };
          draft.messages.push({ role: 'user', content: 'And?' });
        });
        return next();
      },
      function again(ctx, next) {
        readsAfterFirst = reads;
        const out = ctx.replaceMessages([[1, { role: 'user', content: 'Look it up, please.' }]], { previous });
        assert.equal(reads, readsAfterFirst, 'the carried-over replacement was not checked again');
        assert.equal(out[3], counted);
        return next();
      },
    );
    assert.deepEqual(
      sent.map((m) => m.content),
      ['Be terse.', 'Look it up, please.', [call('a')], '[old]', 'Done.', 'And?'],
    );
  });

  test('previous: where the message changed since, the new message is sent unless changes say otherwise', async () => {
    let previous: Messages | undefined;
    const fresh: Message = { role: 'tool', toolCallId: 'a', toolName: 't', content: 'edited result' };
    const sent = await run(
      (ctx, next) => {
        previous = ctx.replaceMessages([
          [3, stub('[old]')],
          [0, { role: 'system', content: 'x' }],
        ]);
        return next();
      },
      (ctx, next) => {
        ctx.update((draft) => void (draft.messages[3] = fresh));
        return next();
      },
      (ctx, next) => {
        ctx.replaceMessages([], { previous });
        return next();
      },
    );
    assert.equal(sent[3], fresh);
    assert.equal(sent[0]?.content, 'x');
  });

  test('previous from another call (no recorded link): compared index by index, same result', async () => {
    const executor = recordingExecutor();
    let previous: Messages | undefined;
    const app = pipeline(executor).use((ctx, next) => {
      previous = ctx.replaceMessages(
        previous
          ? []
          : [
              [3, stub('[old]')],
              [1, { role: 'user', content: 'u' }],
            ],
        {
          previous,
        },
      );
      return next();
    });
    await app.generate({ model: 'm', messages: MESSAGES });
    // A new caller array: the same objects except index 1, plus one more message.
    const next = [...MESSAGES];
    next[1] = { role: 'user', content: 'Look it up again.' };
    next.push({ role: 'user', content: 'And?' });
    await app.generate({ model: 'm', messages: next });
    const sent = executor.requests[1]?.messages as Messages;
    assert.deepEqual(
      sent.map((m) => m.content),
      ['Be brief.', 'Look it up again.', [call('a')], '[old]', 'Done.', 'And?'],
    );
  });

  test('the same input as previous and no changes (a retry): the very same array', async () => {
    let previous: Messages | undefined;
    let again: Messages | undefined;
    await run((ctx, next) => {
      previous = ctx.replaceMessages([[3, stub('[old]')]]);
      return next();
    });
    // A second call of the same layer instance over the same (frozen, shared) messages.
    const frozen = Object.freeze([...MESSAGES]);
    const executor = recordingExecutor();
    let first: Messages | undefined;
    const app = pipeline(executor).use((ctx, next) => {
      const out = ctx.replaceMessages(first ? [] : [[3, stub('[old]')]], first ? { previous: first } : undefined);
      if (first) again = out;
      else first = out;
      return next();
    });
    await app.generate({ model: 'm', messages: frozen });
    await app.generate({ model: 'm', messages: frozen });
    assert.ok(previous);
    assert.equal(again, first);
    assert.equal(executor.requests[1]?.messages, first);
  });

  test('inside retry: each attempt starts from the request as retry saw it, and previous still applies', async () => {
    let attempts = 0;
    const inputs: Messages[] = [];
    const outputs: Messages[] = [];
    let previous: Messages | undefined;
    const executor = recordingExecutor();
    const flaky = {
      name: 'flaky',
      generate(request: ReadonlyModelRequest, options?: object) {
        if (++attempts === 1) return Promise.reject(new Error('503'));
        return executor.generate(request, options);
      },
    };
    await pipeline(flaky)
      .use(retry({ retries: 2, initialDelayMs: 0, shouldRetry: () => true }))
      .use(function compact(ctx, next) {
        inputs.push(ctx.request.messages);
        outputs.push(ctx.replaceMessages(previous ? [] : [[3, stub('[old]')]], previous ? { previous } : undefined));
        previous = outputs.at(-1);
        return next();
      })
      .generate({ model: 'm', messages: MESSAGES });
    assert.equal(attempts, 2);
    // The second attempt saw the original messages again, not the first attempt's replacement.
    assert.equal(inputs[1], inputs[0]);
    assert.equal(inputs[1]?.[3]?.content, 'a long result');
    assert.equal(outputs[1], outputs[0]);
    assert.equal(executor.requests[0]?.messages[3]?.content, '[old]');
  });

  test('a replay layer that replaces messages itself has its replacement re-applied on every attempt', async () => {
    let attempts = 0;
    const seen: string[] = [];
    const replaying = defineMiddleware({
      name: 'replaying',
      replay: true,
      async call(ctx, next) {
        ctx.replaceMessages([[0, { role: 'system', content: 'outer' }]]);
        await next();
        await next();
      },
    });
    await pipeline(recordingExecutor())
      .use(replaying)
      .use(function inner(ctx, next) {
        seen.push(`${attempts++}:${ctx.request.messages[0]?.content}`);
        ctx.replaceMessages([[0, { role: 'system', content: 'inner' }]]);
        return next();
      })
      .generate({ model: 'm', messages: MESSAGES });
    assert.deepEqual(seen, ['0:outer', '1:outer']);
  });

  test('validate: false skips the check; inspect: true records one replace patch per index; strict freezes', async () => {
    const invalid = { role: 'tool', content: 'no ids' } as never;
    const unchecked = recordingExecutor();
    await pipeline({ executor: unchecked, validate: false })
      .use((ctx, next) => {
        ctx.replaceMessages([[3, invalid]]);
        return next();
      })
      .generate({ model: 'm', messages: MESSAGES });
    assert.equal(unchecked.requests[0]?.messages[3], invalid);

    const patched: unknown[] = [];
    await pipeline({ executor: recordingExecutor(), inspect: true })
      .use(async (ctx, next) => {
        await next();
        patched.push(...(ctx.patches ?? []));
      })
      .use(function compact(ctx, next) {
        ctx.replaceMessages([[3, stub('[old]')]]);
        return next();
      })
      .generate({ model: 'm', messages: MESSAGES });
    assert.deepEqual(
      patched.map((p) => {
        const { layer, target, patches, inversePatches } = p as {
          layer: string;
          target: string;
          patches: { op: string; path: unknown[] }[];
          inversePatches: { value: Message }[];
        };
        return [layer, target, patches.map((x) => [x.op, ...x.path]), inversePatches[0]?.value === MESSAGES[3]];
      }),
      [['compact', 'request', [['replace', 'messages', 3]], true]],
    );

    const replacement: Message = { role: 'user', content: [{ type: 'text', text: 'x' }] };
    const strict = recordingExecutor();
    await pipeline({ executor: strict, strict: true })
      .use((ctx, next) => {
        ctx.replaceMessages([[1, replacement]]);
        return next();
      })
      .generate({ model: 'm', messages: MESSAGES });
    const sent = strict.requests[0]?.messages as Messages;
    assert.ok(
      Object.isFrozen(sent) && Object.isFrozen(sent[1]) && Object.isFrozen((sent[1] as { content: object }).content),
    );
  });

  test('observers see the replacement as an update of the layer', async () => {
    const events: string[] = [];
    await run(
      async (ctx, next) => {
        const stop = ctx.observe({
          onUpdate: (e) =>
            events.push(`${e.layer}:${e.target}:${(e.after as ReadonlyModelRequest).messages[3]?.content}`),
        });
        try {
          await next();
        } finally {
          stop();
        }
      },
      function compact(ctx, next) {
        ctx.replaceMessages([[3, stub('[old]')]]);
        return next();
      },
    );
    assert.deepEqual(events, ['compact:request:[old]']);
  });

  test('property: accepted exactly when a full check of the result passes, and the result is what was asked', async () => {
    // Turns provenance recording on, so updates before a `previous` replacement are recorded.
    messagesChangedSince([], []);
    const candidate = (messages: readonly Message[]) =>
      fc.oneof(
        // A stub of a tool result, ids kept (the common case).
        fc.nat().map((n) => {
          const tools = messages.filter((m) => m.role === 'tool');
          const m = tools[n % Math.max(1, tools.length)];
          return m ? sealMessage({ ...m, content: `[stub ${n}]` }) : ({ role: 'user', content: 'u' } as Message);
        }),
        fc.constant<Message>({ role: 'user', content: 'a user message' }),
        fc.constant<Message>({ role: 'system', content: 'a system message' }),
        fc.constant<Message>({ role: 'assistant', content: 'no calls' }),
        fc.constant<Message>({ role: 'tool', toolCallId: 'nobody', toolName: 't', content: 'orphan' }),
        fc.constant({ role: 'tool', toolName: 't', content: 'no id' } as unknown as Message),
        fc.constant({ role: 'wizard', content: 'bad role' } as unknown as Message),
        fc.constant({ role: 'user' } as unknown as Message),
      );
    const changesFor = (messages: readonly Message[]) =>
      fc
        .array(fc.tuple(fc.nat(), candidate(messages)), { maxLength: 4 })
        .map((list) =>
          messages.length === 0 ? [] : list.map(([i, m]) => [i % messages.length, m] as [number, Message]),
        );
    const fullCheck = (messages: readonly unknown[]) =>
      messages.every((m) => MessageSchema.safeParse(m).success) &&
      checkToolPairing(messages as Message[]) === undefined;

    await fc.assert(
      fc.asyncProperty(
        transcriptArb
          .filter((m) => m.length > 0)
          .chain((messages) =>
            fc.tuple(
              fc.constant(messages),
              changesFor(messages),
              fc.array(fc.tuple(fc.nat(), candidate(messages)), { maxLength: 3 }),
              fc.boolean(),
              changesFor(messages),
            ),
          ),
        async ([messages, first, edits, push, second]) => {
          let input1: Messages = [];
          let previous: Messages | undefined;
          let input2: Messages = [];
          let outcome1: 'ok' | 'invalid' | undefined;
          let outcome2: 'ok' | 'invalid' | undefined;
          let out2: Messages | undefined;
          await pipeline({ executor: recordingExecutor(), validate: true })
            .use(function one(ctx, next) {
              input1 = ctx.request.messages;
              try {
                previous = ctx.replaceMessages(first);
                outcome1 = 'ok';
              } catch (e) {
                assert.ok(InvalidRequestError.isInstance(e) && e.layer === 'one');
                assert.equal(ctx.request.messages, input1);
                outcome1 = 'invalid';
              }
              return next();
            })
            .use(function edit(ctx, next) {
              // Valid edits only (what another layer's checked update could do): same-id stubs and pushes.
              const tools = ctx.request.messages.flatMap((m, i) => (m.role === 'tool' ? [i] : []));
              ctx.update((draft) => {
                for (const [n] of edits) {
                  const at = tools[n % Math.max(1, tools.length)];
                  if (at !== undefined)
                    draft.messages[at] = {
                      ...(draft.messages[at] as Message & { role: 'tool' }),
                      content: `edit ${n}`,
                    };
                }
                if (push) draft.messages.push({ role: 'user', content: 'more' });
              });
              return next();
            })
            .use(function two(ctx, next) {
              input2 = ctx.request.messages;
              const changes = second.filter(([i]) => i < input2.length);
              try {
                out2 = ctx.replaceMessages(changes, previous && outcome1 === 'ok' ? { previous } : undefined);
                outcome2 = 'ok';
              } catch (e) {
                assert.ok(InvalidRequestError.isInstance(e) && e.layer === 'two');
                assert.equal(ctx.request.messages, input2);
                outcome2 = 'invalid';
              }
              return next();
            })
            .generate({ model: 'm', messages });

          const expected1 = [...input1];
          for (const [i, m] of first) expected1[i] = m as never;
          assert.equal(outcome1, fullCheck(expected1) ? 'ok' : 'invalid');
          if (outcome1 === 'ok') assert.deepEqual([...(previous as Messages)], expected1);

          // Expected second result: previous's replacements where input2 holds input1's message, then `second`.
          const expected2: unknown[] = input2.map((m, i) =>
            outcome1 === 'ok' && i < input1.length && m === input1[i] ? (previous as Messages)[i] : m,
          );
          for (const [i, m] of second.filter(([i]) => i < input2.length)) expected2[i] = m;
          assert.equal(outcome2, fullCheck(expected2) ? 'ok' : 'invalid');
          if (outcome2 === 'ok') {
            assert.equal((out2 as Messages).length, expected2.length);
            for (const [i, m] of (out2 as Messages).entries()) assert.equal(m, expected2[i], `index ${i}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
