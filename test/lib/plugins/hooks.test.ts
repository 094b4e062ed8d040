import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { PluginError, block, defineHook, definePlugin } from 'modelware';
import { hookPoints as HOOKS } from '../../../lib/plugins/hook-points.js';
import { findFieldProblem, findReadOnlyChange } from '../../../lib/plugins/payload-checks.js';
import { managerWithEvents } from '../../fixtures/plugins.js';

const REQUEST = Object.freeze({
  model: 'm',
  messages: Object.freeze([Object.freeze({ role: 'user' as const, content: 'hi' })]),
});
const CALL = { callId: 'c1', mode: 'generate' as const, metadata: {} };

describe('built-in hook points', () => {
  test('all fifteen are defined, each with a zod payload and a writable policy', () => {
    assert.deepEqual(Object.keys(HOOKS), [
      'run_start',
      'run_end',
      'turn_start',
      'turn_end',
      'model_resolve',
      'transform_context',
      'llm_input',
      'llm_output',
      'llm_error',
      'stream_chunk',
      'tool_pre_invoke',
      'tool_post_invoke',
      'tool_result_persist',
      'validation_check',
      'repair',
    ]);
    for (const [name, point] of Object.entries(HOOKS)) {
      assert.equal(point.name, name);
      assert.ok(point.payload instanceof z.ZodObject, `${name} has a zod object payload`);
    }
  });

  const POLICIES: [keyof typeof HOOKS, readonly string[]][] = [
    ['model_resolve', ['model']],
    ['transform_context', ['messages']],
    ['llm_input', ['request.messages', 'request.tools', 'request.options', 'request.metadata']],
    ['llm_output', ['response']],
    ['run_end', []],
    ['tool_result_persist', ['message.content', 'message.isError']],
  ];
  for (const [name, writable] of POLICIES) {
    test(`${name} declares writable: [${writable.join(', ')}]`, () => {
      assert.deepEqual(HOOKS[name].writable, writable);
    });
  }

  test('llm_input refuses a change of request.model (routing belongs to model_resolve)', async () => {
    const { manager } = managerWithEvents();
    manager.register(
      definePlugin({ name: 'p', hooks: { llm_input: (p) => void ((p.request as { model: string }).model = 'x') } }),
    );
    const payload = { ...CALL, model: { requested: 'm', resolved: 'm' }, request: REQUEST };
    await assert.rejects(manager.dispatch(HOOKS.llm_input, payload), (e: unknown) => {
      assert.ok(PluginError.isInstance(e));
      assert.equal(e.field, 'request.model');
      return true;
    });
  });

  test('transform_context checks changed messages incrementally and names the broken path', async () => {
    const { manager } = managerWithEvents();
    manager.register(
      definePlugin({
        name: 'orphan',
        hooks: {
          transform_context: (p) =>
            void p.messages.push({ role: 'tool', toolCallId: 'x', toolName: 't', content: 'r' }),
        },
      }),
    );
    const payload = { ...CALL, model: { requested: 'm', resolved: 'm' }, messages: REQUEST.messages };
    await assert.rejects(manager.dispatch(HOOKS.transform_context, payload), (e: unknown) => {
      assert.ok(PluginError.isInstance(e));
      assert.equal(e.failure, 'invalid');
      assert.equal(e.field, 'messages[1].toolCallId');
      assert.match(e.message, /no matching tool call/);
      return true;
    });
  });
});

describe('defineHook', () => {
  test('returns a typed point that plugins can handle and dispatch fires', async () => {
    const cacheHit = defineHook({
      name: 'test_cache_hit',
      payload: z.object({ key: z.string(), answer: z.string() }),
      writable: ['answer'],
    });
    const { manager } = managerWithEvents();
    // Not in HookRegistry (no declaration merging here), so the handler map is cast.
    const hooks = { test_cache_hit: (p: { answer: string }) => void (p.answer += '!') };
    manager.register(definePlugin({ name: 'p', hooks: hooks as never }));
    assert.deepEqual(await manager.dispatch(cacheHit, { key: 'k', answer: 'yes' }), { key: 'k', answer: 'yes!' });
  });

  const BAD: [string, unknown, RegExp][] = [
    ['a name that is not snake_case', { name: 'CacheHit', payload: z.object({}) }, /`name` to be snake_case/],
    ['a built-in name', { name: 'llm_input', payload: z.object({}) }, /`llm_input` is already defined/],
    ['a payload that is not a zod object', { name: 'test_x', payload: z.string() }, /zod object schema/],
    [
      'a writable path outside the schema',
      { name: 'test_y', payload: z.object({ a: z.string() }), writable: ['b'] },
      /writable path `b` does not name a field/,
    ],
  ];
  for (const [what, options, message] of BAD) {
    test(`rejects ${what}`, () => {
      assert.throws(() => defineHook(options as never), message);
    });
  }
});

describe('findReadOnlyChange', () => {
  const policy = { a: true, b: { c: true } } as const;
  const before = { a: { x: 1 }, b: { c: 1, d: { e: 1 } }, f: [1, 2] };
  const CASES: [string, object, string | undefined][] = [
    ['no change', before, undefined],
    ['a writable subtree', { ...before, a: { x: 2, y: 3 } }, undefined],
    ['a writable nested leaf', { ...before, b: { ...before.b, c: 2 } }, undefined],
    ['a read-only sibling of a writable leaf', { ...before, b: { ...before.b, d: { e: 2 } } }, 'b.d.e'],
    ['a read-only array element', { ...before, f: [1, 3] }, 'f.1'],
    ['a removed field', { a: before.a, b: before.b }, 'f'],
  ];
  for (const [what, after, expected] of CASES) {
    test(what, () => {
      assert.equal(findReadOnlyChange(before, after, policy), expected);
    });
  }
});

test('findFieldProblem checks only changed writable fields', () => {
  const before = { text: 'a', locked: 'L', nested: { open: 'o', shut: 's' } };
  const point = defineHook({
    name: 'test_fields',
    payload: z.object({
      text: z.string(),
      locked: z.string(),
      nested: z.object({ open: z.string(), shut: z.string() }),
    }),
    writable: ['text', 'nested.open'],
  });
  assert.equal(findFieldProblem(point, before, { ...before, text: 'b' }), undefined);
  assert.deepEqual(findFieldProblem(point, before, { ...before, nested: { open: 1, shut: 's' } })?.path, [
    'nested',
    'open',
  ]);
});

test('block() builds a block result; details are optional', () => {
  assert.deepEqual(block('r', 'C'), { block: { reason: 'r', code: 'C' } });
  assert.deepEqual(block('r', 'C', { n: 1 }), { block: { reason: 'r', code: 'C', details: { n: 1 } } });
});
