import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipeline } from 'modelware';
import { type UsageReport, usage } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

test('usage(): cache writes are priced at cacheWriteInputPerMillion, reads at cachedInputPerMillion', async () => {
  const reports: UsageReport[] = [];
  const model = scriptedExecutor([
    { text: 'a', usage: { inputTokens: 1000, outputTokens: 0, cachedInputTokens: 200, cacheWriteTokens: 700 } },
    { text: 'b', usage: { inputTokens: 1000, outputTokens: 0, cacheWriteTokens: 700 } },
  ]);
  const prices = {
    m: { inputPerMillion: 1, outputPerMillion: 0, cachedInputPerMillion: 0.1, cacheWriteInputPerMillion: 1.25 },
    plain: { inputPerMillion: 1, outputPerMillion: 0 },
  };
  const app = pipeline(model).use(usage({ prices, onUsage: (r) => reports.push(r) }));
  await app.generate({ model: 'm', messages: [{ role: 'user', content: 'x' }] });
  // 100 plain + 200 read + 700 written.
  assert.ok(Math.abs((reports[0]?.call.costUsd ?? 0) - (100 * 1 + 200 * 0.1 + 700 * 1.25) / 1e6) < 1e-12);
  await app.generate({ model: 'plain', messages: [{ role: 'user', content: 'x' }] });
  assert.ok(Math.abs((reports[1]?.call.costUsd ?? 0) - 1000 / 1e6) < 1e-12);
  assert.throws(
    () => usage({ prices: { m: { inputPerMillion: 1, outputPerMillion: 1, cacheWriteInputPerMillion: -1 } } }),
    /cacheWriteInputPerMillion/,
  );
});
