// OpenClaw's transform_context plugin: before every model call of an agent run, compress the
// historical tool results while keeping the most recent one verbatim. Unlike the seed (where every
// handler received the original array and the last one won), a second transform_context plugin
// chains: it sees the first one's output. The transcript itself keeps every full result.
import { z } from 'zod';
import { type Message, PluginManager, definePlugin, pipeline, runAgent, tool } from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const search = tool({
  name: 'search',
  description: 'Searches the docs',
  input: z.object({ q: z.string() }),
  execute: ({ q }) => `Results for "${q}": ${'lorem ipsum '.repeat(20).trim()}`,
});

const compressor = definePlugin({
  name: 'compress-old-tool-results',
  priority: 10,
  hooks: {
    transform_context(payload, { original }) {
      const last = original.messages.findLastIndex((m) => m.role === 'tool');
      original.messages.forEach((m, i) => {
        if (m.role === 'tool' && i !== last && m.content.length > 40) {
          (payload.messages[i] as { content: string }).content =
            `${m.content.slice(0, 24)}… [${m.content.length} chars compressed]`;
        }
      });
    },
  },
});

// Runs after the compressor (priority 20) and sees its output: it counts what was compressed.
const annotator = definePlugin({
  name: 'annotate-compression',
  priority: 20,
  hooks: {
    transform_context(payload, { original }) {
      const compressed = original.messages.filter((m) => m.role === 'tool' && m.content.includes('compressed]')).length;
      if (compressed > 0)
        payload.messages.push({
          role: 'user',
          content: `(note: ${compressed} earlier tool result(s) were compressed)`,
        });
    },
  },
});

const model = scriptedExecutor([
  { toolCalls: [{ id: 'c1', name: 'search', input: { q: 'hooks' } }] },
  { toolCalls: [{ id: 'c2', name: 'search', input: { q: 'plugins' } }] },
  { toolCalls: [{ id: 'c3', name: 'search', input: { q: 'modes' } }] },
  'Hooks dispatch plugins in modes.',
]);
const app = pipeline(model).use(plugins(new PluginManager({ plugins: [annotator, compressor] })));
const result = await runAgent({
  model: app,
  modelId: 'demo-model',
  messages: [{ role: 'user', content: 'Explain hooks.' }],
  tools: [search],
});

const show = (m: Message) =>
  m.role === 'tool'
    ? `tool(${m.toolCallId}): ${m.content.length > 60 ? `${m.content.slice(0, 60)}…` : m.content}`
    : `${m.role}: ${typeof m.content === 'string' ? m.content : '[tool call]'}`;
model.calls.forEach((call, i) => {
  console.log(`call ${i + 1} sent:`);
  for (const m of call.request.messages) console.log(`  ${show(m as Message)}`);
});
const full = result.transcript.filter((m) => m.role === 'tool').every((m) => !m.content.includes('compressed'));
console.log(`transcript keeps every full tool result: ${full}`);
console.log(`answer: ${result.text}`);
