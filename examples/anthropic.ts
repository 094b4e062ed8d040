// npx tsx examples/anthropic.ts — the Anthropic Messages API through a pipeline: a logging layer
// and retry() around the adapter, one plain call and one streamed call with thinking.
// With ANTHROPIC_API_KEY (and/or ANTHROPIC_BASE_URL) it calls that API; otherwise it starts the
// bundled loopback server, which answers in the same wire format, so the example runs offline. The
// offline script starts with a 529 (overloaded) to show retry() at work.
import Anthropic from '@anthropic-ai/sdk';
import { pipeline } from 'modelware';
import { anthropicExecutor } from 'modelware/anthropic';
import { retry } from 'modelware/middleware';
import { startAnthropicServer } from '../test/fixtures/servers/index.js';

const online = Boolean(process.env.ANTHROPIC_API_KEY || process.env.ANTHROPIC_BASE_URL);
const server = online
  ? undefined
  : await startAnthropicServer([
      { error: { status: 529, message: 'Overloaded' } },
      { text: 'Paris.', usage: { input_tokens: 18, cache_read_input_tokens: 0, output_tokens: 4 } },
      {
        reasoning: 'April in Paris: mild days, cool evenings, frequent showers.',
        text: 'Pack layers and a light raincoat.',
        chunkSize: 8,
      },
    ]);

// maxRetries: 0 leaves retrying to the pipeline, where every layer inside retry() sees each attempt.
const client = new Anthropic({
  baseURL: server?.baseURL ?? process.env.ANTHROPIC_BASE_URL,
  apiKey: process.env.ANTHROPIC_API_KEY ?? 'offline',
  maxRetries: 0,
});
const model = process.env.ANTHROPIC_MODEL ?? 'claude-sonnet-5-5';

// max_tokens is required by the API: `maxTokens` is sent whenever a request sets no maxOutputTokens.
const app = pipeline(anthropicExecutor({ client, maxTokens: 1024 }))
  .use(async function log(ctx, next) {
    const started = performance.now();
    console.log(`→ ${ctx.mode} ${ctx.request.model}, ${ctx.request.messages.length} message(s)`);
    await next();
    await ctx.tapStream({
      onFinish: (response) =>
        console.log(
          `${ctx.mode === 'stream' ? '\n' : ''}← ${response.finishReason} in ${Math.round(performance.now() - started)} ms, tokens in/out: ${response.usage?.inputTokens}/${response.usage?.outputTokens}`,
        ),
    });
  })
  .use(
    retry({
      retries: 2,
      initialDelayMs: 50,
      onRetry: ({ error, delayMs }) => console.log(`  ${(error as Error).message} → retrying in ${delayMs} ms`),
    }),
  );

try {
  const answer = await app.generate({
    model,
    messages: [
      { role: 'system', content: 'Answer in one word.' },
      { role: 'user', content: 'Capital of France?' },
    ],
  });
  console.log(`answer: ${answer.message.content}`);

  const stream = app.stream({
    model,
    messages: [{ role: 'user', content: 'One sentence: what to pack for Paris in April?' }],
    // Provider-specific fields for one call go under options.anthropic.
    options: { maxOutputTokens: 2048, anthropic: { thinking: { type: 'adaptive' } } },
  });
  let thinking = false;
  for await (const part of stream) {
    if (part.type === 'reasoning-delta' && part.text) {
      if (!thinking) process.stdout.write('(thinking) ');
      thinking = true;
      process.stdout.write(part.text);
    } else if (part.type === 'text-delta') {
      if (thinking) process.stdout.write('\n');
      thinking = false;
      process.stdout.write(part.text);
    }
  }
  const [reasoning] = (await stream.response).message.content;
  if (typeof reasoning === 'object' && reasoning.type === 'reasoning') {
    console.log(`signed thinking (sent back on the next turn): ${reasoning.signature !== undefined}`);
  }
} finally {
  await server?.close();
}
