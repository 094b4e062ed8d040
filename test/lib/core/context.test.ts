import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Context,
  InvalidRequestError,
  type Middleware,
  type ModelRequest,
  type ReadonlyModelRequest,
  type RequestRecipe,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { BASE_REQUEST, freshRequest } from '../../fixtures/core.js';

function updater(name: string, recipe: RequestRecipe, seen?: ReadonlyModelRequest[]): Middleware {
  return defineMiddleware({
    name,
    call(ctx, next) {
      seen?.push(ctx.request);
      ctx.update(recipe);
      return next();
    },
  });
}

const TOOL_TRANSCRIPT = {
  model: 'test-model',
  messages: [
    { role: 'user', content: 'weather?' },
    {
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'weather', input: { city: 'Oslo' } }],
    },
    { role: 'tool', toolCallId: 'call_1', toolName: 'weather', content: '{"c":3}' },
  ],
} as const satisfies ModelRequest;

describe('ctx.update: chaining', () => {
  test('three chained updates each see the previous output', async () => {
    const seenInRecipe: string[] = [];
    const step = (name: string): Middleware =>
      updater(name, (draft) => {
        seenInRecipe.push(draft.messages.map((m) => m.content).join('|'));
        draft.messages.push({ role: 'user', content: name });
      });
    const model = scriptedExecutor(['x']);
    await pipeline(model).use(step('a'), step('b'), step('c')).generate(BASE_REQUEST);
    assert.deepEqual(seenInRecipe, ['hi', 'hi|a', 'hi|a|b']);
    assert.deepEqual(
      model.calls[0]?.request.messages.map((m) => m.content),
      ['hi', 'a', 'b', 'c'],
    );
  });

  test('info.original is the request as it was before this update', async () => {
    const originals: ReadonlyModelRequest[] = [];
    const befores: ReadonlyModelRequest[] = [];
    const step = (name: string): Middleware =>
      defineMiddleware({
        name,
        call(ctx, next) {
          befores.push(ctx.request);
          ctx.update((draft, { original }) => {
            originals.push(original);
            draft.model = `${original.model}+${name}`;
          });
          return next();
        },
      });
    const model = scriptedExecutor(['x']);
    await pipeline(model).use(step('a'), step('b'), step('c')).generate(BASE_REQUEST);
    assert.equal(originals.length, 3);
    for (const [i, original] of originals.entries()) assert.equal(original, befores[i]);
    // The library's entry copy of the caller's request: equal, sharing the message objects.
    assert.deepEqual(originals[0], BASE_REQUEST);
    assert.equal(originals[0]?.messages[0], BASE_REQUEST.messages[0]);
    assert.equal(model.calls[0]?.request.model, 'test-model+a+b+c');
  });

  test('two updates in the same layer chain too', async () => {
    const model = scriptedExecutor(['x']);
    const app = pipeline(model).use((ctx, next) => {
      ctx.update((draft) => void (draft.model = 'one'));
      ctx.update((draft) => void (draft.model = `${draft.model}-two`));
      return next();
    });
    await app.generate(BASE_REQUEST);
    assert.equal(model.calls[0]?.request.model, 'one-two');
  });

  test('a recipe may return a replacement instead of mutating the draft', async () => {
    const model = scriptedExecutor(['x']);
    const app = pipeline(model).use(
      updater('replace', (_draft, { original }) => ({
        ...original,
        model: 'replaced',
        messages: [...original.messages],
      })),
    );
    await app.generate(BASE_REQUEST);
    assert.equal(model.calls[0]?.request.model, 'replaced');
  });

  test('a recipe that replaces draft.messages and then edits it keeps both changes', async () => {
    const model = scriptedExecutor(['x']);
    const app = pipeline(model).use(
      updater('filterThenPush', (draft) => {
        draft.messages = draft.messages.filter((m) => m.role !== 'system');
        draft.messages.push({ role: 'user', content: 'pushed' });
      }),
    );
    await app.generate(freshRequest());
    assert.deepEqual(
      model.calls[0]?.request.messages.map((m) => m.content),
      ['hi', 'pushed'],
    );
  });

  test('a recipe that replaces draft.messages is validated against the new array', async () => {
    const app = pipeline(scriptedExecutor(['x'])).use(
      updater('replaceThenBreak', (draft) => {
        draft.messages = [...draft.messages];
        draft.messages.push({ role: 'tool', toolCallId: 'nope', toolName: 't', content: 'x' });
      }),
    );
    await assert.rejects(app.generate(BASE_REQUEST), { name: 'InvalidRequestError', layer: 'replaceThenBreak' });
  });

  test('a recipe that changes nothing keeps the request identity', async () => {
    const requests: ReadonlyModelRequest[] = [];
    const record: Middleware = (ctx, next) => {
      requests.push(ctx.request);
      return next();
    };
    const app = pipeline(scriptedExecutor(['x'])).use(
      record,
      updater('noop', () => {}),
      record,
    );
    await app.generate(BASE_REQUEST);
    assert.equal(requests[1], requests[0]);
  });

  test('the request a layer produces is frozen at the root, so it cannot be mutated by accident', async () => {
    let request: ReadonlyModelRequest | undefined;
    const app = pipeline(scriptedExecutor(['x'])).use(
      updater('change', (draft) => void (draft.model = 'x')),
      (ctx, next) => {
        request = ctx.request;
        return next();
      },
    );
    await app.generate(BASE_REQUEST);
    assert.equal(Object.isFrozen(request), true);
  });

  test("a frozen messages array: edits work on a plain copy, other edits keep the caller's array", async () => {
    const messages = Object.freeze([
      Object.freeze({ role: 'system' as const, content: 'be brief' }),
      Object.freeze({ role: 'user' as const, content: 'hi' }),
    ]);
    const seen: ReadonlyModelRequest[] = [];
    const record: Middleware = (ctx, next) => {
      seen.push(ctx.request);
      return next();
    };
    const app = pipeline(scriptedExecutor(['x', 'y'])).use(
      updater('model', (draft) => void (draft.model = 'other')),
      record,
      updater('edit', (draft) => void (draft.messages[0] = { role: 'system', content: 'be kind' })),
      record,
    );
    await app.generate({ model: 'm', messages });
    const [afterModel, afterEdit] = seen;
    assert.equal(afterModel?.messages, messages);
    assert.deepEqual(
      afterEdit?.messages.map((m) => m.content),
      ['be kind', 'hi'],
    );
    assert.equal(afterEdit?.messages[1], messages[1]);
    assert.equal(messages[0]?.content, 'be brief');
    // A recipe that reads the frozen array and changes nothing leaves the request as it was.
    const untouched: ReadonlyModelRequest[] = [];
    const request = { model: 'm', messages };
    await pipeline(scriptedExecutor(['x']))
      .use(
        updater('read', (draft) => void draft.messages.length),
        (ctx, next) => {
          untouched.push(ctx.request);
          return next();
        },
      )
      .generate(request);
    assert.equal(untouched[0]?.messages, messages);
  });

  test('strict: true deep-freezes what a layer produces', async () => {
    let request: ReadonlyModelRequest | undefined;
    const app = pipeline({ executor: scriptedExecutor(['x']), strict: true }).use(
      updater('add', (draft) => void draft.messages.push({ role: 'user', content: 'more' })),
      (ctx, next) => {
        request = ctx.request;
        return next();
      },
    );
    await app.generate(freshRequest());
    assert.equal(Object.isFrozen(request?.messages), true);
    assert.equal(Object.isFrozen(request?.messages.at(-1)), true);
  });
});

describe('ctx.update: a bad layer is named', () => {
  const invalid: readonly {
    label: string;
    recipe: RequestRecipe;
    path: readonly PropertyKey[];
    base?: ModelRequest;
  }[] = [
    {
      label: 'a tool message with no matching tool call',
      recipe: (draft) => void draft.messages.push({ role: 'tool', toolCallId: 'nope', toolName: 't', content: 'x' }),
      path: ['messages', 1, 'toolCallId'],
    },
    {
      label: 'a message with a wrong role',
      recipe: (draft) => void draft.messages.push({ role: 'robot', content: 'x' } as never),
      path: ['messages', 1, 'role'],
    },
    { label: 'an empty model', recipe: (draft) => void (draft.model = ''), path: ['model'] },
    {
      label: 'a tool result renamed away from its call',
      recipe: (draft) => {
        const tool = draft.messages[2];
        if (tool?.role === 'tool') tool.toolName = 'other';
      },
      path: ['messages', 2, 'toolName'],
      base: TOOL_TRANSCRIPT as unknown as ModelRequest,
    },
    {
      label: 'a tool call removed while its result stays',
      recipe: (draft) => void draft.messages.splice(1, 1),
      path: ['messages', 1, 'toolCallId'],
      base: TOOL_TRANSCRIPT as unknown as ModelRequest,
    },
    {
      label: 'an invalid option',
      recipe: (draft) => void (draft.options = { topP: 2 }),
      path: ['options', 'topP'],
    },
    {
      label: 'a text part without text',
      recipe: (draft) => void (draft.messages[0] = { role: 'user', content: [{ type: 'text' }] } as never),
      path: ['messages', 0, 'content'],
    },
  ];

  for (const { label, recipe, path, base } of invalid) {
    test(`${label}: InvalidRequestError with layer, path, issues; the request stays as before`, async () => {
      let before: ReadonlyModelRequest | undefined;
      let after: ReadonlyModelRequest | undefined;
      let caught: unknown;
      const model = scriptedExecutor(['x']);
      const app = pipeline(model).use(
        async function outer(ctx, next) {
          try {
            await next();
          } catch (error) {
            caught = error;
            after = ctx.request;
            ctx.response = { message: { role: 'assistant', content: 'handled' }, finishReason: 'stop' };
          }
        },
        defineMiddleware({
          name: 'badLayer',
          call(ctx, next) {
            before = ctx.request;
            ctx.update(recipe);
            return next();
          },
        }),
      );
      await app.generate(base ?? BASE_REQUEST);
      assert.ok(InvalidRequestError.isInstance(caught));
      assert.equal(caught.layer, 'badLayer');
      assert.deepEqual(caught.path, path);
      assert.ok(caught.issues.length > 0);
      assert.deepEqual(caught.issues[0]?.path, path);
      assert.match(caught.message, /^`badLayer` produced an invalid request: /);
      assert.ok(caught.message.includes(formatPath(path)), `${caught.message} names ${formatPath(path)}`);
      assert.equal(after, before);
      assert.equal(model.calls.length, 0);
    });
  }

  test('the layer that broke the request can catch the error and keep the previous request', async () => {
    const model = scriptedExecutor(['x']);
    const app = pipeline(model).use((ctx, next) => {
      const before = ctx.request;
      assert.throws(() => ctx.update((draft) => void (draft.model = '')), InvalidRequestError);
      assert.equal(ctx.request, before);
      return next();
    });
    await app.generate(BASE_REQUEST);
    assert.deepEqual(model.calls[0]?.request, BASE_REQUEST);
  });

  test('validate: false skips update validation', async () => {
    const model = scriptedExecutor(['x']);
    const app = pipeline({ executor: model, validate: false }).use(updater('empty', (d) => void (d.model = '')));
    await app.generate(BASE_REQUEST);
    assert.equal(model.calls[0]?.request.model, '');
  });
});

describe('ctx.patches (inspect: true)', () => {
  test('each update is recorded with its layer name and Immer patches', async () => {
    let patches: Context['patches'];
    const app = pipeline({ executor: scriptedExecutor(['x']), inspect: true }).use(
      updater('setModel', (draft) => void (draft.model = 'm2')),
      updater('noop', () => {}),
      async function response(ctx, next) {
        await next();
        ctx.updateResponse((draft) => void (draft.finishReason = 'length'));
        patches = ctx.patches;
      },
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(patches, [
      {
        layer: 'setModel',
        target: 'request',
        patches: [{ op: 'replace', path: ['model'], value: 'm2' }],
        inversePatches: [{ op: 'replace', path: ['model'], value: 'test-model' }],
      },
      {
        layer: 'response',
        target: 'response',
        patches: [{ op: 'replace', path: ['finishReason'], value: 'length' }],
        inversePatches: [{ op: 'replace', path: ['finishReason'], value: 'stop' }],
      },
    ]);
  });

  test('without inspect, ctx.patches is undefined', async () => {
    let patches: Context['patches'] | null = null;
    const app = pipeline(scriptedExecutor(['x'])).use((ctx, next) => {
      patches = ctx.patches;
      return next();
    });
    await app.generate(BASE_REQUEST);
    assert.equal(patches, undefined);
  });
});

describe('ctx: other fields', () => {
  test('updateResponse recipes chain on the way out', async () => {
    const seen: string[] = [];
    const wrap = (name: string): Middleware =>
      defineMiddleware({
        name,
        async call(ctx, next) {
          await next();
          ctx.updateResponse((draft, { original }) => {
            seen.push(original.message.content as string);
            draft.message.content = `${name}(${draft.message.content as string})`;
          });
        },
      });
    const response = await pipeline(scriptedExecutor(['raw']))
      .use(wrap('a'), wrap('b'), wrap('c'))
      .generate(BASE_REQUEST);
    assert.deepEqual(seen, ['raw', 'c(raw)', 'b(c(raw))']);
    assert.equal(response.message.content, 'a(b(c(raw)))');
  });

  test('ctx.model before any routing is { requested, resolved } of the request model', async () => {
    const models: unknown[] = [];
    const app = pipeline(scriptedExecutor(['x'])).use(async (ctx, next) => {
      models.push(ctx.model);
      await next();
      models.push(ctx.model);
    });
    await app.generate(BASE_REQUEST);
    assert.deepEqual(models, [
      { requested: 'test-model', resolved: 'test-model' },
      { requested: 'test-model', resolved: 'test-model' },
    ]);
  });

  test('a layer that changes the model is seen in ctx.model.resolved outside after next()', async () => {
    let outside: unknown;
    const app = pipeline(scriptedExecutor(['x'])).use(
      async (ctx, next) => {
        await next();
        outside = ctx.model;
      },
      updater('router', (draft) => void (draft.model = 'small-model')),
    );
    await app.generate(BASE_REQUEST);
    assert.deepEqual(outside, { requested: 'test-model', resolved: 'small-model' });
  });

  test('ctx.signal is the caller signal in generate mode', async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const app = pipeline(scriptedExecutor(['x'])).use((ctx, next) => {
      signal = ctx.signal;
      return next();
    });
    await app.generate(BASE_REQUEST, { signal: controller.signal });
    assert.equal(signal, controller.signal);
  });

  test('ctx.signal exists (never aborted) when the caller passed none', async () => {
    let aborted: boolean | undefined;
    const app = pipeline(scriptedExecutor(['x'])).use((ctx, next) => {
      aborted = ctx.signal.aborted;
      return next();
    });
    await app.generate(BASE_REQUEST);
    assert.equal(aborted, false);
  });

  test('ctx.state is one bag per call, fresh for the next call', async () => {
    const bags: object[] = [];
    const app = pipeline(scriptedExecutor(['x', 'y'])).use(
      (ctx, next) => {
        bags.push(ctx.state);
        return next();
      },
      (ctx, next) => {
        bags.push(ctx.state);
        return next();
      },
    );
    await app.generate(BASE_REQUEST);
    await app.generate(BASE_REQUEST);
    assert.equal(bags[0], bags[1]);
    assert.notEqual(bags[1], bags[2]);
  });

  test('ctx.run is undefined outside an agent loop', async () => {
    let run: unknown = 'unset';
    const app = pipeline(scriptedExecutor(['x'])).use((ctx, next) => {
      run = ctx.run;
      return next();
    });
    await app.generate(BASE_REQUEST);
    assert.equal(run, undefined);
  });

  test('call ids are unique per call', async () => {
    const ids: string[] = [];
    const app = pipeline(scriptedExecutor(['x', 'y'])).use((ctx, next) => {
      ids.push(ctx.id);
      return next();
    });
    await app.generate(BASE_REQUEST);
    await app.generate(BASE_REQUEST);
    assert.equal(new Set(ids).size, 2);
  });
});

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${String(key)}` : String(key);
  return out;
}
