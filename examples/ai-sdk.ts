// npx tsx examples/ai-sdk.ts — the Vercel AI SDK both ways, offline.
// 1. toLanguageModel(): a modelware pipeline used as an AI SDK model in generateText/streamText,
//    so an AI SDK app adopts modelware middleware without leaving its stack.
// 2. aiSdkExecutor(): any AI SDK model (here MockLanguageModelV4 from 'ai/test'; in an app e.g.
//    openai('gpt-5-mini')) at the centre of a pipeline.
import { generateText, streamText } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { defineMiddleware, pipeline } from 'modelware';
import { aiSdkExecutor, toLanguageModel } from 'modelware/ai-sdk';
import { retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const audit = defineMiddleware({
  name: 'audit',
  async call(ctx, next) {
    console.log(`[audit] ${ctx.mode} ${ctx.request.model} for tenant ${String(ctx.request.metadata?.tenant)}`);
    await next();
  },
});

// 1. A pipeline as an AI SDK model.
const app = pipeline(scriptedExecutor(['Paris.', 'Rome, then Florence.'], { chunkSize: 6 })).use(audit);
const model = toLanguageModel(app, { modelId: 'demo-model' });

const { text, usage } = await generateText({
  model,
  prompt: 'Capital of France?',
  // Request metadata for the pipeline's middleware travels in providerOptions.modelware.
  providerOptions: { modelware: { metadata: { tenant: 'acme' } } },
});
console.log(`generateText: ${text} (${usage.inputTokens} in / ${usage.outputTokens} out)`);

const result = streamText({
  model,
  prompt: 'Two cities in Italy?',
  providerOptions: { modelware: { metadata: { tenant: 'acme' } } },
});
const chunks: string[] = [];
for await (const chunk of result.textStream) chunks.push(chunk);
console.log(`streamText chunks: ${chunks.join(' | ')}`);

// 2. An AI SDK model inside a pipeline.
let calls = 0;
const flaky = new MockLanguageModelV4({
  provider: 'mock',
  modelId: 'mock-1',
  doGenerate: async () => {
    if (++calls === 1) throw Object.assign(new Error('503 from the mock'), { retryable: true });
    return {
      content: [{ type: 'text', text: 'Hello from an AI SDK model.' }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: 5, noCache: 5, cacheRead: undefined, cacheWrite: undefined },
        outputTokens: { total: 7, text: 7, reasoning: undefined },
      },
      warnings: [],
    };
  },
});
const wrapped = pipeline(aiSdkExecutor(flaky))
  .use(audit)
  .use(retry({ initialDelayMs: 10, onRetry: ({ attempt }) => console.log(`  attempt ${attempt} failed, retrying`) }));
const response = await wrapped.generate({
  model: 'mock-1',
  messages: [{ role: 'user', content: 'Hi' }],
  metadata: { tenant: 'globex' },
});
console.log(`aiSdkExecutor: ${response.message.content} (model ${response.model}, ${calls} calls)`);
