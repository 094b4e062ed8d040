// Type tests for hooks and plugins: checked by `npx tsc --noEmit`. Nothing here runs; each
// `@ts-expect-error` fails the type check if the misuse it marks ever compiles.
import type { Immutable } from 'immer';
import { z } from 'zod';
import {
  type ClassPlugin,
  type HookContext,
  type HookHandler,
  type HookPayload,
  type ModelResponse,
  type Plugin,
  PluginManager,
  type PluginScope,
  type ApprovalRequest,
  type RunContext,
  type approvalRequestOf,
  block,
  defineHook,
  definePlugin,
  fireHook,
  hookPoints,
} from 'modelware';
import { plugins, runPlugins } from 'modelware/middleware';

declare function expectType<T>(value: T): void;
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

// ---- a custom hook, typed for handlers by declaration merging ----
const cacheHit = defineHook({
  name: 'types_cache_hit',
  payload: z.object({ key: z.string(), answer: z.string(), hits: z.number() }),
  writable: ['answer'],
});
declare module 'modelware' {
  interface HookRegistry {
    types_cache_hit: typeof cacheHit;
  }
}

// ---- handlers: writable paths are drafts, the rest is read-only ----
definePlugin({
  name: 'typed',
  hooks: {
    llm_input(payload, ctx) {
      payload.request.messages.push({ role: 'user', content: 'x' });
      payload.request.options = { temperature: 0 };
      // @ts-expect-error request.model is read-only at llm_input (routing belongs to model_resolve)
      payload.request.model = 'other';
      // @ts-expect-error the effective model is read-only
      payload.model.resolved = 'other';
      // @ts-expect-error ids are read-only
      payload.callId = 'x';
      expectType<HookContext<HookPayload<'llm_input'>>>(ctx);
      expectType<string>(ctx.original.request.model);
      // @ts-expect-error ctx.original is read-only too
      ctx.original.request.messages.push({ role: 'user', content: 'x' });
    },
    llm_output(payload) {
      expectType<string>(payload.model.resolved);
      payload.response.message.content = 'rewritten';
      if (payload.response.finishReason === 'length') return block('truncated', 'OUTPUT_001', { max: 1 });
    },
    model_resolve(payload) {
      payload.model = 'gpt-5-mini';
      // @ts-expect-error the requested model is read-only
      payload.requested = 'x';
    },
    transform_context(payload) {
      payload.messages.splice(0, 1);
    },
    run_end(payload) {
      // @ts-expect-error run_end is observe-only: nothing is writable
      payload.turns = 3;
    },
    tool_pre_invoke(payload) {
      payload.input = { q: 'rewritten' };
      expectType<string>(payload.toolName);
    },
    async types_cache_hit(payload) {
      payload.answer = 'checked';
      // @ts-expect-error only `answer` is writable
      payload.hits = 2;
    },
  },
});

// @ts-expect-error an unknown hook name is a type error
definePlugin({ name: 'typo', hooks: { llm_inptu: () => {} } });

// @ts-expect-error a handler must return nothing or a block
definePlugin({ name: 'bad-return', hooks: { llm_input: () => 'continue' } });

// @ts-expect-error an unknown mode is a type error
definePlugin({ name: 'bad-mode', mode: 'paralel', hooks: {} });

definePlugin({
  name: 'settings',
  priority: 10,
  mode: 'fire_and_forget',
  onError: 'disable',
  timeoutMs: 1_000,
  breaker: { failures: 3, windowMs: 60_000, cooldownMs: 10_000 },
  when: { models: ['gpt-5*', /haiku/], tools: ['search'], metadata: { tenant: ['acme', 'globex'] } },
  hooks: {},
});
definePlugin({ name: 'predicate', when: (subject) => subject.hook === 'llm_input', hooks: {} });

// ---- class plugins: on_<hook> methods are typed by ClassPlugin ----
class Audit implements ClassPlugin {
  readonly name = 'audit';
  readonly mode = 'audit' as const;
  on_llm_output: HookHandler<'llm_output'> = (payload) => {
    expectType<ModelResponse['finishReason']>(payload.response.finishReason);
  };
  async init() {}
}
new PluginManager().register(new Audit());

class WrongHandler implements ClassPlugin {
  readonly name = 'wrong';
  // @ts-expect-error an on_ method with the wrong payload type
  on_llm_output(payload: { response: number }) {
    return payload;
  }
}
void WrongHandler;

// ---- payload types come from the zod schemas ----
assertTrue<Equal<HookPayload<'llm_output'>['response'], ModelResponse>>();
assertTrue<Equal<HookPayload<'types_cache_hit'>, { key: string; answer: string; hits: number }>>();

// ---- dispatch and fireHook are typed by the hook point ----
const manager = new PluginManager();
async function fire() {
  const out = await manager.dispatch(cacheHit, { key: 'k', answer: 'a', hits: 1 });
  expectType<Immutable<{ key: string; answer: string; hits: number }>>(out);
  // @ts-expect-error the payload must match the schema
  await manager.dispatch(cacheHit, { key: 'k' });
}
void fire;
declare const ctx: Parameters<typeof fireHook>[0];
async function third() {
  const out = await fireHook(ctx, cacheHit, () => ({ key: 'k', answer: 'a', hits: 0 }));
  if (out) expectType<string>(out.answer);
  // @ts-expect-error fireHook may resolve with undefined (no handler, nothing built)
  expectType<string>(out.answer);
}
void third;

// ---- scopes are disposable ----
function scoped(plugin: Plugin) {
  using scope = manager.scope(plugin);
  expectType<PluginScope>(scope);
  expectType<Disposable>(scope);
  expectType<AsyncDisposable>(scope);
}
void scoped;

// ---- the middleware ----
plugins(manager, { maxRepairs: 1 });
// @ts-expect-error plugins() takes a manager, not a list of plugins
plugins([definePlugin({ name: 'x', hooks: {} })]);
runPlugins(definePlugin({ name: 'x', hooks: {} }), new Audit());

// ---- the dispatch primitives a dispatcher of your own is written with ----
declare const someRun: RunContext;
{
  const manager = new PluginManager();
  const run = someRun;
  const scope = manager.openRunScope(run);
  assertTrue<Equal<typeof scope, PluginScope | undefined>>();
  assertTrue<Equal<ReturnType<typeof manager.runScopeOf>, PluginScope | undefined>>();
  // @ts-expect-error openRunScope needs a run (a call's ctx.run may be undefined: check it first)
  manager.openRunScope(undefined);
  assertTrue<Equal<ReturnType<typeof approvalRequestOf>, ApprovalRequest | undefined>>();
  const payload = { toolCallId: 't', toolName: 'x', input: 1, metadata: {} };
  void manager.dispatch(hookPoints.tool_pre_invoke, payload).then((out) => expectType<unknown>(out.input));
  // @ts-expect-error a tool_pre_invoke payload needs the tool's name
  void manager.dispatch(hookPoints.tool_pre_invoke, { toolCallId: 't', input: 1, metadata: {} });
  // @ts-expect-error the built-in hook points are frozen
  hookPoints.llm_input = hookPoints.llm_output;
}
