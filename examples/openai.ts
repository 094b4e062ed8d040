// npx tsx examples/openai.ts — OpenAI Chat Completions through a pipeline: a logging layer and
// retry() around the adapter, one plain call and one streamed call.
// With OPENAI_API_KEY (and/or OPENAI_BASE_URL, e.g. a local OpenAI-compatible server) it calls that
// API; otherwise it starts the bundled loopback server, which answers in the same wire format, so
// the example runs offline. The offline script starts with a 429 to show retry() at work.
import OpenAI from 'openai';
import { pipeline } from 'modelware';
import { retry } from 'modelware/middleware';
import { openaiExecutor } from 'modelware/openai';
import { startOpenAIServer } from '../test/fixtures/servers/index.js';

const online = Boolean(process.env.OPENAI_API_KEY || process.env.OPENAI_BASE_URL);
const server = online
  ? undefined
  : await startOpenAIServer([
      { error: { status: 429, message: 'Rate limit reached', headers: { 'retry-after-ms': '100' } } },
      { text: 'Paris.', usage: { prompt_tokens: 21, completion_tokens: 2, total_tokens: 23 } },
      { text: 'Pack layers: Paris in spring is mild but showery.', chunkSize: 6 },
    ]);

// maxRetries: 0 leaves retrying to the pipeline, where every layer inside retry() sees each attempt.
const client = new OpenAI({
  baseURL: server?.baseURL ?? process.env.OPENAI_BASE_URL,
  apiKey: process.env.OPENAI_API_KEY ?? 'offline',
  maxRetries: 0,
});
const model = process.env.OPENAI_MODEL ?? 'gpt-5-mini';

const app = pipeline(openaiExecutor({ client }))
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
  const answer = await app.generate({ model, messages: [{ role: 'user', content: 'Capital of France? One word.' }] });
  console.log(`answer: ${answer.message.content}`);

  const stream = app.stream({
    model,
    messages: [{ role: 'user', content: 'One sentence: what to pack for Paris in April?' }],
  });
  for await (const part of stream) if (part.type === 'text-delta') process.stdout.write(part.text);
  console.log(`final: ${(await stream.response).message.content}`);
} finally {
  await server?.close();
}
