// A misspelt option is an error where it is written, never a silent default: `retry({ maxRetries })`
// would otherwise retry twice, `tool({ needApproval: true })` would run without asking anyone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import {
  PluginManager,
  definePlugin,
  memoryRunStore,
  memoryStore,
  pipeline,
  pluginSet,
  runAgent,
  tool,
  withSettings,
} from 'modelware';
import { aiSdkExecutor, toLanguageModel } from 'modelware/ai-sdk';
import { anthropicExecutor } from 'modelware/anthropic';
import {
  auditLog,
  cache,
  compactToolResults,
  mapMessages,
  transformContext,
  callLimit,
  fallback,
  guard,
  rateLimit,
  redactPii,
  retry,
  router,
  timeout,
  tokenBudget,
  usage,
  validateOutput,
} from 'modelware/middleware';
import { openaiExecutor, openaiResponsesExecutor } from 'modelware/openai';
import { scriptedExecutor } from 'modelware/testing';
import { redisStore } from 'modelware';

const openaiClient = { chat: { completions: { create: async () => ({}) } }, responses: { create: async () => ({}) } };
const anthropicClient = { messages: { create: async () => ({}) } };
const languageModel = {
  specificationVersion: 'v4',
  provider: 'test',
  modelId: 'm',
  supportedUrls: {},
  doGenerate: async () => ({}),
  doStream: async () => ({}),
};
const redisClient = { eval: async () => null, evalsha: async () => null };
const plugin = definePlugin({ name: 'p', hooks: {} });

/** [where the error names, a call with valid options plus `extra`] */
const FACTORIES: readonly [string, (extra: Record<string, unknown>) => unknown][] = [
  ['retry()', (extra) => retry({ retries: 1, ...extra })],
  ['timeout()', (extra) => timeout({ timeoutMs: 10, ...extra })],
  ['fallback()', (extra) => fallback({ models: ['b'], ...extra })],
  ['router()', (extra) => router({ routes: [], default: 'm', ...extra })],
  ['callLimit()', (extra) => callLimit({ maxCalls: 1, ...extra })],
  ['auditLog()', (extra) => auditLog({ sink: () => {}, ...extra })],
  ['validateOutput()', (extra) => validateOutput({ schema: z.object({}), ...extra })],
  ['usage()', (extra) => usage({ ...extra })],
  ['guard()', (extra) => guard({ input: () => undefined, ...extra })],
  ['cache()', (extra) => cache({ ...extra })],
  ['rateLimit()', (extra) => rateLimit({ limit: 1, windowMs: 1000, ...extra })],
  ['redactPii()', (extra) => redactPii({ ...extra })],
  ['tokenBudget()', (extra) => tokenBudget({ maxInputTokens: 100, ...extra })],
  ['transformContext()', (extra) => transformContext(() => {}, { ...extra })],
  ['compactToolResults()', (extra) => compactToolResults({ ...extra })],
  ['mapMessages()', (extra) => mapMessages(() => undefined, { ...extra })],
  ['tool() `t`', (extra) => tool({ name: 't', input: z.object({}), execute: () => 'ok', ...extra })],
  [
    'runAgent()',
    (extra) =>
      runAgent({ model: scriptedExecutor(['x']), modelId: 'm', messages: [{ role: 'user', content: 'q' }], ...extra }),
  ],
  ['pipeline()', (extra) => pipeline({ executor: scriptedExecutor(['x']), ...extra })],
  ['openaiExecutor()', (extra) => openaiExecutor({ client: openaiClient as never, ...extra })],
  ['openaiResponsesExecutor()', (extra) => openaiResponsesExecutor({ client: openaiClient as never, ...extra })],
  ['anthropicExecutor()', (extra) => anthropicExecutor({ client: anthropicClient as never, ...extra })],
  ['aiSdkExecutor()', (extra) => aiSdkExecutor(languageModel as never, { ...extra })],
  ['toLanguageModel()', (extra) => toLanguageModel(scriptedExecutor(['x']), { modelId: 'm', ...extra })],
  ['scriptedExecutor()', (extra) => scriptedExecutor(['x'], { ...extra })],
  ['memoryStore()', (extra) => memoryStore({ ...extra })],
  ['redisStore()', (extra) => redisStore({ client: redisClient as never, ...extra })],
  ['memoryRunStore()', (extra) => memoryRunStore({ ...extra })],
  ['definePlugin(`p`)', (extra) => definePlugin({ name: 'p', hooks: {}, ...extra })],
  ['pluginSet(`s`)', (extra) => pluginSet({ name: 's', plugins: [plugin], ...extra })],
  ['withSettings(`p`)', (extra) => withSettings(plugin, { priority: 1, ...extra })],
  ['new PluginManager()', (extra) => new PluginManager({ ...extra })],
];

/** Calls `make`, awaiting a promise, and returns what it threw or rejected with. */
async function thrownBy(make: () => unknown): Promise<unknown> {
  try {
    await make();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('unknown options are rejected where they are written', () => {
  for (const [where, make] of FACTORIES) {
    test(`${where} names the misspelt key, and accepts the same options without it`, async () => {
      const error = await thrownBy(() => make({ surelyNotAnOption: 1 }));
      assert.ok(error instanceof TypeError, `${where} accepted an unknown option`);
      assert.ok(error.message.startsWith(where), error.message);
      assert.match(error.message, /unknown option `surelyNotAnOption`/);
      // The same call without the stray key gets past the option checks.
      const clean = await thrownBy(() => make({}));
      assert.ok(!(clean instanceof TypeError) || !/unknown option/.test(clean.message), String(clean));
    });
  }

  test('a near miss is named with the option it probably meant', () => {
    assert.throws(() => retry({ retires: 3 } as never), /unknown option `retires` \(did you mean `retries`\?\)/);
    assert.throws(
      () => tool({ name: 't', input: z.object({}), execute: () => 'ok', needApproval: true } as never),
      /tool\(\) `t`: unknown option `needApproval` \(did you mean `needsApproval`\?\)/,
    );
    assert.throws(() => timeout({ timeoutMs: 5, idleTimoutMs: 1 } as never), /did you mean `idleTimeoutMs`\?/);
  });

  test('a key that is not a plain identifier is described by its length, never printed', () => {
    const hostile = `x${'<script>'.repeat(1000)}`;
    const error = (() => {
      try {
        cache({ [hostile]: 1 } as never);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.ok(error instanceof TypeError);
    assert.ok(!error.message.includes('<script>'), 'the key was printed');
    assert.match(error.message, /a key of 8001 characters/);
  });

  test('a tool spread into tool() keeps working: its spec is rebuilt', () => {
    const base = tool({ name: 'base', description: 'd', input: z.object({ a: z.string() }), execute: () => 'ok' });
    const derived = tool({ ...base, name: 'derived', timeoutMs: 5_000 });
    assert.equal(derived.spec.name, 'derived');
    assert.equal(derived.timeoutMs, 5_000);
  });

  test('fallback([...models]) still takes the array form', () => {
    assert.doesNotThrow(() => fallback(['a', 'b']));
  });
});
