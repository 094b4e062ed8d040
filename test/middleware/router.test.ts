import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ModelResponse, MiddlewareError, defineMiddleware, pipeline } from 'modelware';
import { fallback } from 'modelware/middleware';
import { type ScriptStep, scriptedExecutor } from 'modelware/testing';
import { router } from '../../middleware/router.js';
import { providerError } from '../fixtures/core.js';

const REQUEST = { model: 'auto', messages: [{ role: 'user', content: 'hi' }] } as const;
const WITH_TOOLS = {
  ...REQUEST,
  tools: [{ name: 'search', inputSchema: { type: 'object' } }],
} as const;
const MODES = ['generate', 'stream'] as const;
type Mode = (typeof MODES)[number];

/** Answers with the model's name; fails for the models in `down`. */
function provider(down: readonly string[] = []) {
  const step: ScriptStep = (request) =>
    down.includes(request.model) ? providerError(`${request.model} down`) : `from ${request.model}`;
  return scriptedExecutor([step], { whenDone: 'repeat-last' });
}

async function run(app: ReturnType<typeof pipeline>, mode: Mode, request: object = REQUEST): Promise<ModelResponse> {
  const req = request as typeof REQUEST;
  if (mode === 'generate') return app.generate(req);
  const stream = app.stream(req);
  await stream.text();
  return stream.response;
}

/** Logs `[layer, ctx.request.model, ctx.model.requested, ctx.model.resolved]` on the way in and out. */
function spy(name: string, log: string[]) {
  return defineMiddleware({
    name,
    async call(ctx, next) {
      log.push(`${name}:in ${ctx.request.model} ${ctx.model.requested}->${ctx.model.resolved}`);
      await next();
      log.push(`${name}:out ${ctx.request.model} ${ctx.model.requested}->${ctx.model.resolved}`);
    },
  });
}

const ROUTES = [
  { when: (request: { tools?: readonly unknown[] | undefined }) => (request.tools?.length ?? 0) > 0, model: 'big' },
  { when: () => true, model: 'small' },
];

for (const mode of MODES) {
  describe(`router (${mode})`, () => {
    test('the first matching route wins; inner layers see the routed model, outer ones after next()', async () => {
      const log: string[] = [];
      const model = provider();
      const app = pipeline(model).use(spy('outer', log), router({ routes: ROUTES }), spy('inner', log));
      const response = await run(app, mode, WITH_TOOLS);
      assert.deepEqual(log, [
        'outer:in auto auto->auto',
        'inner:in big auto->big',
        'inner:out big auto->big',
        'outer:out big auto->big',
      ]);
      assert.deepEqual(
        model.calls.map((c) => c.request.model),
        ['big'],
      );
      assert.equal(response.message.content, 'from big');
    });

    test('events carry the routed model; `requested` still names the asked-for one', async () => {
      const events: string[] = [];
      const app = pipeline(provider()).use(router({ routes: ROUTES }));
      app.on('requested', (e) => events.push(`requested ${e.model.requested}->${e.model.resolved}`));
      app.on('dispatched', (e) => events.push(`dispatched ${e.model.requested}->${e.model.resolved}`));
      app.on('completed', (e) => events.push(`completed ${e.model.requested}->${e.model.resolved}`));
      await run(app, mode);
      assert.deepEqual(events, ['requested auto->auto', 'dispatched auto->small', 'completed auto->small']);
    });

    test('fallback mounted after the router falls back from the routed model', async () => {
      const log: string[] = [];
      const events: string[] = [];
      const model = provider(['big']);
      const app = pipeline(model).use(
        spy('outer', log),
        router({ routes: ROUTES }),
        fallback({ models: ['small'] }),
        spy('inner', log),
      );
      app.on('dispatched', (e) => events.push(`dispatched#${e.attempt} ${e.model.resolved}`));
      app.on('completed', (e) => events.push(`completed ${e.model.requested}->${e.model.resolved}`));
      const response = await run(app, mode, WITH_TOOLS);
      assert.deepEqual(log, [
        'outer:in auto auto->auto',
        'inner:in big auto->big',
        'inner:in small auto->small',
        'inner:out small auto->small',
        'outer:out small auto->small',
      ]);
      assert.deepEqual(events, ['dispatched#1 big', 'dispatched#2 small', 'completed auto->small']);
      assert.equal(response.message.content, 'from small');
    });

    test('fallback mounted before the router routes each model it tries', async () => {
      const model = provider(['big']);
      const app = pipeline(model).use(
        fallback({ models: ['cheap'] }),
        router({ routes: (request) => (request.model === 'auto' ? 'big' : `${request.model}-v2`) }),
      );
      const response = await run(app, mode);
      assert.deepEqual(
        model.calls.map((c) => c.request.model),
        ['big', 'cheap-v2'],
      );
      assert.equal(response.message.content, 'from cheap-v2');
    });
  });
}

describe('router: choosing', () => {
  test('no matching route and no default: the requested model is kept, without an update', async () => {
    const model = provider();
    const app = pipeline({ executor: model, inspect: true }).use(
      router({ routes: [{ when: () => false, model: 'never' }] }),
      defineMiddleware({
        name: 'patches',
        call(ctx, next) {
          assert.deepEqual(ctx.patches, []);
          return next();
        },
      }),
    );
    await app.generate(REQUEST);
    assert.deepEqual(
      model.calls.map((c) => c.request.model),
      ['auto'],
    );
  });

  test('`default` applies when no route matches, or when the function returns undefined', async () => {
    const model = provider();
    await pipeline(model)
      .use(router({ routes: [{ when: () => false, model: 'never' }], default: 'fallback-model' }))
      .generate(REQUEST);
    await pipeline(model)
      .use(router({ routes: () => undefined, default: 'other' }))
      .generate(REQUEST);
    assert.deepEqual(
      model.calls.map((c) => c.request.model),
      ['fallback-model', 'other'],
    );
  });

  test('predicates get the request and ctx, run in order, and stop at the first match', async () => {
    const asked: string[] = [];
    const app = pipeline(provider()).use(
      router({
        routes: [
          {
            when: (req, ctx) => {
              asked.push(`one ${req.model} ${ctx.layer}`);
              return false;
            },
            model: 'x',
          },
          {
            when: async (req) => {
              asked.push(`two ${req.model}`);
              return true;
            },
            model: 'y',
          },
          {
            when: () => {
              asked.push('three');
              return true;
            },
            model: 'z',
          },
        ],
      }),
    );
    const response = await app.generate(REQUEST);
    assert.deepEqual(asked, ['one auto router', 'two auto']);
    assert.equal(response.model, 'y');
  });

  test('a route function returning a non-model throws MiddlewareError before the executor runs', async () => {
    const model = provider();
    const app = pipeline(model).use(router({ routes: () => '' }));
    await assert.rejects(app.generate(REQUEST), (error: unknown) => {
      assert.ok(MiddlewareError.isInstance(error));
      assert.match(error.message, /route function returned string `` for model `auto`/);
      return true;
    });
    assert.equal(model.calls.length, 0);
  });
});

describe('router: options', () => {
  const cases: [string, unknown, RegExp][] = [
    ['missing routes', {}, /expected `routes` to be a non-empty array .* got `undefined`/],
    ['empty routes', { routes: [] }, /non-empty array .* got an array of length 0/],
    ['route without when', { routes: [{ model: 'x' }] }, /`routes\[0\]\.when` to be a function/],
    ['route with empty model', { routes: [{ when: () => true, model: '' }] }, /`routes\[0\]\.model` to be a non-empty/],
    ['bad default', { routes: () => 'x', default: 3 }, /`default` to be a non-empty model id string, got number `3`/],
  ];
  for (const [name, options, message] of cases) {
    test(`${name} is rejected at factory time`, () => {
      assert.throws(() => router(options as never), { name: 'TypeError', message });
    });
  }
});
