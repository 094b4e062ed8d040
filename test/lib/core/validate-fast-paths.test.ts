// The validation shortcuts the agent loop relies on must never let an invalid request through.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError, type Message, type ToolMessage, pipeline } from 'modelware';
import { recordDerivation } from '../../../lib/internal/provenance.js';
import { findUpdateProblem, sealMessage } from '../../../lib/core/validate.js';
import { USER, recordingExecutor } from '../../fixtures/agent.js';

const call: Message = {
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 't', input: {} }],
};
const result: ToolMessage = { role: 'tool', toolCallId: 'c1', toolName: 't', content: 'full result' };
const HISTORY: Message[] = [USER, call, result];

/** Sends HISTORY through a layer that puts `replacement` at index 2, with validation on. */
function replaceResult(replacement: unknown) {
  return pipeline(recordingExecutor())
    .use(function swap(ctx, next) {
      ctx.update((draft) => {
        const messages = [...draft.messages];
        messages[2] = replacement as Message;
        draft.messages = messages;
      });
      return next();
    })
    .generate({ model: 'm', messages: HISTORY });
}

describe('validation fast paths', () => {
  test('a sealed result with the same ids passes in place; with another id it is an orphan and is rejected', async () => {
    await replaceResult(sealMessage({ ...result, content: '[stub]' }));
    const error = await replaceResult(sealMessage({ ...result, toolCallId: 'c9', content: '[stub]' })).catch((e) => e);
    assert.ok(InvalidRequestError.isInstance(error));
    assert.equal(error.layer, 'swap');
    assert.match(error.message, /messages\[2\]\.toolCallId: tool result `c9` has no matching tool call/);
  });

  test('sealMessage does not vouch for an invalid message, and a copy of a sealed one is checked again', async () => {
    const invalid = sealMessage({ role: 'tool', toolCallId: 'c1', toolName: 't', content: 42 });
    assert.ok(Object.isFrozen(invalid));
    assert.ok(InvalidRequestError.isInstance(await replaceResult(invalid).catch((e) => e)));
    const copy = { ...sealMessage({ ...result }), content: 42 };
    assert.ok(InvalidRequestError.isInstance(await replaceResult(copy).catch((e) => e)));
  });

  test("a caller's own array is checked again after it was pushed to; the run's arrays need no second check", async () => {
    const app = pipeline(recordingExecutor());
    const messages: Message[] = [...HISTORY];
    await app.generate({ model: 'm', messages });
    messages.push({ role: 'tool', toolCallId: 'nope', toolName: 't', content: 'x' });
    await assert.rejects(app.generate({ model: 'm', messages }), InvalidRequestError);
  });

  test('an unfrozen tool spec is checked on every call; a frozen one once', async () => {
    const app = pipeline(recordingExecutor());
    const spec = { name: 'search', inputSchema: { type: 'object' } };
    await app.generate({ model: 'm', messages: [USER], tools: [spec] });
    spec.name = 'has spaces';
    await assert.rejects(app.generate({ model: 'm', messages: [USER], tools: [spec] }), /tools\[0\]\.name/);
  });

  test('a recorded derivation vouches for nothing: what differs from its source is checked like any replacement', () => {
    // The core records derivations (call-core, replaceMessages) to find what changed, never to skip it.
    const orphan: ToolMessage = { role: 'tool', toolCallId: 'c9', toolName: 't', content: 'x' };
    const derived = [USER, call, orphan];
    const from = [USER, call, result];
    recordDerivation(derived, from, [2]);
    for (const base of [from, [USER, call, { ...result }]]) {
      const problem = findUpdateProblem({ model: 'm', messages: base }, { model: 'm', messages: derived });
      assert.deepEqual(problem?.path, ['messages', 2, 'toolCallId']);
    }
  });
});
