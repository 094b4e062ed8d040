// A dispatcher of your own, written without casts (review of 6bc0d9d): the payloads a dispatch
// resolves with are Immutable, and every recipe that takes them back accepts Immutable values.
import { PluginManager, approvalRequestOf, defineMiddleware, hookPoints } from 'modelware';
import { toolContent, toolMessage } from 'modelware/kit';

const manager = new PluginManager();
defineMiddleware({
  name: 'everyHookWithoutCasts',
  async run(ctx, next) {
    using scope = manager.openRunScope(ctx.run);
    const { run } = ctx;
    const messages = run.transcript;
    const payload = { runId: run.runId, metadata: run.metadata, resumed: ctx.resumed, messages };
    const started = await manager.dispatch(hookPoints.run_start, payload, { scope });
    // run_start may rewrite the transcript: its messages are Immutable, updateTranscript takes them.
    if (started.messages !== messages) run.updateTranscript(() => started.messages);
    await next();
  },
  async call(ctx, next) {
    const scope = manager.runScopeOf(ctx.run);
    manager.attach(ctx, scope);
    const base = { callId: ctx.id, mode: ctx.mode, metadata: ctx.request.metadata ?? {} };
    const input = await manager.dispatch(
      hookPoints.llm_input,
      { ...base, model: ctx.model, request: ctx.request },
      { scope, signal: ctx.signal },
    );
    if (input.request !== ctx.request) ctx.update(() => input.request);
    await next();
    const response = ctx.response;
    if (!response) return;
    const payload = { ...base, model: ctx.model, request: ctx.request, response };
    const output = await manager.dispatch(hookPoints.llm_output, payload, { scope, signal: ctx.signal });
    // llm_output may rewrite the response: updateResponse takes the Immutable one back.
    if (output.response !== response) ctx.updateResponse(() => output.response);
  },
  async tool(ctx, next) {
    const scope = manager.runScopeOf(ctx.run);
    const base = { toolCallId: ctx.toolCallId, toolName: ctx.toolName, metadata: ctx.run.metadata };
    try {
      const pre = await manager.dispatch(hookPoints.tool_pre_invoke, { ...base, input: ctx.input }, { scope });
      if (pre.input !== ctx.input) ctx.updateInput(() => pre.input);
    } catch (error) {
      const request = approvalRequestOf(error);
      if (!request) throw error;
      if (ctx.interrupt(request, { plugin: request.plugin })) return;
    }
    await next();
    const result = ctx.result;
    if (!result || ctx.interrupted) return;
    const payload = { ...base, input: ctx.input, output: result.output, isError: result.isError === true };
    const post = await manager.dispatch(hookPoints.tool_post_invoke, payload, { scope });
    const rewritten = post.output === result.output ? result : { ...result, content: toolContent(post.output) };
    const message = toolMessage(ctx, rewritten);
    const persisted = await manager.dispatch(hookPoints.tool_result_persist, { ...base, message }, { scope });
    ctx.result = { ...rewritten, content: persisted.message.content, isError: persisted.message.isError === true };
  },
});
