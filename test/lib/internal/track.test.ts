import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidRequestError, type Message, type ModelRequest } from 'modelware';
import { CallCore } from '../../../lib/core/call-core.js';
import type { RequestRecipe } from '../../../lib/core/context.js';
import { EventHub } from '../../../lib/core/events.js';
import { findRequestProblem } from '../../../lib/core/validate.js';

const SETTINGS = { validate: true, inspect: false, strict: false, events: new EventHub() };

function transcript(n: number): Message[] {
  const out: Message[] = [{ role: 'system', content: 'sys' }];
  for (let i = 1; i < n; i++) {
    if (i % 4 === 2) {
      out.push({
        role: 'assistant',
        content: [{ type: 'tool-call', toolCallId: `c${i}`, toolName: 'search', input: {} }],
      });
    } else if (i % 4 === 3) {
      out.push({ role: 'tool', toolCallId: `c${i - 1}`, toolName: 'search', content: `result ${i}` });
    } else {
      out.push({ role: 'user', content: `q${i}` });
    }
  }
  return out;
}

/** Applies a recipe through ctx.update (tracked validation) and reports whether it was accepted. */
function tracked(request: ModelRequest, recipe: RequestRecipe): boolean {
  const core = new CallCore(SETTINGS, request, 'generate', undefined, undefined, undefined);
  try {
    core.update(recipe, 'layer');
    return true;
  } catch (error) {
    if (InvalidRequestError.isInstance(error)) return false;
    throw error;
  }
}

/** The same recipe without validation, then a full check of the result. */
function full(request: ModelRequest, recipe: RequestRecipe): boolean {
  const core = new CallCore({ ...SETTINGS, validate: false }, request, 'generate', undefined, undefined, undefined);
  core.update(recipe, 'layer');
  return findRequestProblem(structuredClone(core.request) as ModelRequest) === undefined;
}

const BAD: Message = { role: 'tool', toolCallId: 'nope', toolName: 'search', content: 'orphan' };

// Each edit: a recipe built from random indices; some keep the request valid, some break it.
type Edit = (n: number) => RequestRecipe;
const at = (make: (k: number, n: number) => RequestRecipe): fc.Arbitrary<Edit> =>
  fc.nat().map(
    (k): Edit =>
      (n) =>
        make(k, n),
  );
const fixed = (recipe: RequestRecipe): fc.Arbitrary<Edit> => fc.constant((): RequestRecipe => recipe);

const edits: fc.Arbitrary<Edit> = fc.oneof(
  at((k, n) => (d) => void (d.messages[k % n] = { role: 'user', content: 'replaced' })),
  at((k, n) => (d) => void (d.messages[k % n] = BAD)),
  at((k, n) => (d) => void ((d.messages[k % n] as { content: unknown }).content = 'x')),
  at((k, n) => (d) => void ((d.messages[k % n] as { role: string }).role = 'user')),
  at((k, n) => (d) => void ((d.messages[k % n] as { role: string }).role = 'tool')),
  at((k, n) => (d) => void d.messages.splice(k % n, 1)),
  at((k, n) => (d) => void d.messages.splice(k % n, 0, BAD)),
  fixed((d) => void d.messages.reverse()),
  fixed((d) => void d.messages.push({ role: 'user', content: 'more' })),
  fixed((d) => void d.messages.push(BAD)),
  fixed((d) => void d.messages.unshift(BAD)),
  at((k, n) => (d) => void (d.messages.length = 1 + (k % n))),
  at((k, n) => (d) => {
    const { messages } = d;
    const m = messages[k % n];
    if (m) (m as { toolCallId?: string }).toolCallId = 'changed';
  }),
  at(
    (k, n) =>
      (_d, { original }) =>
        ({ ...original, messages: [...original.messages.slice(0, k % n), BAD] }) as ModelRequest,
  ),
);

describe('tracked validation', () => {
  it('accepts and rejects exactly what a full check of the result would', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 90 }), edits, (n, edit) => {
        const request: ModelRequest = { model: 'm', messages: transcript(n) };
        assert.equal(tracked(request, edit(n)), full(request, edit(n)));
      }),
      { numRuns: 1500 },
    );
  });

  it('catches a nested edit that breaks pairing without replacing the message from the recipe', () => {
    const request: ModelRequest = { model: 'm', messages: transcript(8) };
    const core = new CallCore(SETTINGS, request, 'generate', undefined, undefined, undefined);
    const before = core.request;
    assert.throws(
      () =>
        core.update((d) => {
          (d.messages[3] as { toolCallId: string }).toolCallId = 'zzz';
        }, 'rename'),
      (e: unknown) =>
        InvalidRequestError.isInstance(e) && e.layer === 'rename' && e.path.join('.') === 'messages.3.toolCallId',
    );
    assert.equal(core.request, before);
  });
});
