// The public primitives a plugin dispatcher is written with (plugins() is one): hookPoints,
// approvalRequestOf, and PluginManager's openRunScope, runScopeOf and attach. Everything here
// imports only what `modelware` exports, as a third party would.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PluginManager,
  approvalRequestOf,
  PolicyViolationError,
  type PluginScope,
  block,
  defineMiddleware,
  definePlugin,
  fireHook,
  hookPoints,
  pipeline,
  requireApproval,
  runAgent,
} from 'modelware';
import { toolContent, toolMessage } from 'modelware/kit';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { USER, add } from '../../fixtures/agent.js';
import { PAYLOAD, probe } from '../../fixtures/plugins.js';

const TOOL_PAYLOAD = { toolCallId: 't1', toolName: 'deploy', input: { service: 'api' }, metadata: {} };

describe('hookPoints', () => {
  test('holds every built-in point, and dispatching one applies a handler’s writable change', async () => {
    assert.deepEqual(Object.keys(hookPoints).sort(), [
      'llm_error',
      'llm_input',
      'llm_output',
      'model_resolve',
      'repair',
      'run_end',
      'run_start',
      'stream_chunk',
      'tool_post_invoke',
      'tool_pre_invoke',
      'tool_result_persist',
      'transform_context',
      'turn_end',
      'turn_start',
      'validation_check',
    ]);
    for (const [name, point] of Object.entries(hookPoints)) assert.equal(point.name, name);
    assert.ok(Object.isFrozen(hookPoints));
    const manager = new PluginManager({
      plugins: [definePlugin({ name: 'edit', hooks: { tool_pre_invoke: (p) => void (p.input = { service: 'web' }) } })],
    });
    const out = await manager.dispatch(hookPoints.tool_pre_invoke, TOOL_PAYLOAD);
    assert.deepEqual(out.input, { service: 'web' });
    assert.deepEqual(TOOL_PAYLOAD.input, { service: 'api' });
  });
});

describe('approvalRequestOf', () => {
  test('returns what requireApproval() asked for, with the plugin that asked', async () => {
    const manager = new PluginManager({
      plugins: [
        definePlugin({
          name: 'approvals',
          hooks: { tool_pre_invoke: () => requireApproval('deploys need a human', { tier: 2 }) },
        }),
      ],
    });
    const error = await manager.dispatch(hookPoints.tool_pre_invoke, TOOL_PAYLOAD).catch((e: unknown) => e);
    assert.deepEqual(approvalRequestOf(error), {
      reason: 'deploys need a human',
      details: { tier: 2 },
      plugin: 'approvals',
    });
  });

  test('is undefined for a block, a plain error, or a look-alike object', async () => {
    const manager = new PluginManager({
      plugins: [definePlugin({ name: 'deny', hooks: { tool_pre_invoke: () => block('no', 'NO') } })],
    });
    const blocked = await manager.dispatch(hookPoints.tool_pre_invoke, TOOL_PAYLOAD).catch((e: unknown) => e);
    assert.ok(PolicyViolationError.isInstance(blocked));
    assert.equal(approvalRequestOf(blocked), undefined);
    assert.equal(approvalRequestOf(new Error('x')), undefined);
    assert.equal(approvalRequestOf({ request: { reason: 'forged', plugin: 'p' } }), undefined);
    assert.equal(approvalRequestOf(undefined), undefined);
    assert.equal(approvalRequestOf(null), undefined);
  });
});

/** A run layer written the way plugins() opens a run's plugins; logs what it sees. */
function runOpener(manager: PluginManager, log: string[], name = 'opener') {
  return defineMiddleware({
    name,
    async run(ctx, next) {
      const scope = manager.openRunScope(ctx.run);
      log.push(`${name}: opened=${scope !== undefined} found=${manager.runScopeOf(ctx.run) !== undefined}`);
      try {
        await next();
      } finally {
        await scope?.close();
        log.push(`${name}: closed, found=${manager.runScopeOf(ctx.run) !== undefined}`);
      }
    },
    async call(ctx, next) {
      const scope = manager.runScopeOf(ctx.run);
      const payload = { callId: ctx.id, mode: ctx.mode, metadata: {}, model: ctx.model, request: ctx.request };
      if (manager.wants('llm_input', scope)) await manager.dispatch(hookPoints.llm_input, payload, { scope });
      return next();
    },
  });
}

describe('openRunScope and runScopeOf', () => {
  test('open a run’s own plugins once, for that run’s calls, and shut them down when closed', async () => {
    const log: string[] = [];
    const manager = new PluginManager();
    const mine = definePlugin({
      name: 'mine',
      hooks: { llm_input: () => void log.push('mine: llm_input') },
      shutdown: () => void log.push('mine: shutdown'),
    });
    const app = pipeline(scriptedExecutor(['one', 'two'])).use(
      runOpener(manager, log, 'a'),
      runOpener(manager, log, 'b'),
    );
    await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [mine] });
    assert.deepEqual(log, [
      'a: opened=true found=true',
      // The second layer finds the scope the first opened, and does not open (or close) it again.
      'b: opened=false found=true',
      'mine: llm_input',
      'mine: llm_input',
      'b: closed, found=true',
      'mine: shutdown',
      'a: closed, found=false',
    ]);
    // Another run without plugins sees none of them.
    log.length = 0;
    await runAgent({
      model: pipeline(scriptedExecutor(['x'])).use(runOpener(manager, log)),
      modelId: 'm',
      messages: [USER],
    });
    assert.deepEqual(log, ['opener: opened=false found=false', 'opener: closed, found=false']);
  });

  test('a run without its own plugins gets no scope, and runScopeOf(undefined) is undefined', async () => {
    const manager = new PluginManager();
    assert.equal(manager.runScopeOf(undefined), undefined);
    const seen: (PluginScope | undefined)[] = [];
    const app = pipeline(scriptedExecutor(['ok'])).use(
      defineMiddleware({
        name: 'probe',
        async run(ctx, next) {
          seen.push(manager.openRunScope(ctx.run), manager.runScopeOf(ctx.run));
          await next();
        },
      }),
    );
    await runAgent({ model: app, modelId: 'm', messages: [USER] });
    assert.deepEqual(seen, [undefined, undefined]);
  });

  test('with plugins(manager) inside, the run’s plugins still reach the built-in’s hooks', async () => {
    const log: string[] = [];
    const manager = new PluginManager();
    const mine = definePlugin({ name: 'mine', hooks: { run_end: (p) => void log.push(`run_end ${p.stopReason}`) } });
    // Our layer opens the run scope; plugins() sits inside and dispatches run_end with it.
    const app = pipeline(scriptedExecutor(['ok'])).use(runOpener(manager, log), plugins(manager));
    await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [mine] });
    assert.deepEqual(log, ['opener: opened=true found=true', 'run_end no-tool-calls', 'opener: closed, found=false']);
  });
});

describe('a run’s plugins join one manager', () => {
  test('with two plugins() layers of two managers, only the outer one (which opened them) dispatches them', async () => {
    const log: string[] = [];
    const mine = definePlugin({
      name: 'mine',
      hooks: {
        llm_input: () => void log.push('mine: llm_input'),
        run_end: () => void log.push('mine: run_end'),
      },
      shutdown: () => void log.push('mine: shutdown'),
    });
    const outer = new PluginManager();
    const inner = new PluginManager();
    const app = pipeline(scriptedExecutor(['ok'])).use(plugins(outer), plugins(inner));
    await runAgent({ model: app, modelId: 'm', messages: [USER], plugins: [mine] });
    assert.deepEqual(log, ['mine: llm_input', 'mine: run_end', 'mine: shutdown']);
  });
});

describe('attach', () => {
  test('makes fireHook in the layers inside dispatch to this manager, with the run scope', async () => {
    const manager = new PluginManager({
      plugins: [definePlugin({ name: 'global', hooks: { test_probe: (p) => void (p.text += '+global') } })],
    });
    const mine = definePlugin({ name: 'mine', hooks: { test_probe: (p) => void (p.text += '+run') } });
    const texts: (string | undefined)[] = [];
    const dispatcher = defineMiddleware({
      name: 'dispatcher',
      async run(ctx, next) {
        const scope = manager.openRunScope(ctx.run);
        try {
          await next();
        } finally {
          await scope?.close();
        }
      },
      call(ctx, next) {
        manager.attach(ctx, manager.runScopeOf(ctx.run));
        return next();
      },
    });
    const inner = defineMiddleware({
      name: 'inner',
      async call(ctx, next) {
        texts.push((await fireHook(ctx, probe, () => PAYLOAD))?.text);
        return next();
      },
    });
    const app = () => pipeline(scriptedExecutor(['ok']), dispatcher, inner);
    await runAgent({ model: app(), modelId: 'm', messages: [USER], plugins: [mine] });
    await app().generate({ model: 'm', messages: [USER] });
    // Without attach, fireHook finds no manager and builds no payload.
    await pipeline(scriptedExecutor(['ok']), inner).generate({ model: 'm', messages: [USER] });
    assert.deepEqual(texts, ['base+global+run', 'base+global', undefined]);
  });
});

describe('fireHook from a tool layer', () => {
  test('reaches the plugins of the plugins() layer around the tool call, run plugins included', async () => {
    const manager = new PluginManager({
      plugins: [definePlugin({ name: 'global', hooks: { test_probe: (p) => void (p.text += '+global') } })],
    });
    const mine = definePlugin({ name: 'mine', hooks: { test_probe: (p) => void (p.text += '+run') } });
    const texts: (string | undefined)[] = [];
    const probeTool = defineMiddleware({
      name: 'probeTool',
      async tool(ctx, next) {
        texts.push((await fireHook(ctx, probe, () => PAYLOAD))?.text);
        return next();
      },
    });
    const script = () => scriptedExecutor([{ toolCalls: [{ id: 'a', name: 'add', input: { a: 1, b: 2 } }] }, 'done']);
    await runAgent({
      model: pipeline(script()).use(plugins(manager), probeTool),
      modelId: 'm',
      messages: [USER],
      tools: [add],
      plugins: [mine],
    });
    // Without a dispatcher around it, nothing is fired and no payload is built.
    await runAgent({ model: pipeline(script()).use(probeTool), modelId: 'm', messages: [USER], tools: [add] });
    assert.deepEqual(texts, ['base+global+run', undefined]);
  });
});

describe('toolMessage and toolContent (modelware/kit)', () => {
  test('build the tool message a result is stored as, and a tool output’s text', () => {
    const call = { toolCallId: 'c1', toolName: 'add' };
    assert.deepEqual(toolMessage(call, { content: '3' }), {
      role: 'tool',
      toolCallId: 'c1',
      toolName: 'add',
      content: '3',
    });
    assert.deepEqual(toolMessage(call, { content: 'no', isError: true }), {
      role: 'tool',
      toolCallId: 'c1',
      toolName: 'add',
      content: 'no',
      isError: true,
    });
    assert.equal(toolContent('text'), 'text');
    assert.equal(toolContent(undefined), '');
    assert.equal(toolContent({ sum: 3 }), '{"sum":3}');
    assert.equal(toolContent(3), '3');
  });
});
