import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Executor,
  type ExecutorHooks,
  type Middleware,
  type ModelRequest,
  type ReadonlyModelRequest,
  type StreamPart,
  definePlugin,
  executeWithHooks,
  pipeline,
  PluginManager,
  streamWithHooks,
} from 'modelware';
import { plugins, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const REQUEST: ModelRequest = { model: 'smart', messages: [{ role: 'user', content: 'hi' }] };

/**
 * A hand-written routing executor (Koog's MultiLLMPromptExecutor with fallbacks): `routes` maps a
 * requested model to candidates tried in order; each attempt runs through the caller's hooks.
 */
function routingExecutor(routes: Record<string, readonly string[]>, executor: Executor): Executor {
  return {
    name: 'router',
    callsHooks: true,
    async generate(request, options) {
      const candidates = await candidatesFor(request, options?.hooks);
      let last: unknown;
      for (const [i, model] of candidates.entries()) {
        try {
          return await executeWithHooks(options, { ...request, model }, i + 1, (sent) =>
            executor.generate(sent, { signal: options?.signal }),
          );
        } catch (error) {
          last = error;
        }
      }
      throw last;
    },
    async *stream(request, options) {
      const candidates = await candidatesFor(request, options?.hooks);
      let last: unknown;
      for (const [i, model] of candidates.entries()) {
        const parts = streamWithHooks(options, { ...request, model }, i + 1, (sent) =>
          (executor.stream as NonNullable<Executor['stream']>)(sent, { signal: options?.signal }),
        );
        // Fall back only before the first part: after it, the caller already has output.
        let first: IteratorResult<StreamPart>;
        try {
          first = await parts.next();
        } catch (error) {
          last = error;
          continue;
        }
        if (!first.done) yield first.value;
        yield* parts;
        return;
      }
      throw last;
    },
  };

  async function candidatesFor(request: ReadonlyModelRequest, hooks: ExecutorHooks | undefined) {
    const candidates = routes[request.model];
    if (candidates) return candidates;
    const error = new Error(`no route for ${request.model}`);
    await hooks?.onModelChoiceFailed?.({ request, error });
    throw error;
  }
}

/** A layer that logs its way in and out and every executor hook, with the model each one saw. */
function hookLayer(name: string, log: string[], overrides: ExecutorHooks['onModelChosen'] = undefined): Middleware {
  return async function layer(ctx, next) {
    log.push(`${name}:in`);
    ctx.addExecutorHooks({
      async onModelChosen(event) {
        log.push(`${name}:chosen:${event.model}#${event.attempt}`);
        return overrides?.(event);
      },
      onModelChoiceFailed: () => void log.push(`${name}:choice-failed`),
      onCompleted: ({ model }) => void log.push(`${name}:completed:${model}`),
      onFailed: ({ model }) => void log.push(`${name}:failed:${model}`),
      onStreamPart: ({ model, part }) => void log.push(`${name}:part:${model}:${part.type}`),
    });
    try {
      await next();
    } finally {
      log.push(`${name}:out:${ctx.model.resolved}`);
    }
  };
}

/** outer pipeline (layer a) → inner pipeline (layer b) → routing executor → scripted provider. */
function nestedTwice(log: string[], script: Parameters<typeof scriptedExecutor>[0]) {
  const provider = scriptedExecutor(script, { chunkSize: 100 });
  const router = routingExecutor({ smart: ['primary', 'backup'] }, provider);
  const inner = pipeline({ executor: router, name: 'inner' }).use(
    hookLayer('b', log, ({ request }) => ({ ...request, metadata: { ...request.metadata, b: true } })),
  );
  const outer = pipeline({ executor: inner, name: 'outer' }).use(
    hookLayer('a', log, ({ model, request }) =>
      model === 'backup' ? { ...request, options: { ...request.options, temperature: 0 } } : undefined,
    ),
  );
  outer.on('dispatched', (e) => void log.push(`outer:dispatched:${e.model.resolved}:${e.request.model}#${e.attempt}`));
  inner.on('dispatched', (e) => void log.push(`inner:dispatched:${e.model.resolved}#${e.attempt}`));
  outer.on('completed', (e) => void log.push(`outer:completed-event:${e.model.resolved}`));
  return { outer, provider };
}

const overloaded = () => Object.assign(new Error('overloaded'), { retryable: true });

describe('executor hooks passed inward: a routing executor nested twice', () => {
  test('generate: every layer sees each attempt’s model before the call, in onion order', async () => {
    const log: string[] = [];
    const { outer, provider } = nestedTwice(log, [overloaded(), { text: 'ok', model: 'backup-2026' }]);
    const response = await outer.generate(REQUEST);
    assert.equal(response.model, 'backup-2026');
    assert.deepEqual(log, [
      'a:in',
      'b:in',
      'a:chosen:primary#1',
      'outer:dispatched:primary:primary#1',
      'b:chosen:primary#1',
      'inner:dispatched:primary#1',
      'b:failed:primary',
      'a:failed:primary',
      'a:chosen:backup#2',
      'outer:dispatched:backup:backup#2',
      'b:chosen:backup#2',
      'inner:dispatched:backup#2',
      'b:completed:backup',
      'a:completed:backup',
      'b:out:backup',
      'a:out:backup',
      'outer:completed-event:backup',
    ]);
    // The overrides for the chosen model reached the provider: a's for `backup` only, b's always.
    assert.deepEqual(
      provider.calls.map((c) => [c.request.model, c.request.options?.temperature, c.request.metadata?.b]),
      [
        ['primary', undefined, true],
        ['backup', 0, true],
      ],
    );
  });

  test('stream: the same order, with every part seen by both layers before the consumer', async () => {
    const log: string[] = [];
    const { outer } = nestedTwice(log, [overloaded(), { text: 'ok', model: 'backup-2026' }]);
    const parts: string[] = [];
    for await (const part of outer.stream(REQUEST)) {
      log.push(`consumer:${part.type}`);
      parts.push(part.type);
    }
    assert.deepEqual(parts, ['text-delta', 'finish']);
    assert.deepEqual(log, [
      'a:in',
      'b:in',
      'a:chosen:primary#1',
      'outer:dispatched:primary:primary#1',
      'b:chosen:primary#1',
      'inner:dispatched:primary#1',
      'b:failed:primary',
      'a:failed:primary',
      'a:chosen:backup#2',
      'outer:dispatched:backup:backup#2',
      'b:chosen:backup#2',
      'inner:dispatched:backup#2',
      // A stream's layers return from next() once the first part arrived (errors before it can
      // still be retried); the consumer then pulls the parts through every hook.
      'b:part:backup:text-delta',
      'a:part:backup:text-delta',
      'b:out:backup',
      'a:out:backup',
      'consumer:text-delta',
      'b:part:backup:finish',
      'a:part:backup:finish',
      'consumer:finish',
      'b:completed:backup',
      'a:completed:backup',
      'outer:completed-event:backup',
    ]);
  });

  test('a model choice that fails reaches the layers outermost first, and the call fails', async () => {
    const log: string[] = [];
    const { outer, provider } = nestedTwice(log, []);
    await assert.rejects(outer.generate({ ...REQUEST, model: 'unknown' }), /no route for unknown/);
    assert.deepEqual(log, ['a:in', 'b:in', 'a:choice-failed', 'b:choice-failed', 'b:out:unknown', 'a:out:unknown']);
    assert.equal(provider.calls.length, 0);
  });
});

describe('executor hooks: a pipeline over a plain executor calls them itself', () => {
  for (const mode of ['generate', 'stream'] as const) {
    test(`${mode}: onModelChosen with request.model, its replacement is what the executor gets`, async () => {
      const log: string[] = [];
      const provider = scriptedExecutor(['ok']);
      const app = pipeline(provider).use(
        hookLayer('a', log, ({ request }) => ({ ...request, options: { maxOutputTokens: 5 } })),
      );
      if (mode === 'generate') await app.generate(REQUEST);
      else for await (const _ of app.stream(REQUEST));
      assert.deepEqual(provider.calls[0]?.request.options, { maxOutputTokens: 5 });
      const expected =
        mode === 'generate'
          ? ['a:in', 'a:chosen:smart#1', 'a:completed:smart', 'a:out:smart']
          : [
              'a:in',
              'a:chosen:smart#1',
              'a:part:smart:text-delta',
              'a:out:smart',
              'a:part:smart:finish',
              'a:completed:smart',
            ];
      assert.deepEqual(log, expected);
    });
  }

  test('an invalid replacement is an InvalidRequestError naming the layer; nothing is sent', async () => {
    const provider = scriptedExecutor(['ok']);
    const app = pipeline(provider).use(async function breaksIt(ctx, next) {
      ctx.addExecutorHooks({
        onModelChosen: ({ request }) => ({ ...request, messages: [{ role: 'nobody' }] }) as never,
      });
      await next();
    });
    await assert.rejects(app.generate(REQUEST), { name: 'InvalidRequestError', message: /breaksIt/ });
    assert.equal(provider.calls.length, 0);
  });

  test('hooks added inside retry() last for their attempt: one call per attempt, never accumulated', async () => {
    const log: string[] = [];
    const app = pipeline(scriptedExecutor([overloaded(), 'ok'])).use(
      retry({ retries: 1, initialDelayMs: 0 }),
      hookLayer('a', log),
    );
    await app.generate(REQUEST);
    assert.deepEqual(log, [
      'a:in',
      'a:chosen:smart#1',
      'a:failed:smart',
      'a:out:smart',
      'a:in',
      'a:chosen:smart#2',
      'a:completed:smart',
      'a:out:smart',
    ]);
  });

  test('ctx.addExecutorHooks() rejects a non-object', async () => {
    const app = pipeline(scriptedExecutor(['ok'])).use(async function bad(ctx, next) {
      ctx.addExecutorHooks(null as never);
      await next();
    });
    await assert.rejects(app.generate(REQUEST), {
      message: /ctx.addExecutorHooks\(\) in `bad`: expected an object of hooks/,
    });
  });
});

describe('executor hooks: plugins see the model the executor chose', () => {
  for (const mode of ['generate', 'stream'] as const) {
    test(`${mode}: model_resolve and llm_input run again for a model chosen inside, and adjust its request`, async () => {
      const seen: string[] = [];
      const policy = definePlugin({
        name: 'per-model',
        hooks: {
          model_resolve: (p) => void seen.push(`model_resolve:${p.requested}->${p.model}`),
          llm_input: (p) => {
            seen.push(`llm_input:${p.model.resolved}`);
            if (p.model.resolved === 'backup') p.request.options = { temperature: 0 };
          },
        },
      });
      const provider = scriptedExecutor([overloaded(), 'ok']);
      const inner = pipeline(routingExecutor({ smart: ['primary', 'backup'] }, provider));
      const app = pipeline(inner).use(plugins(new PluginManager({ plugins: [policy] })));
      if (mode === 'generate') await app.generate(REQUEST);
      else for await (const _ of app.stream(REQUEST));
      assert.deepEqual(seen, [
        'model_resolve:smart->smart',
        'llm_input:smart',
        'model_resolve:smart->primary',
        'llm_input:primary',
        'model_resolve:smart->backup',
        'llm_input:backup',
      ]);
      assert.deepEqual(
        provider.calls.map((c) => [c.request.model, c.request.options]),
        [
          ['primary', undefined],
          ['backup', { temperature: 0 }],
        ],
      );
    });
  }
});
