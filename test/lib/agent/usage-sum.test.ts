// Usage sums keep every count a provider reports: the run's total, the total a checkpoint log
// rebuilds, and validateOutput()'s total over its repair attempts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ModelRequest, type Usage, memoryRunStore, pipeline, runAgent } from 'modelware';
import { validateOutput } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { rebuildRun } from '../../../lib/agent/checkpoint.js';
import { USER, add } from '../../fixtures/agent.js';

const FIRST: Usage = {
  inputTokens: 100,
  outputTokens: 10,
  totalTokens: 110,
  cachedInputTokens: 20,
  cacheWriteTokens: 70,
};
const SECOND: Usage = { inputTokens: 200, outputTokens: 5, totalTokens: 205, cacheWriteTokens: 30, reasoningTokens: 4 };
const SUM: Usage = {
  inputTokens: 300,
  outputTokens: 15,
  totalTokens: 315,
  cachedInputTokens: 20,
  cacheWriteTokens: 100,
  reasoningTokens: 4,
};

describe('usage sums', () => {
  it('the run and its checkpoint log add cacheWriteTokens (and the other optional counts)', async () => {
    const store = memoryRunStore();
    const result = await runAgent({
      model: scriptedExecutor([
        { toolCalls: [{ id: 't1', name: 'add', input: { a: 1, b: 2 } }], usage: FIRST },
        { text: 'The answer is 3.', usage: SECOND },
      ]),
      modelId: 'm',
      messages: [USER],
      tools: [add],
      checkpoint: { store, runId: 'usage-1' },
    });
    assert.deepEqual(result.usage, SUM);
    const log = await store.read('usage-1');
    assert.deepEqual(rebuildRun('usage-1', log.entries, log.finished)?.usage, SUM);
  });

  it('validateOutput() adds every attempt’s cacheWriteTokens into the answer’s usage', async () => {
    const model = scriptedExecutor([
      { text: '{"town":"Oslo"}', usage: FIRST },
      { text: '{"city":"Oslo"}', usage: SECOND },
    ]);
    const ask: ModelRequest = { model: 'm', messages: [{ role: 'user', content: 'City?' }] };
    const response = await pipeline(model)
      .use(validateOutput({ schema: z.object({ city: z.string() }) }))
      .generate(ask);
    assert.deepEqual(response.usage, SUM);
  });
});
