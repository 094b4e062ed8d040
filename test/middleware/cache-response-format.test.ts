import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ModelRequest, jsonResponseFormat, pipeline } from 'modelware';
import { cache, requestHash } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const ASK: ModelRequest = { model: 'm', messages: [{ role: 'user', content: 'City?' }] };

test('cache(): responseFormat is part of the key; a request without one keeps its old key', async () => {
  const json = { ...ASK, responseFormat: jsonResponseFormat(z.object({ city: z.string() })) };
  assert.notEqual(requestHash(json), requestHash(ASK));
  assert.notEqual(requestHash({ ...ASK, responseFormat: { type: 'json' } }), requestHash(json));
  assert.equal(requestHash({ ...ASK, responseFormat: undefined }), requestHash(ASK));
  const model = scriptedExecutor(['Oslo', '{"city":"Oslo"}']);
  const app = pipeline(model).use(cache());
  assert.equal((await app.generate(ASK)).message.content, 'Oslo');
  assert.equal((await app.generate(json)).message.content, '{"city":"Oslo"}');
  assert.equal(model.calls.length, 2);
});
