// Mellea's generative-slot profiler, as a call profiler: audit-mode handlers (they see every call
// and cannot change it) time each call from llm_input to llm_output/llm_error, per model.
import { PluginManager, definePlugin, pipeline } from 'modelware';
import { plugins, retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

interface Profile {
  calls: number;
  failures: number;
  totalMs: number;
  tokens: number;
}
const profiles = new Map<string, Profile>();
const startedAt = new Map<string, number>();

function profile(model: string): Profile {
  let p = profiles.get(model);
  if (!p) profiles.set(model, (p = { calls: 0, failures: 0, totalMs: 0, tokens: 0 }));
  return p;
}

const profiler = definePlugin({
  name: 'call-profiler',
  mode: 'audit',
  hooks: {
    llm_input: (_payload, { original }) => void startedAt.set(original.callId, performance.now()),
    llm_output(_payload, { original }) {
      const p = profile(original.model.resolved);
      p.calls++;
      p.totalMs += performance.now() - (startedAt.get(original.callId) ?? performance.now());
      p.tokens += original.response.usage?.totalTokens ?? 0;
      startedAt.delete(original.callId);
    },
    llm_error: (_payload, { original }) => void profile(original.model.resolved).failures++,
  },
});

const flaky = Object.assign(new Error('503'), { retryable: true });
const model = scriptedExecutor([
  { text: 'fast answer', delayMs: 5 },
  flaky,
  { text: 'slower answer after a retry', delayMs: 25 },
  { text: 'another', delayMs: 10, model: 'small-model' },
]);
// The profiler sits inside retry, so it sees every attempt, the failed one too.
const app = pipeline(model).use(retry({ initialDelayMs: 0 }), plugins(new PluginManager({ plugins: [profiler] })));
await app.generate({ model: 'big-model', messages: [{ role: 'user', content: 'one' }] });
await app.generate({ model: 'big-model', messages: [{ role: 'user', content: 'two' }] });
await app.generate({ model: 'small-model', messages: [{ role: 'user', content: 'three' }] });

console.log('model        calls  failures  avg ms  tokens');
for (const [name, p] of profiles) {
  const avg = p.calls > 0 ? Math.round(p.totalMs / p.calls) : 0;
  console.log(
    `${name.padEnd(12)} ${String(p.calls).padStart(5)} ${String(p.failures).padStart(9)} ${String(avg).padStart(7)} ${String(p.tokens).padStart(7)}`,
  );
}
