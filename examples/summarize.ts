// summarize(): once the conversation passes `threshold` tokens, the older messages are replaced by a
// model-written summary. The summary call is internal (ctx.callModel): out of the caller's stream,
// transcript and events. With persist: 'view' the transcript keeps everything; with 'transcript'
// the summary replaces the older messages for good.
import { type Message, pipeline, runAgent, tool } from 'modelware';
import { summarize } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const note = tool({
  name: 'note',
  input: z.object({ n: z.number() }),
  execute: ({ n }) => `Note ${n}: onions have layers, and this note is long enough to count.`,
});
// An agent that takes a note every turn, for 12 turns, then answers.
const agent = () =>
  scriptedExecutor([
    ...Array.from({ length: 12 }, (_, n) => ({ toolCalls: [{ name: 'note', input: { n } }] })),
    'Onions have layers.',
  ]);
// The summarizer: a cheap model in real life; here it says how many messages it read.
const summarizer = scriptedExecutor(
  [(request) => `Earlier: ${String(request.messages[1]?.content).split('\n\n').length} messages about onion notes.`],
  {
    whenDone: 'cycle',
  },
);
const tokenizer = (text: string) => Math.ceil(text.length / 4);
const messages: Message[] = [
  { role: 'system', content: 'You are a note taker.' },
  { role: 'user', content: 'Take notes about onions.' },
];

for (const persist of ['view', 'transcript'] as const) {
  const model = agent();
  const app = pipeline(model).use(
    summarize({ persist, threshold: 200, keepRecent: 4, executor: summarizer, tokenizer }),
  );
  const before = summarizer.calls.length;
  const result = await runAgent({ model: app, modelId: 'demo-model', messages, tools: [note] });
  const lastView = model.calls.at(-1)?.request.messages ?? [];
  console.log(
    `${persist}: summary calls ${summarizer.calls.length - before}, transcript ${result.transcript.length} messages, last request ${lastView.length} messages`,
  );
  console.log(`${persist}: ${String(lastView[1]?.content).replace('\n', ' ')}`);
}
