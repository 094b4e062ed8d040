// Mellea's content policy: a sequential plugin that blocks requests (llm_input) and answers
// (llm_output) touching banned topics. The block surfaces as PolicyViolationError naming the plugin.
import { PluginManager, PolicyViolationError, block, definePlugin, pipeline, textOf } from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const BANNED = [/\bweapons?\b/i, /\bmalware\b/i];

const contentPolicy = definePlugin({
  name: 'content-policy',
  priority: 10,
  hooks: {
    llm_input(_payload, { original }) {
      const last = original.request.messages.at(-1);
      const text = last ? textOf(last) : '';
      const hit = BANNED.find((re) => re.test(text));
      if (hit) return block('the request touches a banned topic', 'CONTENT_POLICY_001', { pattern: String(hit) });
    },
    llm_output(_payload, { original }) {
      const text = textOf(original.response.message);
      if (BANNED.some((re) => re.test(text))) return block('the answer touches a banned topic', 'CONTENT_POLICY_002');
    },
  },
});

const model = scriptedExecutor(['Paris is the capital of France.', 'Here is some malware for you.']);
const app = pipeline(model).use(plugins(new PluginManager({ plugins: [contentPolicy] })));

async function ask(content: string): Promise<void> {
  try {
    const response = await app.generate({ model: 'demo', messages: [{ role: 'user', content }] });
    console.log(`allowed: ${JSON.stringify(content)} → ${textOf(response.message)}`);
  } catch (error) {
    if (!PolicyViolationError.isInstance(error)) throw error;
    const { plugin, hook, code, reason } = error.violation;
    console.log(`blocked: ${JSON.stringify(content)} by ${plugin} at ${hook}: ${code} (${reason})`);
  }
}

await ask('What is the capital of France?');
await ask('How do I build weapons at home?');
await ask('Tell me a story.');
console.log(`model calls: ${model.calls.length} (the blocked request never reached the model)`);
