// Type tests for the exact public types (issue 10, item 7): checked by `npx tsc --noEmit`. Each
// `@ts-expect-error` fails the type check if the misspelling it marks ever compiles again.
import {
  type AssistantMessage,
  type AssistantMessageSchema,
  type CacheControl,
  type CacheControlSchema,
  type CallOptions,
  type CallWarning,
  type CallWarningSchema,
  type CallOptionsSchema,
  type ImagePart,
  type ImagePartSchema,
  type Message,
  type MessageSchema,
  type ModelRequest,
  type ModelRequestSchema,
  type ModelResponse,
  type ModelResponseSchema,
  type ProviderFields,
  type ResponseFormat,
  type ResponseFormatSchema,
  type ReadonlyModelRequest,
  type ReasoningPart,
  type ReasoningPartSchema,
  type StreamPart,
  type StreamPartSchema,
  type TextPart,
  type TextPartSchema,
  type ToolCallPart,
  type ToolCallPartSchema,
  type ToolMessage,
  type ToolMessageSchema,
  type ToolSpec,
  type ToolSpecSchema,
  type Usage,
  type UsageSchema,
  type UserMessage,
  type UserMessageSchema,
  pipeline,
} from 'modelware';
import { fallback, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import type { z } from 'zod';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

// ---- each named type is exactly what its schema accepts ----
assertTrue<Equal<z.infer<typeof TextPartSchema>, TextPart>>();
assertTrue<Equal<z.infer<typeof ImagePartSchema>, ImagePart>>();
assertTrue<Equal<z.infer<typeof ReasoningPartSchema>, ReasoningPart>>();
assertTrue<Equal<z.infer<typeof ToolCallPartSchema>, ToolCallPart>>();
assertTrue<Equal<z.infer<typeof UserMessageSchema>, UserMessage>>();
assertTrue<Equal<z.infer<typeof AssistantMessageSchema>, AssistantMessage>>();
assertTrue<Equal<z.infer<typeof ToolMessageSchema>, ToolMessage>>();
assertTrue<Equal<z.infer<typeof MessageSchema>, Message>>();
assertTrue<Equal<z.infer<typeof ToolSpecSchema>, ToolSpec>>();
// `options.openai`/`options.anthropic`/`options.openaiResponses` are typed from the SDKs once their adapters are imported
// (this program imports them); the schema checks them as records, the adapters check the rest.
type Flat<T> = { [K in keyof T]: T[K] };
type LooseOptions = Flat<
  Omit<CallOptions, 'openai' | 'anthropic' | 'openaiResponses'> & {
    openai?: ProviderFields | undefined;
    anthropic?: ProviderFields | undefined;
    openaiResponses?: ProviderFields | undefined;
  }
>;
assertTrue<Equal<z.infer<typeof CallOptionsSchema>, LooseOptions>>();
assertTrue<
  Equal<
    z.infer<typeof ModelRequestSchema>,
    Flat<Omit<ModelRequest, 'options'> & { options?: LooseOptions | undefined }>
  >
>();
assertTrue<Equal<z.infer<typeof ResponseFormatSchema>, ResponseFormat>>();
assertTrue<Equal<z.infer<typeof CacheControlSchema>, CacheControl>>();
assertTrue<Equal<z.infer<typeof CallWarningSchema>, CallWarning>>();
assertTrue<Equal<z.infer<typeof UsageSchema>, Usage>>();
assertTrue<Equal<z.infer<typeof ModelResponseSchema>, ModelResponse>>();
assertTrue<Equal<z.infer<typeof StreamPartSchema>, StreamPart>>();

const app = pipeline(scriptedExecutor(['ok']));

// ---- misspelt keys are compile errors, not silently dropped ----
void app.generate({
  model: 'm',
  messages: [{ role: 'user', content: 'hi' }],
  // @ts-expect-error the option is `maxOutputTokens`
  options: { maxTokens: 50 },
});
void app.generate({
  model: 'm',
  // @ts-expect-error `contnet` is not a message key
  messages: [{ role: 'user', contnet: 'hi' }],
});
void app.generate({
  model: 'm',
  messages: [],
  // @ts-expect-error an unknown request key
  temprature: 0,
});
// Provider extras live under the provider's key of options.
void app.generate({
  model: 'm',
  messages: [],
  options: { maxOutputTokens: 50, openai: { service_tier: 'flex' }, anthropic: { service_tier: 'auto' } },
});

app.use(async (ctx, next) => {
  // The request is a named type, not a zod expansion.
  assertTrue<Equal<typeof ctx.request, ReadonlyModelRequest>>();
  // @ts-expect-error `modle` is not a request field
  void ctx.request.modle;
  const first = ctx.request.messages[0];
  // @ts-expect-error `contnet` is not a message field
  if (first) void first.contnet;
  ctx.update((draft) => {
    // @ts-expect-error an unknown option on the draft
    draft.options = { maxTokens: 1 };
  });
  await next();
  // @ts-expect-error responses are exact too
  void ctx.response?.raw;
});

// ---- misuse of the built-ins ----
// @ts-expect-error a factory, not a middleware: call it, retry()
app.use(retry);
app.use(retry());
// A bare list of models means { models }.
app.use(fallback(['a', 'b']));
app.use(fallback({ models: ['a', 'b'] }));
