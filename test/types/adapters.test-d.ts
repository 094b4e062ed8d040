// Type tests for the provider adapters: checked by `npx tsc --noEmit`. Nothing here runs; each
// `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import type Anthropic from '@anthropic-ai/sdk';
import type { LanguageModelV4 } from '@ai-sdk/provider';
import type { LanguageModel } from 'ai';
import type OpenAI from 'openai';
import type { AzureOpenAI } from 'openai';
import { type Executor, ProviderError, pipeline, runAgent, streamAgent } from 'modelware';
import { aiSdkExecutor, toLanguageModel } from 'modelware/ai-sdk';
import { anthropicExecutor } from 'modelware/anthropic';
import { openaiExecutor, openaiResponsesExecutor } from 'modelware/openai';

declare const openai: OpenAI;
declare const azure: AzureOpenAI;
declare const anthropic: Anthropic;
declare const v4: LanguageModelV4;

// Adapters are executors, and take the SDK clients (Azure's too).
const executors: Executor[] = [
  openaiExecutor({ client: openai, systemRole: 'developer', body: { service_tier: 'flex' } }),
  openaiExecutor({ client: azure }),
  anthropicExecutor({ client: anthropic, maxTokens: 2048, thinking: { type: 'adaptive' } }),
  aiSdkExecutor(v4),
  aiSdkExecutor((id: string) => (id === 'x' ? v4 : v4), { providerKey: 'anthropic' }),
];
void executors;

// @ts-expect-error the client goes in an options object
openaiExecutor(openai);
// @ts-expect-error an Anthropic client is not an OpenAI client
openaiExecutor({ client: anthropic });
// @ts-expect-error systemRole is 'system' or 'developer'
openaiExecutor({ client: openai, systemRole: 'assistant' });
// @ts-expect-error thinking takes the SDK's ThinkingConfigParam
anthropicExecutor({ client: anthropic, thinking: { budget: 100 } });

// A pipeline as an AI SDK model: assignable wherever `ai` takes a model.
const model: LanguageModel = toLanguageModel(pipeline(openaiExecutor({ client: openai })), { modelId: 'gpt-5-mini' });
void model;
// @ts-expect-error modelId is required
toLanguageModel(pipeline(openaiExecutor({ client: openai })), {});

// The agent loop needs a model id: `modelId`, or an executor built with a default model.
async function modelIds() {
  const messages = [{ role: 'user' as const, content: 'hi' }];
  const withDefault = pipeline(openaiExecutor({ client: openai, model: 'gpt-5-mini' })).use(async (_ctx, next) =>
    next(),
  );
  const defaultModel: string = withDefault.defaultModel;
  void defaultModel;
  await runAgent({ model: withDefault, messages });
  await runAgent({ model: pipeline(anthropicExecutor({ client: anthropic, model: 'claude-x' })), messages });
  await runAgent({ model: pipeline({ executor: aiSdkExecutor(v4), name: 'sdk' }), messages });
  await runAgent({ model: openaiExecutor({ client: openai, model: 'gpt-5-mini' }), modelId: 'gpt-5', messages });
  await runAgent({ model: pipeline(openaiExecutor({ client: openai })), modelId: 'gpt-5-mini', messages });
  // @ts-expect-error modelId is required: the executor has no default model
  await runAgent({ model: pipeline(openaiExecutor({ client: openai })), messages });
  // @ts-expect-error modelId is required: a resolver names no default model
  await runAgent({ model: aiSdkExecutor(() => v4), messages });
  // @ts-expect-error modelId is required for streamAgent too
  streamAgent({ model: pipeline(anthropicExecutor({ client: anthropic })), messages });
  // @ts-expect-error the default model is a string
  openaiExecutor({ client: openai, model: 5 });
}
void modelIds;

// ProviderError's fields are typed for retry decisions.
declare const error: unknown;
if (ProviderError.isInstance(error)) {
  const status: number | undefined = error.status;
  const retryable: boolean = error.retryable;
  const wait: number | undefined = error.retryAfterMs;
  void [status, retryable, wait];
}

// The Responses API executor: same client, its own options.
const responsesExecutors: Executor[] = [
  openaiResponsesExecutor({ client: openai, body: { store: false, include: ['reasoning.encrypted_content'] } }),
  openaiResponsesExecutor({ client: azure, systemRole: 'system' }),
];
void responsesExecutors;
void runAgent({ model: openaiResponsesExecutor({ client: openai, model: 'gpt-5-mini' }), messages: [] });
// @ts-expect-error the client goes in an options object
openaiResponsesExecutor(openai);
// @ts-expect-error Chat Completions' maxTokensField is not a Responses option
openaiResponsesExecutor({ client: openai, maxTokensField: 'max_tokens' });
// @ts-expect-error an Anthropic client is not an OpenAI client
openaiResponsesExecutor({ client: anthropic });

// `options.openaiResponses` is typed from the SDK's Responses params, minus what the adapter maps.
void pipeline(openaiResponsesExecutor({ client: openai })).generate({
  model: 'gpt-5-mini',
  messages: [],
  options: { openaiResponses: { reasoning: { effort: 'low', summary: 'auto' }, text: { verbosity: 'low' } } },
});
void pipeline(openaiResponsesExecutor({ client: openai })).generate({
  model: 'gpt-5-mini',
  messages: [],
  // @ts-expect-error `input` comes from request.messages
  options: { openaiResponses: { input: [] } },
});
void pipeline(openaiResponsesExecutor({ client: openai })).generate({
  model: 'gpt-5-mini',
  messages: [],
  // @ts-expect-error `text.format` comes from request.responseFormat
  options: { openaiResponses: { text: { format: { type: 'json_object' } } } },
});
