// Hook dispatch overhead (issue 4). Run: npx tsx bench/hooks.bench.ts
// Standalone: variants are timed round-robin (A, B, C, A, B, C, ...) so machine noise hits them
// alike; each figure is the median over the rounds. Ratios compare against pipelines built in the
// same run without the plugin middleware.
import { type Executor, type ModelResponse, PluginManager, defineMiddleware, definePlugin, pipeline } from 'modelware';
import { plugins } from 'modelware/middleware';
import { compare, fmt } from './harness.js';

const RESPONSE: ModelResponse = { message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' };
const executor: Executor = { name: 'bench', generate: async () => RESPONSE };
const REQUEST = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'hi' }] };
/** The hook points a generate() call checks: model_resolve, transform_context, llm_input, llm_error, validation_check, llm_output. */
const HOOK_POINTS_PER_CALL = 6;

// 21 rounds after 5 warm-up ones (ROUNDS overrides), as this bench has always run.
const rounds = { rounds: Number(process.env.ROUNDS ?? 21), warmup: 5 };

// ---- 1. A call through plugins() whose manager has no handler for any call hook ----
const unrelated = new PluginManager({
  plugins: [definePlugin({ name: 'runs-only', hooks: { run_end: () => undefined } })],
});
const none = pipeline(executor);
const plain = pipeline(executor).use(async function pass(_ctx, next) {
  await next();
});
// plugins() is a replay layer (repair re-runs the layers inside), so compare it with a replay pass-through too.
const replayPass = pipeline(executor).use(
  defineMiddleware({
    name: 'replayPass',
    replay: true,
    async call(_ctx, next) {
      await next();
    },
  }),
);
const empty = pipeline(executor).use(plugins(new PluginManager()));
const idle = pipeline(executor).use(plugins(unrelated));
// maxRepairs: 0 makes plugins() an ordinary layer: compare it with the plain pass-through.
const idleNoRepair = pipeline(executor).use(plugins(unrelated, { maxRepairs: 0 }));
const calls = await compare(
  {
    none: () => none.generate(REQUEST),
    plain: () => plain.generate(REQUEST),
    idleNoRepair: () => idleNoRepair.generate(REQUEST),
    replayPass: () => replayPass.generate(REQUEST),
    emptyManager: () => empty.generate(REQUEST),
    idleManager: () => idle.generate(REQUEST),
  },
  { iterations: 100_000, ...rounds },
);

// ---- 2. The check itself, and a dispatch with one no-op handler, for scale ----
const one = new PluginManager({
  plugins: [definePlugin({ name: 'noop', hooks: { llm_input: () => undefined } })],
});
const oneCall = pipeline(executor).use(plugins(one));
const micro = await compare(
  {
    wantsMiss: () => unrelated.wants('llm_input'),
    wantsHit: () => one.wants('llm_input'),
  },
  { iterations: 2_000_000, ...rounds },
);
const dispatch = await compare(
  { idleManager: () => idle.generate(REQUEST), oneHandler: () => oneCall.generate(REQUEST) },
  { iterations: 100_000, ...rounds },
);

// The hook points' own cost: plugins() minus a pass-through layer of the same kind, per hook point.
const perHook = (calls.idleManager - calls.replayPass) / HOOK_POINTS_PER_CALL;
const perHookPlain = (calls.idleNoRepair - calls.plain) / HOOK_POINTS_PER_CALL;
const same: Record<string, keyof typeof calls> = {
  idleNoRepair: 'plain',
  emptyManager: 'replayPass',
  idleManager: 'replayPass',
};
console.log('### Hook dispatch overhead (medians, ns per generate() call)\n');
console.log('| variant | time | vs no layer | vs a pass-through layer of the same kind |');
console.log('| --- | --- | --- | --- |');
for (const [name, ns] of Object.entries(calls) as [string, number][]) {
  const base = same[name];
  const delta = base ? `${ns >= calls[base] ? '+' : '−'}${fmt(Math.abs(ns - calls[base]))} (vs ${base})` : '';
  console.log(`| ${name} | ${fmt(ns)} | ×${(ns / calls.none).toFixed(2)} | ${delta} |`);
}
console.log(`\nmanager.wants() for a hook with no handler: ${fmt(micro.wantsMiss)} (with one: ${fmt(micro.wantsHit)})`);
for (const [what, ns] of [
  ['plugins() (replay layer)', perHook],
  ['plugins({ maxRepairs: 0 }) (plain layer)', perHookPlain],
] as const) {
  console.log(
    `${what}, no call-hook handlers: ${fmt(ns * HOOK_POINTS_PER_CALL)} per call over ${HOOK_POINTS_PER_CALL} hook points = ${fmt(ns)} per hook point (target ≤ 50 ns): ${ns <= 50 ? 'pass' : 'FAIL'}`,
  );
}
console.log(
  `one sequential no-op llm_input handler: ${fmt(dispatch.oneHandler)} vs ${fmt(dispatch.idleManager)} (+${fmt(dispatch.oneHandler - dispatch.idleManager)})`,
);
