// Type tests for structured output and typed provider options (issue 14 items 1 and 3): checked by
// `npx tsc --noEmit`. Nothing here runs; each `@ts-expect-error` fails the check if the misuse compiles.
import {
  type DeepPartial,
  type ExecutorCapabilities,
  type ModelRequest,
  type ResponseFormat,
  generateObject,
  jsonResponseFormat,
  pipeline,
  streamObject,
} from 'modelware';
import type { AnthropicProviderOptions } from 'modelware/anthropic';
import { validateOutput } from 'modelware/middleware';
import type { OpenAIProviderOptions } from 'modelware/openai';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

const app = pipeline(scriptedExecutor([]));
const messages: ModelRequest['messages'] = [{ role: 'user', content: 'x' }];
const Recipe = z.object({ title: z.string(), minutes: z.number().transform((n) => String(n)) });

async function objects() {
  // The object's type is the schema's output type; the partials are deep-partial input types.
  const { object } = await generateObject(app, { model: 'm', messages, schema: Recipe });
  assertTrue<Equal<typeof object, { title: string; minutes: string }>>();
  for await (const event of streamObject(app, { model: 'm', messages, schema: Recipe })) {
    if (event.type === 'partial')
      assertTrue<Equal<typeof event.partial, DeepPartial<{ title: string; minutes: number }>>>();
    else assertTrue<Equal<typeof event.object, { title: string; minutes: string }>>();
  }
  // @ts-expect-error the schema is required
  await generateObject(app, { model: 'm', messages });
  // @ts-expect-error responseFormat comes from the schema
  await generateObject(app, { model: 'm', messages, schema: Recipe, responseFormat: { type: 'text' } });
}
void objects;

// ---- responseFormat on the request ----
const formats: ResponseFormat[] = [
  { type: 'text' },
  { type: 'json' },
  jsonResponseFormat(Recipe, { name: 'recipe', strict: true }),
];
void formats;
// @ts-expect-error xml is not a format
const xml: ResponseFormat = { type: 'xml' };
// @ts-expect-error a text format takes no schema
const textSchema: ResponseFormat = { type: 'text', schema: {} };
void [xml, textSchema];

// ---- typed provider options ----
const ok: ModelRequest = {
  model: 'm',
  messages,
  options: {
    openai: { reasoning_effort: 'low', service_tier: 'flex', parallel_tool_calls: false },
    anthropic: { service_tier: 'auto', output_config: { effort: 'low' }, metadata: { user_id: 'u' } },
  },
};
void ok;
// @ts-expect-error messages are mapped by the adapter: set request.messages
const openaiMessages: ModelRequest['options'] = { openai: { messages: [] } };
// @ts-expect-error response_format is mapped from request.responseFormat
const openaiFormat: ModelRequest['options'] = { openai: { response_format: { type: 'json_object' } } };
// @ts-expect-error reasoning_effort has fixed values
const openaiEffort: ModelRequest['options'] = { openai: { reasoning_effort: 'huge' } };
// @ts-expect-error system is mapped from the system messages
const anthropicSystem: ModelRequest['options'] = { anthropic: { system: 'x' } };
const anthropicFormat: ModelRequest['options'] = {
  // @ts-expect-error output_config.format comes from request.responseFormat
  anthropic: { output_config: { format: { type: 'json_schema', schema: {} } } },
};
// @ts-expect-error a misspelt field is caught
const anthropicTypo: ModelRequest['options'] = { anthropic: { servce_tier: 'auto' } };
void [openaiMessages, openaiFormat, openaiEffort, anthropicSystem, anthropicFormat, anthropicTypo];
// A mapped field is `never` even on an object that is not a literal.
assertTrue<Equal<OpenAIProviderOptions['messages'], undefined>>();
assertTrue<Equal<AnthropicProviderOptions['max_tokens'], undefined>>();

// ---- cacheControl ----
const cached: ModelRequest = {
  model: 'm',
  messages: [
    { role: 'system', content: 's', cacheControl: { type: 'ephemeral', ttl: '1h' } },
    { role: 'user', content: [{ type: 'text', text: 'u', cacheControl: { type: 'ephemeral' } }] },
  ],
  tools: [{ name: 't', inputSchema: {}, cacheControl: { type: 'ephemeral' } }],
};
void cached;
// @ts-expect-error ttl is 5m or 1h
const badTtl: ModelRequest['tools'] = [{ name: 't', inputSchema: {}, cacheControl: { type: 'ephemeral', ttl: '2h' } }];
void badTtl;

// ---- capabilities ----
const caps: ExecutorCapabilities = { responseFormat: 'schema' };
// @ts-expect-error not a capability value
const badCaps: ExecutorCapabilities = { responseFormat: 'xml' };
void [caps, badCaps];
validateOutput({ schema: Recipe, native: false });
