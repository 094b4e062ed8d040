import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { defineConfig } from 'tsup';

// dist/ mirrors the exports map in package.json.
const entries: Record<string, string> = {
  index: 'lib/index.ts',
  'middleware/index': 'middleware/index.ts',
  kit: 'lib/kit.ts',
  'testing/index': 'lib/testing/index.ts',
  'adapters/openai': 'lib/adapters/openai.ts',
  'adapters/anthropic': 'lib/adapters/anthropic.ts',
  'adapters/ai-sdk': 'lib/adapters/ai-sdk.ts',
  'inspector/index': 'lib/inspector/index.ts',
  'bullmq/index': 'lib/bullmq/index.ts',
};
const entry = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file)));
// The `modelware` command (package.json "bin"): ESM only, no types, sharing chunks with the library.
const bin = { 'bin/modelware': 'lib/inspector/bin.ts' };

// The two builds below write to one dist/: clean it once here rather than racing two `clean`s.
rmSync('dist', { recursive: true, force: true });

/**
 * CommonJS: each entry's `.cjs` is a one-line `require()` of the ESM build (Node >= 20.19 loads ESM
 * from `require`), so a program that both imports and requires modelware gets ONE copy of its
 * classes (`instanceof ProviderError` holds everywhere). Only the `.d.cts` types are built for it.
 */
function writeCjsShims(): void {
  for (const name of Object.keys(entry)) {
    const file = join('dist', `${name}.cjs`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `'use strict';\nmodule.exports = require('./${basename(name)}.js');\n`);
  }
}

// `@internal` members (a context's `core`, the pipeline's layer lists, the run's helpers) stay out of
// the published .d.ts: users see only the API the README documents.
const dts = { entry, compilerOptions: { stripInternal: true } };

export default defineConfig([
  {
    entry: { ...entry, ...bin },
    format: ['esm'],
    dts,
    sourcemap: true,
    target: 'node20',
    splitting: true,
    treeshake: true,
    onSuccess: async () => writeCjsShims(),
    // SDKs are optional peers, yaml and the tokenizer load lazily: never bundle them.
    external: ['openai', '@anthropic-ai/sdk', 'ai', '@ai-sdk/provider', 'yaml', 'gpt-tokenizer', 'ioredis', 'bullmq', /^@opentelemetry\//],
  },
  {
    entry,
    format: ['cjs'],
    dts: { ...dts, only: true },
    target: 'node20',
    external: ['openai', '@anthropic-ai/sdk', 'ai', '@ai-sdk/provider', 'yaml', 'gpt-tokenizer', 'ioredis', 'bullmq', /^@opentelemetry\//],
  },
]);
