// A plugin dispatcher of your own, written on PluginManager's public methods the way plugins() is:
// this one fires only `llm_input` around calls and `tool_pre_invoke` around tool calls, opens the
// run's own plugins, and turns requireApproval() into an interruption.
import {
  PluginManager,
  approvalRequestOf,
  defineMiddleware,
  definePlugin,
  hookPoints,
  pipeline,
  requireApproval,
  runAgent,
  tool,
  type RunSnapshot,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

function inputAndToolHooks(manager: PluginManager) {
  return defineMiddleware({
    name: 'inputAndToolHooks',
    async run(ctx, next) {
      // The plugins given to this run (runAgent({ plugins })), dispatched with the manager's.
      const scope = manager.openRunScope(ctx.run);
      try {
        await next();
      } finally {
        await scope?.close();
      }
    },
    async call(ctx, next) {
      const scope = manager.runScopeOf(ctx.run);
      manager.attach(ctx, scope); // fireHook(ctx, ...) in the layers inside reaches these plugins
      if (manager.wants('llm_input', scope)) {
        const { request } = ctx;
        // `metadata` is what `when: { metadata }` conditions match: the run's, then the request's.
        const metadata = { ...ctx.run?.metadata, ...request.metadata };
        const payload = { callId: ctx.id, mode: ctx.mode, metadata, model: ctx.model, request };
        const out = await manager.dispatch(hookPoints.llm_input, payload, { scope, signal: ctx.signal });
        if (out.request !== request) ctx.update(() => out.request);
      }
      return next();
    },
    async tool(ctx, next) {
      const scope = manager.runScopeOf(ctx.run);
      if (manager.wants('tool_pre_invoke', scope)) {
        const { toolCallId, toolName, input } = ctx;
        const payload = { toolCallId, toolName, input, metadata: ctx.run.metadata };
        try {
          const out = await manager.dispatch(hookPoints.tool_pre_invoke, payload, { scope, signal: ctx.signal });
          if (out.input !== input) ctx.updateInput(() => out.input); // a handler rewrote the arguments
        } catch (error) {
          const request = approvalRequestOf(error);
          if (!request) throw error;
          // true: held, the run ends interrupted; false: approved on resume, so the call runs.
          if (ctx.interrupt({ reason: request.reason }, { plugin: request.plugin })) {
            console.log(`held ${toolName}: ${request.reason} (by ${request.plugin})`);
            return;
          }
        }
      }
      return next();
    },
  });
}

const approvals = definePlugin({
  name: 'approvals',
  hooks: {
    tool_pre_invoke: (p) => (p.toolName === 'deploy' ? requireApproval('deploys need a human') : undefined),
  },
});
const tagger = definePlugin({
  name: 'tagger',
  hooks: {
    llm_input: (p) => void (p.request.options = { ...p.request.options, temperature: 0 }),
  },
});

const deploy = tool({
  name: 'deploy',
  input: z.object({ service: z.string() }),
  execute: ({ service }) => `${service} deployed`,
});
const model = scriptedExecutor([
  (request) => {
    console.log(`model saw options ${JSON.stringify(request.options)}`);
    return { toolCalls: [{ id: 'd1', name: 'deploy', input: { service: 'api' } }] };
  },
  'Done.',
]);
const app = pipeline(model).use(inputAndToolHooks(new PluginManager({ plugins: [approvals] })));
// `tagger` is this run's plugin only: the dispatcher's run layer opened it.
const result = await runAgent({
  model: app,
  modelId: 'm',
  messages: [{ role: 'user', content: 'Ship the api.' }],
  tools: [deploy],
  plugins: [tagger],
});
console.log(`stop: ${result.stopReason}, held: ${result.interruptions.map((i) => i.by).join(', ')}`);

// Approved on resume: ctx.interrupt() returns false this time, and the call runs.
const resumed = await runAgent({
  model: app,
  tools: [deploy],
  resume: { snapshot: result.snapshot as RunSnapshot, decisions: { d1: { type: 'approve' } } },
});
console.log(`tool said: ${resumed.transcript.find((m) => m.role === 'tool')?.content}`);
