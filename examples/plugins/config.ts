// Declarative plugins: a YAML file lists plugins by registered factory name with mode, priority,
// timeout, conditions and options; zod validates every entry and errors name the file and path.
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  PluginConfigError,
  PluginManager,
  PolicyViolationError,
  block,
  definePlugin,
  loadPluginConfig,
  parsePluginConfig,
  pipeline,
  pluginFactory,
  textOf,
} from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const audit: string[] = [];
const factories = {
  'keyword-guard': pluginFactory(z.object({ words: z.array(z.string()).min(1) }), ({ words }) =>
    definePlugin({
      name: 'keyword-guard',
      hooks: {
        llm_input(_payload, { original }) {
          const text = original.request.messages.map(textOf).join(' ').toLowerCase();
          const word = words.find((w) => text.includes(w));
          if (word) return block(`mentions "${word}"`, 'KEYWORD_001');
        },
      },
    }),
  ),
  audit: pluginFactory(z.object({}), () =>
    definePlugin({ name: 'audit', hooks: { llm_output: (_p, { original }) => void audit.push(original.callId) } }),
  ),
};

const file = fileURLToPath(new URL('plugins.yaml', import.meta.url));
const manager = new PluginManager({
  plugins: [await loadPluginConfig(file, factories)],
  onEvent: (e) =>
    e.type === 'violation' && console.log(`logged, not enforced: ${e.plugin} (${e.mode}) ${e.violation.reason}`),
});
console.log(`loaded: ${manager.plugins.join(', ')}`);

const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(plugins(manager));
const asks: [content: string, tenant: string][] = [
  ['Send the invoice', 'acme'],
  ['What is my password?', 'acme'],
  ['Send the invoice', 'globex'],
];
for (const [content, tenant] of asks) {
  try {
    await app.generate({ model: 'demo', messages: [{ role: 'user', content }], metadata: { tenant } });
    console.log(`${tenant}: "${content}" → answered`);
  } catch (error) {
    if (!PolicyViolationError.isInstance(error)) throw error;
    console.log(`${tenant}: "${content}" → blocked by ${error.violation.plugin}: ${error.violation.reason}`);
  }
}
await manager.drain();
console.log(`audited calls: ${audit.length}`);

// A mistake in a config file is reported with the file, the line and the path.
try {
  await parsePluginConfig('plugins:\n  - plugin: keyword-guard\n    mode: paralel\n', { file: 'bad.yaml', factories });
} catch (error) {
  if (!PluginConfigError.isInstance(error)) throw error;
  console.log(error.message);
}
