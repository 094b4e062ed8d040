import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type EffectiveModel,
  type ModelEvent,
  type ModelResponse,
  PolicyViolationError,
  RetryError,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { type FallbackOptions, fallback, retry } from 'modelware/middleware';
import { type ScriptStep, scriptedExecutor } from 'modelware/testing';
import { flush, providerError } from '../fixtures/core.js';

const REQUEST = { model: 'a', messages: [{ role: 'user', content: 'hi' }] } as const;
const MODES = ['generate', 'stream'] as const;

/** Fails for every model in `down`, answers with the model's name otherwise. */
function provider(down: readonly string[], failure: (model: string) => Error = (m) => providerError(`${m} down`)) {
  const step: ScriptStep = (request) =>
    down.includes(request.model) ? failure(request.model) : `answer from ${request.model}`;
  return scriptedExecutor([step], { whenDone: 'repeat-last', chunkSize: 4 });
}

async function run(app: ReturnType<typeof pipeline>, mode: (typeof MODES)[number]): Promise<ModelResponse> {
  if (mode === 'generate') return app.generate(REQUEST);
  const stream = app.stream(REQUEST);
  await stream.text();
  return stream.response;
}

for (const mode of MODES) {
  describe(`fallback (${mode}): the effective model`, () => {
    test('layers inside see the model being tried, in ctx.request.model and ctx.model.resolved', async () => {
      const seen: [string, string, string][] = [];
      const app = pipeline(provider(['a'])).use(
        fallback({ models: ['b'] }),
        defineMiddleware({
          name: 'inside',
          call(ctx, next) {
            seen.push([ctx.request.model, ctx.model.requested, ctx.model.resolved]);
            return next();
          },
        }),
      );
      await run(app, mode);
      assert.deepEqual(seen, [
        ['a', 'a', 'a'],
        ['b', 'a', 'b'],
      ]);
    });

    test('a layer outside sees { requested: a, resolved: b } after next()', async () => {
      const seen: EffectiveModel[] = [];
      const app = pipeline(provider(['a'])).use(
        defineMiddleware({
          name: 'outside',
          async call(ctx, next) {
            seen.push(ctx.model);
            await next();
            seen.push(ctx.model);
          },
        }),
        fallback({ models: ['b'] }),
      );
      const response = await run(app, mode);
      assert.deepEqual(seen, [
        { requested: 'a', resolved: 'a' },
        { requested: 'a', resolved: 'b' },
      ]);
      assert.equal(response.model, 'b');
      assert.equal(response.message.content, 'answer from b');
    });

    test('events carry the effective model: dispatched per attempt, then completed', async () => {
      const events: [ModelEvent['type'], string, number?][] = [];
      const app = pipeline(provider(['a'])).use(fallback({ models: ['b'] }));
      app.on('requested', (e) => events.push([e.type, e.model.resolved]));
      app.on('dispatched', (e) => events.push([e.type, e.model.resolved, e.attempt]));
      app.on('completed', (e) => events.push([e.type, e.model.resolved]));
      app.on('failed', (e) => events.push([e.type, e.model.resolved]));
      await run(app, mode);
      assert.deepEqual(events, [
        ['requested', 'a'],
        ['dispatched', 'a', 1],
        ['dispatched', 'b', 2],
        ['completed', 'b'],
      ]);
    });

    test('when every model fails: RetryError modelsExhausted, and the failed event names the last model', async () => {
      const failed: string[] = [];
      const app = pipeline(provider(['a', 'b', 'c'])).use(fallback({ models: ['b', 'c'] }));
      app.on('failed', (e) => failed.push(e.model.resolved));
      await assert.rejects(run(app, mode), (error: unknown) => {
        assert.ok(RetryError.isInstance(error));
        assert.equal(error.reason, 'modelsExhausted');
        assert.deepEqual(
          error.errors.map((e) => (e as Error).message),
          ['a down', 'b down', 'c down'],
        );
        assert.match(error.message, /every model failed \(a, b, c\)/);
        return true;
      });
      assert.deepEqual(failed, ['c']);
    });

    test('each model starts from the snapshot: an inner append is not repeated', async () => {
      const model = provider(['a']);
      const app = pipeline(model).use(
        fallback({ models: ['b'] }),
        defineMiddleware({
          name: 'appender',
          call(ctx, next) {
            ctx.update((draft) => void draft.messages.push({ role: 'system', content: 'note' }));
            return next();
          },
        }),
      );
      await run(app, mode);
      assert.deepEqual(
        model.calls.map((c) => [c.request.model, c.request.messages.map((m) => m.content)]),
        [
          ['a', ['hi', 'note']],
          ['b', ['hi', 'note']],
        ],
      );
    });
  });
}

describe('fallback: which errors', () => {
  test('a non-retryable error is thrown at once, without trying the next model', async () => {
    const model = provider(['a'], () => new PolicyViolationError({ reason: 'no', code: 'x' }) as unknown as Error);
    const app = pipeline(model).use(fallback({ models: ['b'] }));
    await assert.rejects(app.generate(REQUEST), PolicyViolationError);
    assert.deepEqual(
      model.calls.map((c) => c.request.model),
      ['a'],
    );
  });

  test('shouldFallback decides and onFallback reports each switch', async () => {
    const decisions: string[] = [];
    const switches: string[] = [];
    const model = provider(['a', 'b']);
    const app = pipeline(model).use(
      fallback({
        models: ['b', 'c'],
        shouldFallback: (_error, from) => {
          decisions.push(from);
          return true;
        },
        onFallback: ({ from, to }) => switches.push(`${from}->${to}`),
      }),
    );
    await app.generate(REQUEST);
    assert.deepEqual(decisions, ['a', 'b']);
    assert.deepEqual(switches, ['a->b', 'b->c']);
  });

  test('the requested model is not tried twice when it is also in models', async () => {
    const model = provider(['a']);
    await pipeline(model)
      .use(fallback({ models: ['a', 'b'] }))
      .generate(REQUEST);
    assert.deepEqual(
      model.calls.map((c) => c.request.model),
      ['a', 'b'],
    );
  });

  test('retry inside fallback retries each model before moving on', async () => {
    const model = provider(['a']);
    const app = pipeline(model).use(fallback({ models: ['b'] }), retry({ retries: 1, initialDelayMs: 0 }));
    await app.generate(REQUEST);
    assert.deepEqual(
      model.calls.map((c) => c.request.model),
      ['a', 'a', 'b'],
    );
  });

  test('an aborted call does not fall back', async () => {
    const controller = new AbortController();
    const model = scriptedExecutor(['slow'], { delayMs: 60_000, whenDone: 'repeat-last' });
    const app = pipeline(model).use(fallback({ models: ['b'] }));
    const result = app.generate(REQUEST, { signal: controller.signal });
    await flush();
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(result, (error) => error === reason);
    assert.equal(model.calls.length, 1);
  });
});

describe('fallback: options are validated at factory time', () => {
  const bad: readonly [string, unknown][] = [
    ['no options', undefined],
    ['models missing', {}],
    ['an empty list', { models: [] }],
    ['a string instead of a list', { models: 'b' }],
    ['an empty model id', { models: ['b', ''] }],
  ];
  for (const [label, options] of bad) {
    test(`${label}: TypeError naming \`models\` and the value`, () => {
      assert.throws(
        () => fallback(options as FallbackOptions),
        (error: unknown) =>
          error instanceof TypeError &&
          error.message.startsWith('fallback(): expected `models`') &&
          error.message.includes(`got \`${JSON.stringify((options as { models?: unknown } | undefined)?.models)}\``),
      );
    });
  }
});

describe('fallback() in a nested pipeline', () => {
  test('the outer pipeline sees the model the inner one resolved (reportModel)', async () => {
    const overloaded = Object.assign(new Error('overloaded'), { retryable: true });
    const inner = pipeline(scriptedExecutor([overloaded, { text: 'ok', model: 'backup-2026' }])).use(
      fallback({ models: ['backup'] }),
    );
    const seen: unknown[] = [];
    const outer = pipeline(inner).use(async function report(ctx, next) {
      await next();
      seen.push(ctx.model);
    });
    outer.on('completed', (event) => seen.push(event.model));
    await outer.generate({ model: 'main', messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(seen, [
      { requested: 'main', resolved: 'backup' },
      { requested: 'main', resolved: 'backup' },
    ]);
  });
});
