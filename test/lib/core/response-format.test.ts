import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError, type ModelRequest, jsonResponseFormat, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { findRequestProblem } from '../../../lib/core/validate.js';

const base = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };

describe('request.responseFormat', () => {
  test('text, json and json with a schema are valid requests', () => {
    for (const responseFormat of [
      { type: 'text' },
      { type: 'json' },
      { type: 'json', schema: { type: 'object' }, name: 'city_1', description: 'd', strict: false },
    ] as const) {
      assert.equal(findRequestProblem({ ...base, responseFormat } as ModelRequest), undefined);
    }
  });

  test('a bad format is an InvalidRequestError naming the path', async () => {
    const app = pipeline(scriptedExecutor(['ok']));
    for (const responseFormat of [
      { type: 'xml' },
      { type: 'json', schema: 'no' },
      { type: 'json', name: 'has space' },
      { type: 'json', strcit: true },
    ]) {
      await assert.rejects(
        app.generate({ ...base, responseFormat } as unknown as ModelRequest),
        (error: unknown) => error instanceof InvalidRequestError && error.message.includes('responseFormat'),
      );
    }
  });

  test('a misspelt request key suggests responseFormat', async () => {
    const app = pipeline(scriptedExecutor(['ok']));
    await assert.rejects(
      app.generate({ ...base, responseFromat: { type: 'json' } } as unknown as ModelRequest),
      /did you mean `responseFormat`/,
    );
  });

  test('cacheControl is valid on system messages, text and image parts, tool results and tools', () => {
    const cacheControl = { type: 'ephemeral', ttl: '1h' } as const;
    const request: ModelRequest = {
      model: 'm',
      messages: [
        { role: 'system', content: 's', cacheControl },
        { role: 'user', content: [{ type: 'text', text: 'u', cacheControl }] },
        { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'c', toolName: 't', input: {} }] },
        { role: 'tool', toolCallId: 'c', toolName: 't', content: 'r', cacheControl: { type: 'ephemeral' } },
      ],
      tools: [{ name: 't', inputSchema: { type: 'object' }, cacheControl }],
    };
    assert.equal(findRequestProblem(request), undefined);
    const bad = { ...request, messages: [{ role: 'system', content: 's', cacheControl: { type: 'forever' } }] };
    assert.notEqual(findRequestProblem(bad as unknown as ModelRequest), undefined);
  });
});

describe('jsonResponseFormat()', () => {
  test('converts a zod schema to JSON Schema without $schema, named response by default', () => {
    const format = jsonResponseFormat(z.object({ city: z.string(), n: z.number() }).describe('A city'));
    assert.equal(format.type, 'json');
    assert.equal(format.name, 'response');
    assert.equal(format.description, 'A city');
    assert.equal(format.schema?.$schema, undefined);
    assert.deepEqual(format.schema?.required, ['city', 'n']);
    assert.equal(format.schema?.additionalProperties, false);
    assert.equal(findRequestProblem({ ...base, responseFormat: format }), undefined);
  });

  test('takes name, description and strict; rejects unknown options and non-schemas', () => {
    const format = jsonResponseFormat(z.object({}), { name: 'x', description: 'y', strict: false });
    assert.deepEqual([format.name, format.description, format.strict], ['x', 'y', false]);
    assert.throws(() => jsonResponseFormat(z.object({}), { nmae: 'x' } as never), /unknown option `nmae`/);
    assert.throws(() => jsonResponseFormat({} as never), /expected a zod schema/);
    assert.throws(() => jsonResponseFormat(z.string().transform((s) => s.length)), /cannot be expressed/);
  });
});
