// Built-ins that read the answer after next() must leave "no answer at all" to the pipeline, which
// names the layer that gave none, instead of crashing on an undefined response.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MiddlewareError, type Middleware, pipeline } from 'modelware';
import { cache, guard, redactPii, validateOutput } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const layers: [string, () => Middleware][] = [
  ['guard', () => guard({ output: () => undefined })],
  ['redactPii', () => redactPii({ scope: ['user', 'response'] })],
  ['validateOutput', () => validateOutput({ schema: z.object({ ok: z.boolean() }) })],
  ['cache', () => cache()],
];

describe('built-ins after an inner layer that gives no answer', () => {
  for (const [label, make] of layers) {
    for (const mode of ['generate', 'stream'] as const) {
      test(`${label} (${mode}): the error names the silent layer`, async () => {
        const model = scriptedExecutor(['never sent']);
        const app = pipeline(model).use(make(), function silent() {});
        const request = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
        const run = async () => {
          if (mode === 'generate') return app.generate(request);
          for await (const _ of app.stream(request)) {
          }
        };
        const error = await run().catch((e: unknown) => e);
        assert.ok(MiddlewareError.isInstance(error), `expected a MiddlewareError, got ${String(error)}`);
        assert.equal(error.layer, 'silent');
        assert.equal(model.calls.length, 0);
      });
    }
  }
});
