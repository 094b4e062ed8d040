// Adversarial review of 6bc0d9d: plugins() on public dispatch primitives (hookPoints,
// approvalRequestOf, PluginManager#openRunScope/#runScopeOf/#attach). Public API imports only.
// The first describe holds the bugs found (each failed before its fix); the second pins behaviour
// that was attacked and held, so a later change cannot break it unnoticed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  AgentError,
  PluginError,
  PluginManager,
  approvalRequestOf,
  defineMiddleware,
  definePlugin,
  hookPoints,
  pipeline,
  runAgent,
  streamAgent,
  tool,
} from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { USER } from '../fixtures/agent.js';

/** A run plugin that logs the hooks it sees and its shutdown. */
function logger(log: string[], name = 'mine') {
  return definePlugin({
    name,
    hooks: {
      run_start: () => void log.push(`${name}:run_start`),
      llm_input: () => void log.push(`${name}:llm_input`),
      tool_pre_invoke: () => void log.push(`${name}:tool_pre_invoke`),
      run_end: (p) => void log.push(`${name}:run_end ${p.stopReason ?? 'failed'}`),
    },
    shutdown: () => void log.push(`${name}:shutdown`),
  });
}

/** Collects process warnings with `code` until `stop()`. */
function warnings(code: string) {
  const seen: string[] = [];
  const on = (w: Error & { code?: string }) => void (w.code === code && seen.push(w.message));
  process.on('warning', on);
  return { seen, stop: () => void process.off('warning', on) };
}

const echo = tool({ name: 'echo', input: z.object({}), execute: () => 'hi' });
const oneToolCall = () => scriptedExecutor([{ toolCalls: [{ id: 'e1', name: 'echo', input: {} }] }, 'done']);

describe('bugs found', () => {
  test('a run plugin whose shutdown() fails does not replace the error the run failed with', async () => {
    const failing = definePlugin({
      name: 'failing',
      hooks: { llm_input: () => {} },
      shutdown: () => {
        throw new Error('shutdown broke');
      },
    });
    const model = scriptedExecutor([
      () => {
        throw new Error('model broke');
      },
    ]);
    const app = pipeline(model).use(plugins(new PluginManager()));
    const w = warnings('MODELWARE_PLUGIN');
    try {
      const error = await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [failing] }).catch(
        (e: unknown) => e,
      );
      assert.ok(AgentError.isInstance(error));
      // The message says the model call failed: the cause must be what the model threw.
      assert.equal((error.cause as Error).message, 'model broke');
      await new Promise((resolve) => setImmediate(resolve));
      // The shutdown failure is still reported, by the manager.
      assert.equal(w.seen.filter((m) => m.includes('a plugin shutdown() failed')).length, 1);
    } finally {
      w.stop();
    }
  });

  test('openRunScope(undefined) throws a TypeError that says what to pass, not a property read', () => {
    const manager = new PluginManager();
    assert.throws(
      () => manager.openRunScope(undefined as never),
      (error: Error) =>
        error instanceof TypeError &&
        error.message.startsWith('PluginManager.openRunScope(): expected a run') &&
        error.message.includes('runScopeOf'),
    );
  });

  test('openRunScope opens a run’s plugins once: after they were closed, they are not opened again', async () => {
    const log: string[] = [];
    const manager = new PluginManager();
    const early = defineMiddleware({
      name: 'early',
      async run(ctx, next) {
        // Closed before the run goes on (a user's early close): the run's plugins are done.
        await manager.openRunScope(ctx.run)?.close();
        const again = manager.openRunScope(ctx.run);
        log.push(`again=${again !== undefined} found=${manager.runScopeOf(ctx.run) !== undefined}`);
        try {
          await next();
        } finally {
          await again?.close();
        }
      },
    });
    const app = pipeline(scriptedExecutor(['ok'])).use(early, plugins(manager));
    await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [logger(log)] });
    // One shutdown, and the inner plugins() layer does not re-open (and re-init) them either.
    assert.deepEqual(log, ['mine:shutdown', 'again=false found=false']);
  });
  test('a run’s plugins are shut down when the run ends, even if the dispatcher that opened them never closes them', async () => {
    const log: string[] = [];
    const manager = new PluginManager();
    // A newcomer's dispatcher: opens the run's plugins from a call layer and never closes them.
    const leaky = defineMiddleware({
      name: 'leaky',
      async call(ctx, next) {
        if (ctx.run) manager.openRunScope(ctx.run);
        const scope = manager.runScopeOf(ctx.run);
        const payload = { callId: ctx.id, mode: ctx.mode, metadata: {}, model: ctx.model, request: ctx.request };
        await manager.dispatch(hookPoints.llm_input, payload, { scope });
        return next();
      },
    });
    const app = pipeline(scriptedExecutor(['one', 'two'])).use(leaky);
    await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [logger(log)] });
    await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [logger(log, 'next')] });
    assert.deepEqual(log, ['mine:llm_input', 'mine:shutdown', 'next:llm_input', 'next:shutdown']);
  });
  test('the runPlugins() warning tells a dispatcher of your own how to open the run’s plugins', async () => {
    const manager = new PluginManager();
    // Reads the run scope in its call layer, but no run layer ever opened it.
    const forgetful = defineMiddleware({
      name: 'forgetful',
      call(ctx, next) {
        manager.attach(ctx, manager.runScopeOf(ctx.run));
        return next();
      },
    });
    const w = warnings('MODELWARE_PLUGIN');
    try {
      const app = pipeline(scriptedExecutor(['ok'])).use(forgetful);
      await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [logger([])] });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      w.stop();
    }
    assert.equal(w.seen.length, 1);
    assert.match(w.seen[0] as string, /runPlugins\(\): the run's plugins \(1\) never ran/);
    assert.match(w.seen[0] as string, /manager\.openRunScope\(ctx\.run\)/);
  });
  test('an invalid run plugin is reported where the user gave it, not as a runScope() call they never made', async () => {
    const p = definePlugin({ name: 'p', hooks: { llm_input: () => {} } });
    const app = pipeline(scriptedExecutor(['ok'])).use(plugins(new PluginManager()));
    const error = await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [p, p] }).catch(
      (e: unknown) => e,
    );
    assert.ok(AgentError.isInstance(error));
    const message = (error.cause as Error).message;
    assert.ok(message.startsWith('runAgent({ plugins }) / runPlugins(): a plugin named `p`'), message);
  });
  test('approvalRequestOf returns an ApprovalRequest or undefined, never a malformed look-alike', () => {
    const mark = Symbol.for('modelware.plugins.approvalRequired');
    // Another copy of modelware (two versions installed) throws its own class with the same mark.
    class OtherCopyApproval extends Error {
      readonly [mark] = true;
      constructor(readonly request: unknown) {
        super('held');
      }
    }
    assert.deepEqual(approvalRequestOf(new OtherCopyApproval({ reason: 'why', plugin: 'p' })), {
      reason: 'why',
      plugin: 'p',
    });
    for (const request of [
      undefined,
      'why',
      { reason: 42, plugin: 'p' },
      { reason: 'why' },
      { reason: 'why', plugin: '' },
    ])
      assert.equal(approvalRequestOf(new OtherCopyApproval(request)), undefined, JSON.stringify(request));
    const badDetails = { reason: 'why', plugin: 'p', details: 'not an object' };
    assert.equal(approvalRequestOf(new OtherCopyApproval(badDetails)), undefined);
  });
});

describe('attacked and held', () => {
  test('streamAgent: a consumer that stops early still gets run_end and the run plugins’ shutdown', async () => {
    const log: string[] = [];
    const app = pipeline(oneToolCall()).use(plugins(new PluginManager()));
    const events = streamAgent({ model: app, modelId: 'm', messages: [USER], tools: [echo], plugins: [logger(log)] });
    for await (const event of events) if (event.type === 'tool-result') break;
    assert.deepEqual(log, [
      'mine:run_start',
      'mine:llm_input',
      'mine:tool_pre_invoke',
      'mine:run_end failed',
      'mine:shutdown',
    ]);
  });

  test('two concurrent runs handed one state object each dispatch only their own plugins', async () => {
    const log: string[] = [];
    const state = {};
    const app = pipeline(scriptedExecutor(['a', 'b'])).use(plugins(new PluginManager()));
    await Promise.all([
      runAgent({ model: app, modelId: 'm', messages: [USER], state, plugins: [logger(log, 'one')] }),
      runAgent({ model: app, modelId: 'm', messages: [USER], state, plugins: [logger(log, 'two')] }),
    ]);
    for (const name of ['one', 'two']) {
      assert.deepEqual(
        log.filter((l) => l.startsWith(`${name}:`)),
        [`${name}:run_start`, `${name}:llm_input`, `${name}:run_end no-tool-calls`, `${name}:shutdown`],
      );
    }
  });

  test('a runAgent nested in a tool keeps its plugins and the outer run’s apart', async () => {
    const log: string[] = [];
    const model = scriptedExecutor([{ toolCalls: [{ id: 's1', name: 'sub', input: {} }] }, 'inner', 'outer']);
    const app = pipeline(model).use(plugins(new PluginManager()));
    const sub = tool({
      name: 'sub',
      input: z.object({}),
      execute: async () =>
        (await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [logger(log, 'inner')] })).text,
    });
    await runAgent({ model: app, modelId: 'm', messages: [USER], tools: [sub], plugins: [logger(log, 'outer')] });
    assert.deepEqual(log, [
      'outer:run_start',
      'outer:llm_input',
      'outer:tool_pre_invoke',
      'inner:run_start',
      'inner:llm_input',
      'inner:run_end no-tool-calls',
      'inner:shutdown',
      'outer:llm_input',
      'outer:run_end no-tool-calls',
      'outer:shutdown',
    ]);
  });

  test('a resumed run opens the plugins given to the resume, and the approved call reaches them', async () => {
    const log: string[] = [];
    const manager = new PluginManager();
    const deploy = tool({ name: 'deploy', needsApproval: true, input: z.object({}), execute: () => 'deployed' });
    const first = await runAgent({
      model: pipeline(scriptedExecutor([{ toolCalls: [{ id: 'd1', name: 'deploy', input: {} }] }])).use(
        plugins(manager),
      ),
      modelId: 'm',
      messages: [USER],
      tools: [deploy],
      plugins: [logger(log, 'first')],
    });
    assert.ok(first.snapshot);
    await runAgent({
      model: pipeline(scriptedExecutor(['done'])).use(plugins(manager)),
      tools: [deploy],
      plugins: [logger(log, 'second')],
      resume: { snapshot: first.snapshot, decisions: { d1: { type: 'approve' } } },
    });
    assert.deepEqual(log, [
      'first:run_start',
      'first:llm_input',
      'first:run_end interrupted',
      'first:shutdown',
      'second:run_start',
      'second:tool_pre_invoke',
      'second:llm_input',
      'second:run_end no-tool-calls',
      'second:shutdown',
    ]);
  });

  test('approvalRequestOf ignores an error a handler threw with the approval mark (it arrives wrapped)', async () => {
    const forged = Object.assign(new Error('x'), {
      [Symbol.for('modelware.plugins.approvalRequired')]: true,
      request: { reason: 'forged', plugin: 'someone-else' },
    });
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'liar',
          onError: 'fail',
          hooks: {
            tool_pre_invoke: () => {
              throw forged;
            },
          },
        }),
      ],
    });
    const payload = { toolCallId: 't', toolName: 'x', input: {}, metadata: {} };
    const error = await manager.dispatch(hookPoints.tool_pre_invoke, payload).catch((e: unknown) => e);
    assert.ok(PluginError.isInstance(error));
    assert.equal(approvalRequestOf(error), undefined);
  });
});
