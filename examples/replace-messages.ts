// A layer that redacts API keys in tool results before each model call, written the way
// compactToolResults is: ctx.replaceMessages() with `previous`, deciding only what changed.
import { type Message, type ReadonlyModelRequest, defineMiddleware, pipeline, runAgent, tool } from 'modelware';
import { messagesChangedSince, sealMessage } from 'modelware/kit';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

type Messages = ReadonlyModelRequest['messages'];
const KEY = /sk-[A-Za-z0-9]{8,}/g;

function redactKeys() {
  // One redacted copy per message, sealed (checked once): the same object every call.
  const copies = new WeakMap<object, Message>();
  const redacted = (m: Messages[number]) => {
    if (m.role !== 'tool') return m;
    let copy = copies.get(m);
    if (!copy) {
      const content = m.content.replace(KEY, 'sk-***');
      if (content === m.content) return m;
      copies.set(m, (copy = sealMessage({ ...m, content })));
    }
    return copy;
  };
  messagesChangedSince([], []); // the first question turns the recording of changes on
  let seen: Messages | undefined; // the messages of the previous call...
  let sent: Messages | undefined; // ...and what replaceMessages returned for them
  return defineMiddleware({
    name: 'redactKeys',
    call(ctx, next) {
      const messages = ctx.request.messages;
      // Which indices may differ since the previous call (undefined: not known, decide them all).
      const changed = seen && messagesChangedSince(messages, seen);
      const todo = changed ? [...changed, ...range(seen?.length ?? 0, messages.length)] : range(0, messages.length);
      const changes = todo.map((i) => [i, redacted(messages[i] as Messages[number])] as const);
      console.log(`call ${ctx.run?.turn}: decided ${todo.length} of ${messages.length} messages`);
      // The core keeps previous's replacements where the same message is still at the same index,
      // and checks only `changes`.
      sent = ctx.replaceMessages(changes, { previous: changed ? sent : undefined });
      seen = messages;
      return next();
    },
  });
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);

const lookup = tool({
  name: 'lookup',
  input: z.object({ q: z.string() }),
  execute: ({ q }) => `${q} uses key sk-${q}12345678`,
});
const model = scriptedExecutor([
  { toolCalls: [{ id: 'c1', name: 'lookup', input: { q: 'alpha' } }] },
  { toolCalls: [{ id: 'c2', name: 'lookup', input: { q: 'beta' } }] },
  { toolCalls: [{ id: 'c3', name: 'lookup', input: { q: 'gamma' } }] },
  'done',
]);
const app = pipeline(model, redactKeys());
const { transcript } = await runAgent({
  model: app,
  modelId: 'demo',
  messages: [{ role: 'user', content: 'Look up alpha, beta and gamma.' }],
  tools: [lookup],
});
const last = model.calls.at(-1)?.request.messages ?? [];
for (const m of last) if (m.role === 'tool') console.log(`sent: ${m.content}`);
console.log(`kept: ${transcript.find((m) => m.role === 'tool')?.content}`);
