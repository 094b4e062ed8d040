// The live inspector: the recorder streams every record to a local page as the agent runs. Here the
// run is scripted and the program exits at the end; keep the process alive (drop `close()`) and open
// the printed URL in a browser to watch a real app's calls arrive.
import { pipeline, runAgent, tool } from 'modelware';
import { startInspector } from 'modelware/inspector';
import { recorder, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const inspector = await startInspector({ port: 0 }); // 0: any free port; the default is 4983
console.log(`inspector: ${inspector.url}`);

const weather = tool({
  name: 'weather',
  description: 'Current weather in a city',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => `${city}: 18°C, light rain`,
});
const model = scriptedExecutor([
  { toolCalls: [{ name: 'weather', input: { city: 'Lisbon' } }] },
  'Take an umbrella: 18°C and light rain in Lisbon.',
]);
const app = pipeline(model).use(recorder({ sink: inspector }), retry());

const result = await runAgent({
  model: app,
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Do I need an umbrella in Lisbon?' }],
  tools: [weather],
});
console.log(`answer: ${result.text}`);

// What a page opened now receives first (later records arrive over server-sent events).
const page = (await (await fetch(new URL('recording.json', inspector.url))).json()) as {
  records: { type: string }[];
};
const count = (type: string) => page.records.filter((r) => r.type === type).length;
console.log(`the page shows ${count('run_start')} run, ${count('call_start')} calls, ${count('tool')} tool call`);
await inspector.close();
