// Record an agent run, see what each layer did, then replay it offline. The recorder goes first
// (outermost) so it sees every layer; with captureContent the recording holds the responses a
// replay needs. In an app, write to fileSink('run.ndjson') instead and open it in the viewer.
import { parseRecording, pipeline, runAgent, tool } from 'modelware';
import { compactToolResults, memorySink, recorder } from 'modelware/middleware';
import { layerChanges, replayExecutor, scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const search = tool({
  name: 'search',
  description: 'Searches the notes for a topic',
  input: z.object({ topic: z.string() }),
  execute: ({ topic }) => `Notes on ${topic}: ${'Layers wrap layers. '.repeat(20)}`,
});
const messages = [{ role: 'user' as const, content: 'How does middleware work?' }];

function app(model: Parameters<typeof pipeline>[0], sink?: ReturnType<typeof memorySink>) {
  const p = pipeline(model);
  if (sink) p.use(recorder({ sink, captureContent: true }));
  return p.use(compactToolResults({ keepLast: 1, minChars: 200 }));
}

// 1. Record a run.
const sink = memorySink();
const model = scriptedExecutor([
  { toolCalls: [{ name: 'search', input: { topic: 'onions' } }] },
  { toolCalls: [{ name: 'search', input: { topic: 'layers' } }] },
  'Each layer wraps the next, like an onion.',
]);
const recorded = await runAgent({ model: app(model, sink), modelId: 'demo-model', messages, tools: [search] });

const { records, problems } = parseRecording(sink.toNDJSON());
const count = (type: string) => records.filter((r) => r.type === type).length;
console.log(`recorded ${records.length} records, ${problems.length} bad lines`);
console.log(`calls: ${count('call_start')}, tool calls: ${count('tool')}, layer events: ${count('layer')}`);

// 2. What each layer changed, one line per change (roles and lengths, no content).
for (const line of layerChanges(sink)) console.log(line);

// 3. Replay: the same layers over the recording instead of the model, offline and deterministic.
const replayed = await runAgent({ model: app(replayExecutor(sink)), modelId: 'demo-model', messages, tools: [search] });
console.log(`replayed: ${replayed.text}`);
console.log(`same transcript: ${JSON.stringify(replayed.transcript) === JSON.stringify(recorded.transcript)}`);
