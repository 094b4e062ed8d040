import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type Message, type RecordedChange, type RecordingRecordOf, defineMiddleware, pipeline } from 'modelware';
import { memorySink, recorder } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

type Edit =
  | { op: 'unshift'; text: string }
  | { op: 'push'; text: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'remove'; at: number }
  | { op: 'retext'; at: number; text: string }
  | { op: 'assistant'; at: number };

const text = fc.string({ maxLength: 12 });
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant('unshift' as const), text }),
  fc.record({ op: fc.constant('push' as const), text }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(20), text }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat(20) }),
  fc.record({ op: fc.constant('retext' as const), at: fc.nat(20), text }),
  fc.record({ op: fc.constant('assistant' as const), at: fc.nat(20) }),
);

function apply(messages: Message[], e: Edit): void {
  const at = 'at' in e ? e.at % Math.max(1, messages.length) : 0;
  if (e.op === 'unshift') messages.unshift({ role: 'user', content: e.text });
  else if (e.op === 'push') messages.push({ role: 'user', content: e.text });
  else if (e.op === 'insert') messages.splice(at, 0, { role: 'user', content: e.text });
  else if (messages.length <= 1)
    return; // keep one message: a request needs it
  else if (e.op === 'remove') messages.splice(at, 1);
  else if (e.op === 'retext') {
    const m = messages[at] as Message;
    if (m.role === 'user' || m.role === 'system') m.content = e.text;
  } else messages[at] = { role: 'assistant', content: [{ type: 'text', text: 'ok' }] };
}

/** Rebuilds the messages after the change from the ones before and the recorded changes alone. */
function reconstruct(before: readonly Message[], changes: readonly RecordedChange[]): Message[] {
  const removed = new Set<number>();
  const added = new Map<number, Message>();
  const modified = new Map<number, Message>();
  for (const c of changes) {
    if (c.kind === 'message_removed') removed.add(c.index);
    else if (c.kind === 'message_added') added.set(c.index, c.message as Message);
    else if (c.kind === 'message_changed') modified.set(c.index, c.after as Message);
    else if (c.kind === 'text_replaced') modified.set(c.index, { role: c.role, content: c.after } as Message);
  }
  const kept = before.filter((_, i) => !removed.has(i));
  const length = kept.length + added.size;
  const out: Message[] = [];
  for (let j = 0, k = 0; j < length; j++) out.push(added.get(j) ?? (kept[k++] as Message));
  for (const [j, m] of modified) out[j] = { ...out[j], ...m } as Message;
  return out;
}

describe('recorder diffs (property)', () => {
  test('the recorded changes of any sequence of edits rebuild the messages exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { minLength: 1, maxLength: 8 }),
        fc.array(edit, { maxLength: 8 }),
        async (start, edits) => {
          const sink = memorySink();
          let before: readonly Message[] = [];
          let after: readonly Message[] = [];
          const editor = defineMiddleware({
            name: 'editor',
            async call(ctx, next) {
              before = ctx.request.messages as readonly Message[];
              ctx.update((d) => {
                for (const e of edits) apply(d.messages as Message[], e);
              });
              after = ctx.request.messages as readonly Message[];
              await next();
            },
          });
          const messages: Message[] = start.map((t) => ({ role: 'user', content: t }));
          await pipeline({ executor: scriptedExecutor(['ok']), validate: false })
            .use(recorder({ sink, captureContent: true }), editor)
            .generate({ model: 'm', messages });
          const change = sink.records.find((r): r is RecordingRecordOf<'change'> => r.type === 'change');
          const changes = change?.changes ?? [];
          assert.deepEqual(reconstruct(before, changes), after);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('an unshift of one message is a single addition at index 0, not a rewrite of every index', async () => {
    const sink = memorySink();
    const messages: Message[] = Array.from({ length: 50 }, (_, i) => ({ role: 'user', content: `m${i}` }));
    await pipeline(scriptedExecutor(['ok']))
      .use(
        recorder({ sink }),
        defineMiddleware({
          name: 'prepend',
          async call(ctx, next) {
            ctx.update((d) => void d.messages.unshift({ role: 'system', content: 'sys' }));
            await next();
          },
        }),
      )
      .generate({ model: 'm', messages });
    const change = sink.records.find((r): r is RecordingRecordOf<'change'> => r.type === 'change');
    assert.deepEqual(change?.changes, [{ kind: 'message_added', index: 0, shape: { role: 'system', length: 3 } }]);
  });
});
