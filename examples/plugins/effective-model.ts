// Koog's effective model: after routing or fallback, llm_output handlers see the model actually
// used (`model.resolved`, and what the provider reported in `response.model`), not just the one
// that was requested. Here the plugins layer sits outside `fallback()`.
import { PluginManager, definePlugin, pipeline } from 'modelware';
import { fallback, plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const seen: string[] = [];
const reporter = definePlugin({
  name: 'model-reporter',
  mode: 'audit',
  hooks: {
    llm_input: (_payload, { original }) => void seen.push(`llm_input:  requested ${original.model.requested}`),
    llm_output(_payload, { original }) {
      const { requested, resolved } = original.model;
      seen.push(`llm_output: requested ${requested}, used ${resolved}, provider reported ${original.response.model}`);
    },
  },
});

const overloaded = Object.assign(new Error('529 overloaded'), { retryable: true });
const model = scriptedExecutor([overloaded, { text: 'Hello from the backup.', model: 'backup-model-2026-01' }]);
const app = pipeline(model).use(
  plugins(new PluginManager({ plugins: [reporter] })),
  fallback({ models: ['backup-model'], onFallback: ({ from, to }) => seen.push(`fallback:   ${from} → ${to}`) }),
);
await app.generate({ model: 'main-model', messages: [{ role: 'user', content: 'hello' }] });
for (const line of seen) console.log(line);
