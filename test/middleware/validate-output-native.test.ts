import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ModelRequest, jsonResponseFormat, pipeline } from 'modelware';
import { validateOutput } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const City = z.object({ city: z.string() });
const ASK: ModelRequest = { model: 'm', messages: [{ role: 'user', content: 'City?' }] };

describe('validateOutput(): the schema sent natively', () => {
  test("an executor with responseFormat 'schema' gets the schema as request.responseFormat", async () => {
    const model = scriptedExecutor(['{"city":"Oslo"}'], { capabilities: { responseFormat: 'schema' } });
    const response = await pipeline(model)
      .use(validateOutput({ schema: City }))
      .generate(ASK);
    assert.equal(response.message.content, '{"city":"Oslo"}');
    assert.deepEqual(model.calls[0]?.request.responseFormat, jsonResponseFormat(City));
  });

  test('a still-failing answer is re-asked, with the schema kept on the repair call', async () => {
    const model = scriptedExecutor(['{"town":"Oslo"}', '{"city":"Oslo"}'], {
      capabilities: { responseFormat: 'schema' },
    });
    await pipeline(model)
      .use(validateOutput({ schema: City }))
      .generate(ASK);
    assert.equal(model.calls.length, 2);
    assert.equal(model.calls[1]?.request.responseFormat?.type, 'json');
    assert.equal(model.calls[1]?.request.messages.length, 3);
  });

  test("'json' capability gets JSON mode; none, native: false or an own responseFormat get nothing new", async () => {
    const json = scriptedExecutor(['{"city":"Oslo"}'], { capabilities: { responseFormat: 'json' } });
    await pipeline(json)
      .use(validateOutput({ schema: City }))
      .generate(ASK);
    assert.deepEqual(json.calls[0]?.request.responseFormat, { type: 'json' });

    const plain = scriptedExecutor(['{"city":"Oslo"}']);
    await pipeline(plain)
      .use(validateOutput({ schema: City }))
      .generate(ASK);
    assert.equal(plain.calls[0]?.request.responseFormat, undefined);

    const off = scriptedExecutor(['{"city":"Oslo"}'], { capabilities: { responseFormat: 'schema' } });
    await pipeline(off)
      .use(validateOutput({ schema: City, native: false }))
      .generate(ASK);
    assert.equal(off.calls[0]?.request.responseFormat, undefined);

    const own = scriptedExecutor(['{"city":"Oslo"}'], { capabilities: { responseFormat: 'schema' } });
    await pipeline(own)
      .use(validateOutput({ schema: City }))
      .generate({ ...ASK, responseFormat: { type: 'json' } });
    assert.deepEqual(own.calls[0]?.request.responseFormat, { type: 'json' });
  });

  test('a nested pipeline forwards its executor capabilities; a transform schema is only checked', async () => {
    const model = scriptedExecutor(['{"city":"Oslo"}', '{"city":"Oslo"}'], {
      capabilities: { responseFormat: 'schema' },
    });
    const inner = pipeline(model);
    assert.deepEqual(inner.capabilities, { responseFormat: 'schema' });
    await pipeline(inner)
      .use(validateOutput({ schema: City }))
      .stream(ASK).response;
    assert.equal(model.calls[0]?.request.responseFormat?.type, 'json');
    const transformed = City.transform((v) => v.city.length);
    await pipeline(model)
      .use(validateOutput({ schema: transformed }))
      .generate(ASK);
    assert.equal(model.calls[1]?.request.responseFormat, undefined);
  });

  test('native must be a boolean', () => {
    assert.throws(() => validateOutput({ schema: City, native: 'yes' as never }), /`native`/);
  });
});
