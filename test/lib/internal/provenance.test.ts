// Provenance may over-report changed indices but must never miss one: compaction copies its
// previous decisions for every index it does not list.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { changedBetween, recordDerivation } from '../../../lib/internal/provenance.js';

type Op =
  | { kind: 'set'; index: number }
  | { kind: 'push'; count: number }
  | { kind: 'truncate'; length: number }
  | { kind: 'untracked'; index: number }
  | { kind: 'unlisted'; index: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), index: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant('push' as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant('untracked' as const), index: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant('unlisted' as const), index: fc.nat({ max: 40 }) }),
);

let made = 0;
const fresh = () => ({ n: ++made });

/** Applies an edit the way the library would record it; 'untracked' makes a copy with no record. */
function derive(base: readonly object[], edit: Op): object[] {
  const next = base.slice();
  if (edit.kind === 'set' && base.length > 0) {
    const i = edit.index % base.length;
    next[i] = fresh();
    recordDerivation(next, base, [i]);
  } else if (edit.kind === 'push') {
    for (let k = 0; k < edit.count; k++) next.push(fresh());
    recordDerivation(next, base, []);
  } else if (edit.kind === 'truncate') {
    next.length = Math.min(next.length, edit.length);
    recordDerivation(next, base, []);
  } else if (edit.kind === 'untracked' && base.length > 0) {
    next[edit.index % base.length] = fresh();
  } else if (edit.kind === 'unlisted' && base.length > 0) {
    // Recorded, but without saying which indices changed.
    next[edit.index % base.length] = fresh();
    recordDerivation(next, base, null);
  }
  return next;
}

describe('provenance', () => {
  test('property: every index where two derived arrays differ is reported', () => {
    let answered = 0;
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), op), { maxLength: 12 }),
        (trunk, branches) => {
          // A tree of versions: a trunk, and branches off any version of it (like a transform's
          // output off each transcript version).
          const versions: object[][] = [Array.from({ length: 5 }, fresh)];
          for (const edit of trunk) versions.push(derive(versions.at(-1) as object[], edit));
          for (const [at, edit] of branches) versions.push(derive(versions[at % versions.length] as object[], edit));
          for (const a of versions) {
            for (const b of versions) {
              const changed = changedBetween(a, b);
              if (changed === undefined) continue;
              answered++;
              const limit = Math.min(a.length, b.length);
              for (let i = 0; i < limit; i++) {
                if (a[i] !== b[i]) assert.ok(changed.includes(i), `index ${i} differs but was not reported`);
              }
              assert.ok(changed.every((i) => i < limit));
            }
          }
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(answered > 1000, `only ${answered} pairs were answered`);
  });

  test('an append-only chain with a rewritten first element reports just that index', () => {
    let transcript: object[] = Array.from({ length: 3 }, fresh);
    let previousView: object[] | undefined;
    for (let turn = 0; turn < 20; turn++) {
      const view = transcript.slice();
      view[0] = fresh();
      recordDerivation(view, transcript, [0]);
      if (previousView) assert.deepEqual(changedBetween(view, previousView), [0]);
      previousView = view;
      const next = transcript.concat([fresh(), fresh()]);
      recordDerivation(next, transcript, []);
      transcript = next;
    }
  });

  test('arrays with no recorded derivation, or unrelated ones, are not answered', () => {
    const a = [fresh()];
    const b = [fresh()];
    assert.equal(changedBetween(a, b), undefined);
    const c = a.concat([fresh()]);
    recordDerivation(c, a, []);
    const d = b.concat([fresh()]);
    recordDerivation(d, b, []);
    assert.equal(changedBetween(c, d), undefined);
    assert.deepEqual(changedBetween(c, a), []);
    // A derivation that does not list its changes ends the search.
    const e = c.slice();
    e[0] = fresh();
    recordDerivation(e, c, null);
    assert.equal(changedBetween(e, c), undefined);
    assert.equal(changedBetween(e, a), undefined);
  });
});

describe('the entry copy of the caller’s messages', () => {
  test('is recorded as deriving from the caller’s array with no index changed, so compaction need not compare every message', async () => {
    const { pipeline } = await import('../../../lib/index.js');
    const { scriptedExecutor } = await import('../../../lib/testing/index.js');
    const { wantProvenance } = await import('../../../lib/internal/provenance.js');
    wantProvenance();
    const messages = [
      { role: 'system' as const, content: 'be brief' },
      { role: 'user' as const, content: 'hi' },
    ];
    let seen: readonly unknown[] | undefined;
    const app = pipeline(scriptedExecutor(['ok'])).use(async function look(ctx, next) {
      seen = ctx.request.messages;
      await next();
    });
    await app.generate({ model: 'm', messages });
    assert.notEqual(seen, messages);
    assert.deepEqual(changedBetween(seen as readonly unknown[], messages), []);
  });
});
