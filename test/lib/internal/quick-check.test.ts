// The hand-written checks in lib/quick-check.ts may only say "valid" where zod does: they run
// before zod and a wrong `true` would let an invalid message through unchecked.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FinishReasonSchema, InvalidResponseError, MessageSchema, ModelResponseSchema, pipeline } from 'modelware';
import { QUICK_FINISH_REASONS, isQuickValidMessage, isQuickValidResponse } from '../../../lib/internal/quick-check.js';
import { validateResponse } from '../../../lib/core/validate.js';

/** Values a field may hold, right or wrong: most tests of a check live at the edges. */
const anyValue = fc.oneof(
  fc.constantFrom(undefined, null, '', 'x', 'text', 0, -1, 1.5, 2 ** 53, Number.NaN, true, false, [], {}),
  fc.string(),
  fc.integer(),
  fc.double(),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, anyValue);

const part = fc.oneof(
  fc.record({ type: maybe(fc.constant('text')), text: maybe(fc.string()) }, { requiredKeys: [] }),
  fc.record(
    {
      type: maybe(fc.constant('tool-call')),
      toolCallId: maybe(fc.string()),
      toolName: maybe(fc.string()),
      input: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.record({ type: fc.constant('reasoning'), text: maybe(fc.string()), signature: maybe(fc.string()) }),
  fc.record({ type: fc.constant('image'), image: maybe(fc.string()) }),
  anyValue,
);

const id = fc.string({ minLength: 1, maxLength: 5 });
/** Valid messages of each role, so the property sees plenty that both checks accept. */
const validMessage = fc.oneof(
  fc.record({ role: fc.constantFrom('system', 'user'), content: fc.string() }),
  fc.record(
    { role: fc.constant('tool'), toolCallId: id, toolName: id, content: fc.string(), isError: fc.boolean() },
    { requiredKeys: ['role', 'toolCallId', 'toolName', 'content'] },
  ),
  fc.record({
    role: fc.constant('assistant'),
    content: fc.oneof(
      fc.string(),
      fc.array(
        fc.oneof(
          fc.record({ type: fc.constant('text'), text: fc.string() }),
          fc.record({ type: fc.constant('tool-call'), toolCallId: id, toolName: id, input: fc.jsonValue() }),
        ),
        { maxLength: 3 },
      ),
    ),
  }),
);

const message = fc.oneof(
  validMessage,
  fc.record(
    {
      role: maybe(fc.constantFrom('system', 'user', 'assistant', 'tool')),
      content: fc.oneof(maybe(fc.string()), fc.array(part, { maxLength: 4 })),
      toolCallId: maybe(fc.string()),
      toolName: maybe(fc.string()),
      isError: maybe(fc.boolean()),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.array(anyValue, { maxLength: 2 }),
  anyValue,
);

const usageKeys = {
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  cachedInputTokens: 0,
  reasoningTokens: 0,
};
const usage = fc.record(
  {
    inputTokens: maybe(fc.nat()),
    outputTokens: maybe(fc.nat()),
    totalTokens: maybe(fc.nat()),
    cachedInputTokens: maybe(fc.nat()),
    reasoningTokens: maybe(fc.nat()),
  },
  { requiredKeys: [] },
);

const validResponse = fc.record(
  {
    message: validMessage.filter((m) => m.role === 'assistant'),
    finishReason: fc.constantFrom('stop', 'length', 'tool-calls', 'content-filter', 'error', 'other'),
    usage: fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat() }),
    model: fc.string(),
  },
  { requiredKeys: ['message', 'finishReason'] },
);

/** A valid response with one field set to an arbitrary value: right at the edge of the schema. */
const oneFieldOff = fc
  .tuple(
    validResponse,
    fc.constantFrom('finishReason', 'model', 'usage', ...Object.keys(usageKeys).map((k) => `usage.${k}`)),
    anyValue,
  )
  .map(([r, field, value]) => {
    const copy = { ...r, usage: { ...r.usage } } as Record<string, unknown>;
    const [head, key] = field.split('.');
    if (key) (copy.usage as Record<string, unknown>)[key] = value;
    else copy[head as string] = value;
    return copy;
  });

const mutatedResponse = fc.record(
  {
    message: fc.oneof(validMessage, message),
    finishReason: maybe(fc.constantFrom('stop', 'length', 'tool-calls', 'content-filter', 'error', 'other', 'done')),
    usage: fc.oneof(
      fc.constant(undefined),
      fc.record({ inputTokens: fc.nat(), outputTokens: fc.nat() }),
      usage,
      anyValue,
    ),
    model: maybe(fc.string()),
  },
  { requiredKeys: [] },
);

describe('quick checks', () => {
  test('know exactly the finish reasons of FinishReasonSchema (lib/internal cannot import it)', () => {
    assert.deepEqual([...QUICK_FINISH_REASONS].sort(), [...FinishReasonSchema.options].sort());
  });

  test('a message the quick check accepts is one MessageSchema accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(message, (m) => {
        if (!isQuickValidMessage(m)) return;
        accepted++;
        const result = MessageSchema.safeParse(m);
        assert.ok(result.success, `quick check accepted ${JSON.stringify(m)}: ${result.error?.message}`);
      }),
      { numRuns: 5000 },
    );
    // The property says nothing if the check never accepts: make sure it was exercised.
    assert.ok(accepted > 1000, `only ${accepted} generated messages were accepted`);
  });

  test('a response the quick check accepts is one ModelResponseSchema accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(validResponse, oneFieldOff, mutatedResponse), (r) => {
        if (!isQuickValidResponse(r)) return;
        accepted++;
        const result = ModelResponseSchema.safeParse(r);
        assert.ok(result.success, `quick check accepted ${JSON.stringify(r)}: ${result.error?.message}`);
      }),
      { numRuns: 5000 },
    );
    assert.ok(accepted > 500, `only ${accepted} generated responses were accepted`);
  });

  test('the common shapes take the quick path; anything it does not know goes to zod', () => {
    assert.ok(isQuickValidMessage({ role: 'system', content: 'be brief' }));
    assert.ok(isQuickValidMessage({ role: 'tool', toolCallId: 'c1', toolName: 't', content: '', isError: true }));
    assert.ok(
      isQuickValidMessage({
        role: 'assistant',
        content: [
          { type: 'text', text: 'calling' },
          { type: 'tool-call', toolCallId: 'c1', toolName: 't', input: { q: 1 } },
        ],
      }),
    );
    // Valid, but left to zod: reasoning and image parts.
    assert.equal(isQuickValidMessage({ role: 'assistant', content: [{ type: 'reasoning', text: 'hm' }] }), false);
    assert.ok(MessageSchema.safeParse({ role: 'assistant', content: [{ type: 'reasoning', text: 'hm' }] }).success);
    // Invalid: an empty id.
    assert.equal(isQuickValidMessage({ role: 'tool', toolCallId: '', toolName: 't', content: 'x' }), false);
  });

  test('an invalid response still fails with zod’s wording and the source named', async () => {
    const bad = { message: { role: 'assistant', content: 'hi' }, finishReason: 'done' };
    assert.throws(
      () => validateResponse(bad, 'provider'),
      (error: unknown) =>
        InvalidResponseError.isInstance(error) && error.source === 'provider' && /finishReason/.test(error.message),
    );
    const app = pipeline({ name: 'p', generate: async () => bad as never });
    const error = await app.generate({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e);
    assert.ok(InvalidResponseError.isInstance(error));
    assert.match(error.message, /finishReason/);
  });

  test('a message edited in place after it passed is checked again', async () => {
    const seen: unknown[] = [];
    const app = pipeline({
      name: 'p',
      generate: async (request) => {
        seen.push(request.messages.length);
        return { message: { role: 'assistant', content: 'ok' }, finishReason: 'stop' };
      },
    });
    const user = { role: 'user' as const, content: 'hi' as unknown as string };
    await app.generate({ model: 'm', messages: [user] });
    user.content = 42 as unknown as string;
    await assert.rejects(app.generate({ model: 'm', messages: [user] }), /messages\[0\]\.content/);
    assert.deepEqual(seen, [1]);
  });
});
