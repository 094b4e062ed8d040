// Run-scoped plugins: each run brings its own (runAgent({ plugins })), beside the pipeline's; two
// runs in flight at once never see each other's.
import { PluginManager, definePlugin, pipeline, runAgent, textOf } from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const seen: string[] = [];
const tenantTag = (tenant: string) =>
  definePlugin({
    name: `tag-${tenant}`,
    hooks: {
      llm_input(payload) {
        payload.request.messages.unshift({ role: 'system', content: `Tenant: ${tenant}.` });
        seen.push(`${tenant} tagged a call`);
      },
    },
  });

const model = scriptedExecutor([(request) => `hello, ${textOf(request.messages[0] ?? { content: '' })}`], {
  whenDone: 'repeat-last',
});
const app = pipeline(model).use(plugins(new PluginManager()));
const ask = (tenant: string) =>
  runAgent({
    model: app,
    modelId: 'demo-model',
    messages: [{ role: 'user', content: 'hi' }],
    plugins: [tenantTag(tenant)],
  });

const [acme, globex] = await Promise.all([ask('acme'), ask('globex')]);
console.log(`acme run:   ${acme.text}`);
console.log(`globex run: ${globex.text}`);
console.log(seen.join('; '));
