import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  AgentError,
  type HookName,
  type Middleware,
  PluginError,
  PluginManager,
  type PluginOptions,
  PolicyViolationError,
  block,
  defineHook,
  defineMiddleware,
  definePlugin,
  fireHook,
  pipeline,
  runAgent,
  tool,
} from 'modelware';
import { fallback, plugins, runPlugins, transformContext } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { USER, add, deferred, summary } from '../fixtures/agent.js';
import { logLayer } from '../fixtures/core.js';
import { managerWithEvents } from '../fixtures/plugins.js';

const REQUEST = { model: 'm', messages: [USER] } as const;

/** A plugin whose handlers only log `<hook>` (or `<name>:<hook>`). */
function logger(log: string[], hooks: readonly HookName[], name = 'logger', extra: Partial<PluginOptions> = {}) {
  const handlers = Object.fromEntries(
    hooks.map((h) => [h, () => void log.push(name === 'logger' ? h : `${name}:${h}`)]),
  );
  return definePlugin({ name, ...extra, hooks: handlers });
}

function executorLogging(log: string[], answers: unknown[] = ['hello']) {
  return scriptedExecutor(
    answers.map((a) => () => {
      log.push('executor');
      return a as string;
    }),
  );
}

describe('call hooks', () => {
  test('fire where the layer sits in the onion, in a fixed order (exact log)', async () => {
    const log: string[] = [];
    const manager = new PluginManager();
    manager.register(
      logger(log, ['llm_output', 'llm_input', 'transform_context', 'model_resolve', 'validation_check']),
    );
    const app = pipeline(executorLogging(log)).use(logLayer('a', log), plugins(manager), logLayer('b', log));
    await app.generate(REQUEST);
    assert.deepEqual(log, [
      'a:in',
      'model_resolve',
      'transform_context',
      'llm_input',
      'b:in',
      'executor',
      'b:out',
      'validation_check',
      'llm_output',
      'a:out',
    ]);
  });

  test('model_resolve routes the call; layers inside see the new model, ctx.model keeps the requested one', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({ name: 'router', hooks: { model_resolve: (p) => void (p.model = `${p.requested}-mini`) } }),
      ],
    });
    const seen: string[] = [];
    const model = scriptedExecutor(['ok']);
    const inner = defineMiddleware({
      name: 'inner',
      call: (ctx, next) => {
        seen.push(`${ctx.model.requested}->${ctx.request.model}`);
        return next();
      },
    });
    await pipeline(model).use(plugins(manager), inner).generate(REQUEST);
    assert.deepEqual(seen, ['m->m-mini']);
    assert.equal(model.calls[0]?.request.model, 'm-mini');
  });

  test('llm_input changes chain and reach the executor; the caller request is untouched', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'a',
          hooks: { llm_input: (p) => void p.request.messages.push({ role: 'user', content: 'a' }) },
        }),
        definePlugin({
          name: 'b',
          hooks: {
            llm_input: (p, ctx) => {
              p.request.messages.push({ role: 'user', content: `b saw ${ctx.original.request.messages.length}` });
              p.request.options = { temperature: 0 };
            },
          },
        }),
      ],
    });
    const model = scriptedExecutor(['ok']);
    await pipeline(model).use(plugins(manager)).generate(REQUEST);
    assert.deepEqual(
      model.calls[0]?.request.messages.map((m) => m.content),
      ['What is 1 + 2?', 'a', 'b saw 2'],
    );
    assert.deepEqual(model.calls[0]?.request.options, { temperature: 0 });
    assert.equal(REQUEST.messages.length, 1);
  });

  test('llm_input refuses a change of request.model with a PluginError naming the field', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'sneaky',
          hooks: { llm_input: (p) => void ((p.request as { model: string }).model = 'x') },
        }),
      ],
    });
    const model = scriptedExecutor(['ok']);
    await assert.rejects(pipeline(model).use(plugins(manager)).generate(REQUEST), (e: unknown) => {
      assert.ok(PluginError.isInstance(e));
      assert.deepEqual([e.plugin, e.hook, e.field], ['sneaky', 'llm_input', 'request.model']);
      return true;
    });
    assert.equal(model.calls.length, 0);
  });

  test('a block stops the call before the executor with PolicyViolationError naming plugin and hook', async () => {
    const manager = new PluginManager({
      plugins: [definePlugin({ name: 'policy', hooks: { llm_input: () => block('banned', 'POLICY_1', { rule: 7 }) } })],
    });
    const model = scriptedExecutor(['ok']);
    await assert.rejects(pipeline(model).use(plugins(manager)).generate(REQUEST), (e: unknown) => {
      assert.ok(PolicyViolationError.isInstance(e));
      assert.deepEqual(e.violation, {
        reason: 'banned',
        code: 'POLICY_1',
        details: { rule: 7 },
        plugin: 'policy',
        hook: 'llm_input',
      });
      assert.match(e.message, /plugin `policy` at hook `llm_input` blocked: banned \(POLICY_1\)/);
      return true;
    });
    assert.equal(model.calls.length, 0);
  });

  test('transform_context plugins chain with each other and with the app’s own transformContext, in use() order', async () => {
    const seen: string[] = [];
    const tag = (name: string): PluginOptions => ({
      name,
      hooks: {
        transform_context: (p, ctx) => {
          seen.push(`${name}:${ctx.original.messages.length}`);
          p.messages.push({ role: 'user', content: name });
        },
      },
    });
    const manager = new PluginManager({ plugins: [definePlugin(tag('p1')), definePlugin(tag('p2'))] });
    const model = scriptedExecutor(['ok']);
    const app = pipeline(model).use(
      transformContext(function own(draft) {
        draft.push({ role: 'user', content: 'own' });
      }),
      plugins(manager),
    );
    await app.generate(REQUEST);
    assert.deepEqual(seen, ['p1:2', 'p2:3']);
    assert.deepEqual(
      model.calls[0]?.request.messages.map((m) => m.content),
      ['What is 1 + 2?', 'own', 'p1', 'p2'],
    );
  });

  test('llm_output sees the model actually used after a fallback, inside and outside it (Koog)', async () => {
    const seen: string[] = [];
    const watch = (where: string) =>
      definePlugin({
        name: where,
        hooks: {
          llm_output: (p, ctx) =>
            void seen.push(`${where}:${ctx.original.model.requested}->${p.model.resolved}:${p.response.model}`),
        },
      });
    const model = scriptedExecutor([Object.assign(new Error('503'), { retryable: true }), 'ok']);
    const app = pipeline(model).use(
      plugins(new PluginManager({ plugins: [watch('outside')] })),
      fallback({ models: ['backup'] }),
      plugins(new PluginManager({ plugins: [watch('inside')] })),
    );
    await app.generate(REQUEST);
    assert.deepEqual(seen, ['inside:m->backup:backup', 'outside:m->backup:backup']);
  });

  test('llm_output may rewrite the response', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({ name: 'shout', hooks: { llm_output: (p) => void (p.response.message.content = 'HELLO') } }),
      ],
    });
    const response = await pipeline(scriptedExecutor(['hello']))
      .use(plugins(manager))
      .generate(REQUEST);
    assert.equal(response.message.content, 'HELLO');
  });

  test('llm_error sees the failure and may recover with a response; otherwise the error stands', async () => {
    const seen: string[] = [];
    const recover = definePlugin({
      name: 'recover',
      hooks: {
        llm_error: (p, ctx) => {
          seen.push((ctx.original.error as Error).message);
          if ((ctx.original.error as Error).message === 'soft')
            p.response = { message: { role: 'assistant', content: 'fallback answer' }, finishReason: 'stop' };
        },
      },
    });
    const manager = new PluginManager({ plugins: [recover] });
    const app = pipeline(scriptedExecutor([new Error('soft'), new Error('hard')])).use(plugins(manager));
    assert.equal((await app.generate(REQUEST)).message.content, 'fallback answer');
    await assert.rejects(app.generate(REQUEST), /hard/);
    assert.deepEqual(seen, ['soft', 'hard']);
  });

  test('validation_check failures trigger repair, which re-runs the layers inside with the repaired request', async () => {
    const log: string[] = [];
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'json-only',
          hooks: {
            validation_check: (p, ctx) => {
              const text = String(ctx.original.response.message.content);
              if (!text.startsWith('{')) p.failures.push({ reason: 'not JSON', code: 'JSON_001' });
            },
          },
        }),
        definePlugin({
          name: 'fixer',
          hooks: {
            repair: (p) =>
              void p.request.messages.push({ role: 'user', content: `answer in JSON (attempt ${p.attempt})` }),
          },
        }),
      ],
    });
    const model = scriptedExecutor(['prose', '{"ok":true}']);
    const app = pipeline(model).use(plugins(manager), logLayer('inner', log));
    const response = await app.generate(REQUEST);
    assert.equal(response.message.content, '{"ok":true}');
    assert.deepEqual(log, ['inner:in', 'inner:out', 'inner:in', 'inner:out']);
    assert.deepEqual(
      model.calls.map((c) => c.request.messages.map((m) => m.content)),
      [['What is 1 + 2?'], ['What is 1 + 2?', 'answer in JSON (attempt 1)']],
    );
  });

  test('when repairs run out, the call fails with a PolicyViolationError carrying the failures', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'never',
          hooks: { validation_check: (p) => void p.failures.push({ reason: 'nope', code: 'V_1' }) },
        }),
        definePlugin({
          name: 'fixer',
          hooks: { repair: (p) => void p.request.messages.push({ role: 'user', content: 'again' }) },
        }),
      ],
    });
    const model = scriptedExecutor(['a', 'b', 'c']);
    await assert.rejects(
      pipeline(model)
        .use(plugins(manager, { maxRepairs: 2 }))
        .generate(REQUEST),
      (e: unknown) => {
        assert.ok(PolicyViolationError.isInstance(e));
        assert.equal(e.violation.code, 'V_1');
        assert.equal(e.violation.hook, 'validation_check');
        assert.match(e.violation.reason, /after 2 repair\(s\): nope/);
        return true;
      },
    );
    assert.equal(model.calls.length, 3);
  });

  test('with maxRepairs: 0 a validation failure fails the call at once; repair handlers are not called', async () => {
    const log: string[] = [];
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'never',
          hooks: { validation_check: (p) => void p.failures.push({ reason: 'nope', code: 'V_1' }) },
        }),
        definePlugin({ name: 'fixer', hooks: { repair: () => void log.push('repair') } }),
      ],
    });
    const model = scriptedExecutor(['a', 'b']);
    await assert.rejects(
      pipeline(model)
        .use(plugins(manager, { maxRepairs: 0 }))
        .generate(REQUEST),
      (e: unknown) => PolicyViolationError.isInstance(e) && e.violation.code === 'V_1',
    );
    assert.deepEqual([log, model.calls.length], [[], 1]);
  });

  test('the caller’s signal aborts a running handler, and the call rejects with its reason', {
    timeout: 5_000,
  }, async () => {
    const controller = new AbortController();
    let handlerSignal: AbortSignal | undefined;
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'slow',
          timeoutMs: 0,
          hooks: {
            llm_input: (_p, ctx) => {
              handlerSignal = ctx.signal;
              controller.abort(new Error('caller gave up'));
              return new Promise<void>(() => {});
            },
          },
        }),
      ],
    });
    const model = scriptedExecutor(['ok']);
    const call = pipeline(model).use(plugins(manager)).generate(REQUEST, { signal: controller.signal });
    await assert.rejects(call, /caller gave up/);
    assert.equal(handlerSignal?.aborted, true);
    assert.equal(model.calls.length, 0);
  });

  test('plugins() validates its options', () => {
    assert.throws(() => plugins({} as never), /plugins\(\): expected a PluginManager/);
    assert.throws(
      () => plugins(new PluginManager(), { maxRepairs: -1 }),
      /`maxRepairs` to be a non-negative integer, got number `-1`/,
    );
  });
});

describe('stream mode', () => {
  test('stream_chunk rewrites or drops parts; llm_output sees the assembled response', async () => {
    const log: string[] = [];
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'upper',
          hooks: {
            stream_chunk: (p) => {
              if (p.part?.type !== 'text-delta') return;
              if (p.part.text.includes('drop')) p.part = null;
              else p.part.text = p.part.text.toUpperCase();
            },
          },
        }),
        definePlugin({
          name: 'out',
          hooks: { llm_output: (_p, ctx) => void log.push(`output:${String(ctx.original.response.message.content)}`) },
        }),
      ],
    });
    const model = scriptedExecutor(['hello, drop this'], { chunkSize: 6 });
    const stream = pipeline(model).use(plugins(manager)).stream(REQUEST);
    for await (const part of stream) if (part.type === 'text-delta') log.push(part.text);
    assert.deepEqual(log, ['HELLO,', 'THIS', 'output:HELLO,THIS']);
  });

  test('llm_output is read-only in stream mode: the response was already sent', async () => {
    const manager = new PluginManager({
      plugins: [definePlugin({ name: 'late', hooks: { llm_output: (p) => void (p.response.finishReason = 'other') } })],
    });
    const stream = pipeline(scriptedExecutor(['hi']))
      .use(plugins(manager))
      .stream(REQUEST);
    await assert.rejects(stream.text(), (e: unknown) => {
      assert.ok(PluginError.isInstance(e));
      assert.equal(e.field, 'response.finishReason');
      assert.match(e.message, /already streamed/);
      return true;
    });
  });

  test('a block at stream_chunk stops the stream with a PolicyViolationError', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'guard',
          hooks: { stream_chunk: (p) => (p.index === 1 ? block('leak', 'STREAM_1') : undefined) },
        }),
      ],
    });
    const parts: string[] = [];
    const stream = pipeline(scriptedExecutor(['abcdefgh'], { chunkSize: 2 }))
      .use(plugins(manager))
      .stream(REQUEST);
    await assert.rejects(
      async () => {
        for await (const part of stream) if (part.type === 'text-delta') parts.push(part.text);
      },
      (e: unknown) => PolicyViolationError.isInstance(e) && e.violation.hook === 'stream_chunk',
    );
    assert.deepEqual(parts, ['ab']);
  });
});

describe('zero cost', () => {
  test('a hook with no handlers is never dispatched and builds no payload', async () => {
    const manager = new PluginManager({ plugins: [logger([], ['llm_output'])] });
    const dispatched: string[] = [];
    const original = manager.dispatch.bind(manager);
    manager.dispatch = ((hook: { name: string } | string, ...rest: never[]) => {
      dispatched.push(typeof hook === 'string' ? hook : hook.name);
      return (original as (...args: unknown[]) => unknown)(hook, ...rest);
    }) as typeof manager.dispatch;
    await pipeline(scriptedExecutor(['ok']))
      .use(plugins(manager))
      .generate(REQUEST);
    assert.deepEqual(dispatched, ['llm_output']);
  });
});

describe('custom hooks', () => {
  const cacheHit = defineHook({
    name: 'test_cache_hit',
    payload: z.object({ key: z.string(), answer: z.string() }),
    writable: ['answer'],
  });
  const cache = (built: string[]): Middleware =>
    defineMiddleware({
      name: 'cache',
      async call(ctx, next) {
        const out = await fireHook(ctx, cacheHit, () => {
          built.push('payload');
          return { key: 'k', answer: 'cached' };
        });
        if (out) ctx.response = { message: { role: 'assistant', content: out.answer }, finishReason: 'stop' };
        else await next();
      },
    });

  test('third-party middleware fires them through the plugins layer of the same call', async () => {
    const built: string[] = [];
    const hooks = { test_cache_hit: (p: { answer: string }) => void (p.answer += ' (checked)') };
    const manager = new PluginManager({ plugins: [definePlugin({ name: 'p', hooks: hooks as never })] });
    const response = await pipeline(scriptedExecutor(['live']))
      .use(plugins(manager), cache(built))
      .generate(REQUEST);
    assert.equal(response.message.content, 'cached (checked)');
    assert.deepEqual(built, ['payload']);
  });

  test('without a handler (or without a plugins layer) fireHook builds nothing and returns undefined', async () => {
    const built: string[] = [];
    const response = await pipeline(scriptedExecutor(['live', 'live']))
      .use(plugins(new PluginManager()), cache(built))
      .generate(REQUEST);
    await pipeline(scriptedExecutor(['live']))
      .use(cache(built))
      .generate(REQUEST);
    assert.equal(response.message.content, 'live');
    assert.deepEqual(built, []);
  });
});

describe('agent hooks', () => {
  const twoTurns = () => scriptedExecutor([{ toolCalls: [{ id: 't1', name: 'add', input: { a: 1, b: 2 } }] }, 'three']);

  test('run, turn, call and tool hooks fire in order around the loop (exact log)', async () => {
    const log: string[] = [];
    const manager = new PluginManager({
      plugins: [
        logger(log, [
          'run_start',
          'run_end',
          'turn_start',
          'turn_end',
          'llm_input',
          'llm_output',
          'tool_pre_invoke',
          'tool_post_invoke',
          'tool_result_persist',
        ]),
      ],
    });
    await runAgent({
      model: pipeline(twoTurns()).use(plugins(manager)),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
    });
    assert.deepEqual(log, [
      'run_start',
      'turn_start',
      'llm_input',
      'llm_output',
      'tool_pre_invoke',
      'tool_post_invoke',
      'tool_result_persist',
      'turn_end',
      'turn_start',
      'llm_input',
      'llm_output',
      'turn_end',
      'run_end',
    ]);
  });

  test('tool hooks rewrite arguments, output and the persisted message', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({ name: 'double', hooks: { tool_pre_invoke: (p) => void ((p.input as { a: number }).a *= 10) } }),
        definePlugin({ name: 'wrap', hooks: { tool_post_invoke: (p) => void (p.output = { sum: p.output }) } }),
        definePlugin({ name: 'sign', hooks: { tool_result_persist: (p) => void (p.message.content += ' [checked]') } }),
      ],
    });
    const result = await runAgent({
      model: pipeline(twoTurns()).use(plugins(manager)),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
    });
    assert.deepEqual(summary(result.transcript), [
      'user:What is 1 + 2?',
      'assistant:call(t1)',
      'tool(t1):{"sum":12} [checked]',
      'assistant:three',
    ]);
  });

  test('a block at tool_pre_invoke denies the call: the model reads why, the tool never runs', async () => {
    let ran = false;
    const watched = tool({ name: 'shell', input: z.object({ cmd: z.string() }), execute: () => void (ran = true) });
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'no-shell',
          when: { tools: ['shell'] },
          hooks: { tool_pre_invoke: () => block('shell is off', 'TOOL_001') },
        }),
      ],
    });
    const model = scriptedExecutor([{ toolCalls: [{ id: 's1', name: 'shell', input: { cmd: 'ls' } }] }, 'ok']);
    const result = await runAgent({
      model: pipeline(model).use(plugins(manager)),
      modelId: 'test-model',
      messages: [USER],
      tools: [watched, add],
    });
    assert.equal(ran, false);
    assert.deepEqual(summary(result.transcript).slice(2, 3), ['tool(s1):Blocked by policy (TOOL_001): shell is off']);
    assert.equal((result.transcript[2] as { isError?: boolean }).isError, true);
    const strict = runAgent({
      model: pipeline(scriptedExecutor([{ toolCalls: [{ id: 's1', name: 'shell', input: { cmd: 'ls' } }] }])).use(
        plugins(manager),
      ),
      modelId: 'test-model',
      messages: [USER],
      tools: [watched],
      throwOnToolError: true,
    });
    await assert.rejects(
      strict,
      (e: unknown) =>
        AgentError.isInstance(e) &&
        e.reason === 'tool-call-failed' &&
        PolicyViolationError.isInstance(e.cause) &&
        e.cause.violation.plugin === 'no-shell',
    );
  });

  test('run_start may rewrite the initial messages; run_end sees the result', async () => {
    const seen: string[] = [];
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'system',
          hooks: {
            run_start: (p) => void p.messages.unshift({ role: 'system', content: 'be brief' }),
            run_end: (_p, ctx) =>
              void seen.push(`${ctx.original.turns} turns, ${ctx.original.messages.length} messages`),
          },
        }),
      ],
    });
    const model = twoTurns();
    await runAgent({
      model: pipeline(model).use(plugins(manager)),
      modelId: 'test-model',
      messages: [USER],
      tools: [add],
    });
    assert.deepEqual(summary(model.calls[0]?.request.messages ?? []), ['system:be brief', 'user:What is 1 + 2?']);
    assert.deepEqual(seen, ['2 turns, 5 messages']);
  });

  test('two runs in flight with different run plugins never see each other’s plugins', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const manager = new PluginManager({ plugins: [logger(seen, ['llm_input'], 'global')] });
    const mark = (name: string) =>
      definePlugin({
        name,
        hooks: { llm_input: (_p, ctx) => void seen.push(`${name}:${(ctx.original.metadata as { id: string }).id}`) },
      });
    const model = scriptedExecutor([
      async () => {
        await gate.promise;
        return 'a done';
      },
      'b done',
    ]);
    const app = pipeline(model).use(plugins(manager));
    const runA = runAgent({
      model: app,
      modelId: 'test-model',
      messages: [USER],
      metadata: { id: 'A' },
      middleware: [runPlugins(mark('only-a'))],
    });
    // B starts and finishes while A's model call is still waiting.
    await new Promise((r) => setImmediate(r));
    const b = await runAgent({
      model: app,
      modelId: 'test-model',
      messages: [USER],
      metadata: { id: 'B' },
      middleware: [runPlugins(mark('only-b'))],
    });
    gate.resolve();
    const a = await runA;
    assert.deepEqual([a.text, b.text], ['a done', 'b done']);
    assert.deepEqual(seen, ['global:llm_input', 'only-a:A', 'global:llm_input', 'only-b:B']);
    assert.deepEqual(manager.plugins, ['global']);
  });

  test('runAgent({ plugins }) scopes plugins to that run, like runPlugins()', async () => {
    const seen: string[] = [];
    const gate = deferred();
    const manager = new PluginManager({ plugins: [logger(seen, ['llm_input'], 'global')] });
    const mark = (name: string) => definePlugin({ name, hooks: { llm_input: () => void seen.push(name) } });
    const model = scriptedExecutor([
      async () => {
        await gate.promise;
        return 'a done';
      },
      'b done',
    ]);
    const app = pipeline(model).use(plugins(manager));
    const runA = runAgent({ model: app, modelId: 'test-model', messages: [USER], plugins: [mark('only-a')] });
    await new Promise((r) => setImmediate(r));
    const b = await runAgent({ model: app, modelId: 'test-model', messages: [USER], plugins: [mark('only-b')] });
    gate.resolve();
    const a = await runA;
    assert.deepEqual([a.text, b.text], ['a done', 'b done']);
    assert.deepEqual(seen, ['global:llm_input', 'only-a', 'global:llm_input', 'only-b']);
    assert.deepEqual(manager.plugins, ['global']);
  });

  test('run plugins are shut down when the run ends, even when it fails', async () => {
    const { manager } = managerWithEvents();
    const log: string[] = [];
    const p = definePlugin({
      name: 'temp',
      shutdown: () => void log.push('shutdown'),
      hooks: { llm_input: () => void log.push('input') },
    });
    const app = pipeline(scriptedExecutor([new Error('down')])).use(plugins(manager));
    await assert.rejects(
      runAgent({ modelId: 'test-model', model: app, messages: [USER], middleware: [runPlugins(p)] }),
      (e: unknown) => AgentError.isInstance(e) && (e.cause as Error).message === 'down',
    );
    assert.deepEqual(log, ['input', 'shutdown']);
  });

  test('run plugins without a plugins() layer in the model warn that they never ran', async () => {
    const warnings: string[] = [];
    const listen = (w: Error) => void warnings.push(w.message);
    process.on('warning', listen);
    try {
      const p = definePlugin({ name: 'lost', hooks: { llm_input: () => undefined } });
      await runAgent({
        model: scriptedExecutor(['ok']),
        modelId: 'test-model',
        messages: [USER],
        middleware: [runPlugins(p)],
      });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', listen);
    }
    assert.equal(warnings.filter((w) => w.includes('runPlugins(): the run')).length, 1);
  });

  test('a block at run level rejects the run', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'hours',
          hooks: { turn_start: (p) => (p.turn > 1 ? block('one turn only', 'TURN_1') : undefined) },
        }),
      ],
    });
    await assert.rejects(
      runAgent({
        modelId: 'test-model',
        model: pipeline(twoTurns()).use(plugins(manager)),
        messages: [USER],
        tools: [add],
      }),
      (e: unknown) =>
        AgentError.isInstance(e) && PolicyViolationError.isInstance(e.cause) && e.cause.violation.hook === 'turn_start',
    );
  });
});

describe('agent hooks: cancellation', () => {
  test('aborting a run aborts the signal of a tool hook handler it is waiting on; run_end still fires', async () => {
    const log: string[] = [];
    const waiting = deferred();
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'slow',
          // No timeout of its own: only the run's signal can end the wait.
          timeoutMs: 0,
          hooks: {
            tool_pre_invoke: (_p, ctx) =>
              new Promise<undefined>((resolve) => {
                ctx.signal.addEventListener('abort', () => {
                  log.push('handler aborted');
                  resolve(undefined);
                });
                waiting.resolve();
              }),
            run_end: (p) => void log.push(`run_end error=${p.error !== undefined}`),
          },
        }),
      ],
    });
    const model = scriptedExecutor([{ toolCalls: [{ id: 'a', name: 'add', input: { a: 1, b: 2 } }] }, 'done']);
    const controller = new AbortController();
    const run = runAgent({
      model: pipeline(model).use(plugins(manager)),
      modelId: 'm',
      messages: [USER],
      tools: [add],
      signal: controller.signal,
    });
    await waiting.promise;
    controller.abort(new Error('stop'));
    await assert.rejects(run, (e: unknown) => AgentError.isInstance(e) && e.reason === 'aborted');
    assert.deepEqual(log, ['handler aborted', 'run_end error=true']);
  });
});

describe('plugins(): stream_chunk wrapper', () => {
  test('an abandoned stream (an outer layer answers instead) still closes the executor stream and inner taps', async () => {
    const model = scriptedExecutor(['hello world, this is long'], { chunkSize: 3 });
    let onClose = 0;
    const p = definePlugin({ name: 'p', hooks: { stream_chunk() {} } });
    const app = pipeline(model)
      .use(async function guard(ctx, next) {
        await next();
        ctx.response = { message: { role: 'assistant', content: 'refused' }, finishReason: 'content-filter' };
      })
      .use(plugins(new PluginManager({ plugins: [p] }), { maxRepairs: 0 }))
      .use(async function tap(ctx, next) {
        await next();
        await ctx.tapStream({ onClose: () => void onClose++ });
      });
    const text = await app.stream({ model: 'm', messages: [USER] }).text();
    assert.equal(text, 'refused');
    assert.equal(model.openStreams, 0);
    assert.equal(onClose, 1);
  });
});

describe('plugins(): llm_error', () => {
  test('a handler recovers a failure by answering', async () => {
    const p = definePlugin({
      name: 'rescuer',
      hooks: {
        llm_error(payload) {
          payload.response = { message: { role: 'assistant', content: 'rescued' }, finishReason: 'stop' };
        },
      },
    });
    const app = pipeline(scriptedExecutor([new Error('boom')])).use(
      plugins(new PluginManager({ plugins: [p] }), { maxRepairs: 0 }),
    );
    const response = await app.generate({ model: 'm', messages: [USER] });
    assert.equal(response.message.content, 'rescued');
  });
});

describe('plugins(): fire_and_forget', () => {
  test('a background handler sees the request as sent, even after the caller grew and edited its own history', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'bg',
          mode: 'fire_and_forget',
          hooks: {
            llm_input: async (payload) => {
              await gate.promise;
              seen.push(payload.request.messages.map((m) => `${m.role}:${String(m.content)}`).join(' | '));
            },
          },
        }),
      ],
    });
    // No layer changes the request: the payload holds the caller's own array and message objects.
    const app = pipeline(scriptedExecutor(['answer'])).use(plugins(manager));
    const history: { role: 'user' | 'assistant'; content: string }[] = [{ role: 'user', content: 'first question' }];
    const response = await app.generate({ model: 'm', messages: history });
    history.push({ role: 'assistant', content: String(response.message.content) });
    history.push({ role: 'user', content: 'next question' });
    (history[0] as { content: string }).content = 'edited later';
    gate.resolve();
    await manager.drain();
    assert.deepEqual(seen, ['user:first question']);
  });
});
