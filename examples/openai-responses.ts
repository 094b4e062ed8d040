// npx tsx examples/openai-responses.ts — the OpenAI Responses API through a pipeline: an agent run
// with a tool, where the model's reasoning item goes back to it on the next turn, then a stream.
// With OPENAI_API_KEY (and/or OPENAI_BASE_URL) it calls that API; otherwise it starts the bundled
// loopback server, which answers in the Responses wire format, so the example runs offline.
import OpenAI from 'openai';
import { z } from 'zod';
import { pipeline, runAgent, tool } from 'modelware';
import { openaiResponsesExecutor } from 'modelware/openai';
import { startOpenAIResponsesServer } from '../test/fixtures/servers/index.js';

const online = Boolean(process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL);
const server = online
  ? undefined
  : await startOpenAIResponsesServer([
      {
        reasoning: 'The user wants the weather: call the tool.',
        toolCalls: [{ name: 'weather', input: { city: 'Oslo' } }],
      },
      { text: 'Oslo: 4°C and clear.', usage: { input_tokens: 80, input_tokens_details: { cached_tokens: 64 } } },
      { text: 'Wear a warm coat.', chunkSize: 5 },
    ]);
const client = new OpenAI({
  baseURL: server?.baseURL ?? process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY ?? 'offline',
  maxRetries: 0,
});

// store: false keeps nothing on OpenAI's side; the encrypted reasoning comes back instead.
const app = pipeline(
  openaiResponsesExecutor({
    client,
    model: process.env.OPENAI_MODEL ?? 'gpt-5-mini',
    body: { store: false, include: ['reasoning.encrypted_content'], reasoning: { summary: 'auto' } },
  }),
);
const weather = tool({
  name: 'weather',
  description: 'Current weather in a city',
  input: z.object({ city: z.string() }),
  execute: ({ city }) => `${city}: 4°C, clear`,
});

try {
  const run = await runAgent({
    model: app,
    messages: [{ role: 'user', content: 'Weather in Oslo?' }],
    tools: [weather],
  });
  // Each reasoning part keeps the provider's item (id, encrypted content) in providerMetadata.openai:
  // the transcript carries it, and the adapter sends it back on the next turn.
  const reasoning = run.transcript.flatMap((m) =>
    m.role === 'assistant' && Array.isArray(m.content) ? m.content.filter((p) => p.type === 'reasoning') : [],
  );
  const kept = reasoning.filter((p) => p.providerMetadata?.openai !== undefined).length;
  console.log(`reasoning parts in the transcript: ${reasoning.length}, with their provider item: ${kept}`);
  console.log(`answer: ${run.text}`);
  console.log(`cached input tokens: ${run.usage.cachedInputTokens ?? 0}`);

  const stream = app.stream({ model: app.defaultModel, messages: [{ role: 'user', content: 'What to wear?' }] });
  for await (const part of stream) if (part.type === 'text-delta') process.stdout.write(part.text);
  console.log(`\nfinal: ${(await stream.response).message.content}`);
} finally {
  await server?.close();
}
