// Entry validation of a caller's growing history pays for the new messages only, and still catches
// every in-place edit the full check would: a fast-check property holds it equal to a fresh check.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidRequestError, type Message, MessageSchema, type ModelRequest, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { checkToolPairing, findRequestProblem } from '../../../lib/core/validate.js';

type Loose = Record<string, unknown>;

const call = (id: string, name = 't'): Loose => ({
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: id, toolName: name, input: {} }],
});
const result = (id: string, name = 't'): Loose => ({ role: 'tool', toolCallId: id, toolName: name, content: 'r' });
const user = (text: string): Loose => ({ role: 'user', content: text });
const check = (messages: readonly unknown[]) => findRequestProblem({ model: 'm', messages } as unknown as ModelRequest);

/** Where a problem is: the message, and for a pairing problem the field it names. */
type Where = readonly unknown[] | undefined;

/** The full check on fresh copies: nothing any earlier check remembered can apply. */
function reference(messages: readonly unknown[]): Where {
  const copies = structuredClone(messages) as Message[];
  for (let i = 0; i < copies.length; i++) {
    if (!MessageSchema.safeParse(copies[i]).success) return ['messages', i, 'message'];
  }
  return checkToolPairing(copies)?.path.slice(0, 3);
}

function where(messages: readonly unknown[]): Where {
  const problem = check(messages);
  if (!problem) return undefined;
  const pairing = problem.issues[0]?.code === 'custom';
  return pairing ? problem.path.slice(0, 3) : [...problem.path.slice(0, 2), 'message'];
}

describe("entry validation of a caller's growing history", () => {
  test('a copy that appends to a checked history is valid, and a pairing error in the new tail is found', () => {
    const history = [user('go'), call('c1'), result('c1')];
    assert.equal(check(history), undefined);
    assert.equal(check([...history, call('c2'), result('c2')]), undefined);
    // Answers a call of the checked prefix a second time.
    assert.deepEqual(check([...history, result('c1')])?.path, ['messages', 3, 'toolCallId']);
    // Answers a call of the prefix with another tool name.
    const grown = [...history, call('c2'), result('c2')];
    assert.equal(check(grown), undefined);
    assert.deepEqual(check([...grown, result('c2', 'other')])?.path, ['messages', 5, 'toolName']);
    assert.deepEqual(check([...grown, result('c2')])?.path, ['messages', 5, 'toolCallId']);
    assert.deepEqual(check([...grown, call('c3'), result('c3', 'other')])?.path, ['messages', 6, 'toolName']);
  });

  for (const [field, value] of [
    ['role', 'bogus'],
    ['content', 42],
    ['toolCallId', 'nope'],
    ['toolName', 'other'],
  ] as const) {
    test(`an in-place edit of an old message's ${field} is caught when the history grows`, () => {
      const history = [user('go'), call('c1'), result('c1'), user('more')];
      assert.equal(check(history), undefined);
      const target = history[2] as Loose;
      target[field] = value;
      assert.notEqual(check([...history, user('next')]), undefined);
      target[field] = { role: 'tool', content: 'r', toolCallId: 'c1', toolName: 't' }[field];
      assert.equal(check([...history, user('next')]), undefined);
    });
  }

  test('the same array pushed to, an element replaced in place, and an older shorter version all check right', () => {
    const history = [user('go'), call('c1'), result('c1')];
    const older = [...history];
    assert.equal(check(history), undefined);
    history.push(user('more'));
    assert.equal(check(history), undefined);
    history[1] = user('no call any more');
    assert.deepEqual(check(history)?.path, ['messages', 2, 'toolCallId']);
    assert.equal(check(older), undefined);
  });

  test('through a pipeline, the caller names the invalid edit', async () => {
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model);
    const messages: Loose[] = [user('go'), call('c1'), result('c1')];
    await app.generate({ model: 'm', messages } as unknown as ModelRequest);
    (messages[0] as Loose).content = { not: 'text' };
    const error = await app
      .generate({ model: 'm', messages: [...messages, user('again')] } as unknown as ModelRequest)
      .catch((e: unknown) => e);
    assert.ok(InvalidRequestError.isInstance(error));
    assert.equal(error.layer, 'caller');
    assert.deepEqual(error.path.slice(0, 2), ['messages', 0]);
    assert.equal(model.calls.length, 1);
  });

  // Any sequence of appends, in-place edits, replacements and re-checks of older versions: the
  // answer (and where it points) equals a fresh full check of the same messages.
  type Op =
    | { kind: 'append'; message: number; copy: boolean }
    | { kind: 'edit'; at: number; field: 'role' | 'content' | 'toolCallId' | 'toolName'; value: number }
    | { kind: 'replace'; at: number; message: number }
    | { kind: 'older'; back: number };

  const ROLES = ['user', 'assistant', 'tool', 'bogus'];
  const IDS = ['c0', 'c1', 'c2', 'c3'];
  const NAMES = ['t', 'u'];
  const makeMessage = (n: number): Loose => {
    const id = IDS[n % IDS.length] as string;
    const name = NAMES[(n >> 2) % NAMES.length] as string;
    switch ((n >> 3) % 6) {
      case 0:
        return user(`u${n}`);
      case 1:
        return call(id, name);
      case 2:
      case 3:
        return result(id, name);
      case 4:
        return { role: 'assistant', content: `a${n}` };
      default:
        return { role: ROLES[n % ROLES.length], content: n % 5 === 0 ? 7 : 'x' };
    }
  };
  const fieldValue = (field: string, v: number): unknown =>
    field === 'role'
      ? ROLES[v % ROLES.length]
      : field === 'content'
        ? v % 3 === 0
          ? 42
          : `e${v}`
        : field === 'toolCallId'
          ? IDS[v % IDS.length]
          : NAMES[v % NAMES.length];

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant('append' as const), message: fc.nat(200), copy: fc.boolean() }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('edit' as const),
        at: fc.nat(),
        field: fc.constantFrom('role' as const, 'content' as const, 'toolCallId' as const, 'toolName' as const),
        value: fc.nat(20),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), message: fc.nat(200) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('older' as const), back: fc.nat(5) }) },
  );

  test('agrees with a fresh full check for any sequence of appends and edits (fast-check, 300 runs)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        let current: Loose[] = [user('start')];
        const versions: Loose[][] = [current];
        for (const op of ops) {
          if (op.kind === 'append') {
            if (op.copy) current = [...current, makeMessage(op.message)];
            else current.push(makeMessage(op.message));
            versions.push(current);
          } else if (op.kind === 'edit') {
            const target = current[op.at % current.length] as Loose;
            // The ids of a tool result are part of what is remembered; on other messages they are
            // unknown keys, which an in-place edit may add unseen (as before: see validated-prefix.ts).
            if (op.field === 'role' || op.field === 'content' || target.role === 'tool') {
              target[op.field] = fieldValue(op.field, op.value);
            }
          } else if (op.kind === 'replace') {
            current[op.at % current.length] = makeMessage(op.message);
          } else {
            current = versions[Math.max(0, versions.length - 1 - op.back)] as Loose[];
          }
          assert.deepEqual(where(current), reference(current));
        }
      }),
      { numRuns: 300 },
    );
  });
});
