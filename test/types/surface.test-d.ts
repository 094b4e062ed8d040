// The public surface: classes the library constructs are exported as types only (annotations work,
// values do not), internals are not exported, and the classes users do build stay constructible.
import * as modelware from 'modelware';
import type { AgentStream, Context, ModelStream, PluginScope, ToolContext } from 'modelware';

declare const ctx: Context;
declare const stream: ModelStream;
declare const agentStream: AgentStream;
declare const toolCtx: ToolContext;
declare const scope: PluginScope;
export const annotated = [ctx.layer, stream.response, agentStream.result, toolCtx.layer, scope] as const;

// @ts-expect-error Context is a type-only export: the stack makes it
modelware.Context;
// @ts-expect-error ModelStream is a type-only export: app.stream() makes it
modelware.ModelStream;
// @ts-expect-error AgentStream is a type-only export: streamAgent() makes it
modelware.AgentStream;
// @ts-expect-error ToolContext is a type-only export: the tool stack makes it
modelware.ToolContext;
// @ts-expect-error PluginScope is a type-only export: manager.scope() makes it
modelware.PluginScope;
// @ts-expect-error sleep is not exported (node:timers/promises has one)
modelware.sleep;
// @ts-expect-error assemble is internal
modelware.assemble;
// @ts-expect-error the built-in hook points are public as `hookPoints`
modelware.HOOKS;
modelware.hookPoints.tool_pre_invoke.name satisfies 'tool_pre_invoke';

new modelware.PluginManager();
new modelware.MiddlewareError('my-layer', 'my-layer: failed.');
