// Type tests for executor hooks passed inward: checked by `npx tsc --noEmit`. Nothing here runs.
import {
  type Executor,
  type ExecutorHooks,
  type ModelResponse,
  type ReadonlyModelRequest,
  type StreamPart,
  executeWithHooks,
  pipeline,
  streamWithHooks,
} from 'modelware';

declare const provider: Executor;

// A routing executor declares callsHooks and runs each attempt through the helpers.
const router: Executor = {
  callsHooks: true,
  generate: (request, options) =>
    executeWithHooks(options, { ...request, model: 'gpt-5-mini' }, 1, (sent) => provider.generate(sent, options)),
  stream: (request, options) =>
    streamWithHooks(options, { ...request, model: 'gpt-5-mini' }, 1, (sent) =>
      (provider.stream as NonNullable<Executor['stream']>)(sent, options),
    ),
};

// A pipeline always calls hooks.
const callsHooks: true = pipeline(router).callsHooks;
void callsHooks;

// Hooks may be sync or async; onModelChosen returns a replacement request or nothing.
const hooks: ExecutorHooks = {
  onModelChosen: ({ model, request, attempt }): ReadonlyModelRequest | undefined =>
    model === 'x' && attempt > 1 ? { ...request, options: { temperature: 0 } } : undefined,
  onCompleted: async ({ response }: { response: ModelResponse }) => void response.finishReason,
  onFailed: ({ error }) => void error,
  onStreamPart: ({ part }: { part: StreamPart }) => void part.type,
  onModelChoiceFailed: ({ request, error }) => void [request.model, error],
};
void pipeline(router).generate({ model: 'm', messages: [] }, { hooks });

pipeline(router).use(async (ctx, next) => {
  ctx.addExecutorHooks({ onModelChosen: ({ request }) => request });
  // @ts-expect-error onModelChosen returns a request, not a model id
  ctx.addExecutorHooks({ onModelChosen: () => 'gpt-5' });
  // @ts-expect-error hooks are an object, not a function
  ctx.addExecutorHooks(() => undefined);
  await next();
});
