import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

// dist/ mirrors the exports map in package.json.
const entries: Record<string, string> = {
  index: 'lib/index.ts',
  'middleware/index': 'middleware/index.ts',
  'testing/index': 'lib/testing/index.ts',
  'adapters/openai': 'lib/adapters/openai.ts',
  'adapters/anthropic': 'lib/adapters/anthropic.ts',
  'adapters/ai-sdk': 'lib/adapters/ai-sdk.ts',
};

export default defineConfig({
  entry: Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file))),
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: true,
  treeshake: true,
  // SDKs are optional peers, yaml and the tokenizer load lazily: never bundle them.
  external: ['openai', '@anthropic-ai/sdk', 'ai', '@ai-sdk/provider', 'yaml', 'gpt-tokenizer', 'ioredis', /^@opentelemetry\//],
});
