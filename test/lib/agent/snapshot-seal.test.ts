// Sealed snapshots: a snapshot that travels through untrusted hands comes back only as it left.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SnapshotError, openRunSnapshot, runAgent, sealRunSnapshot, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const KEY = randomBytes(32);
const OTHER = 'another key of at least thirty-two bytes!';

/** A run that stops for approval of a payment of 90000 cents. */
async function interrupted(log: string[]) {
  const pay = tool({
    name: 'pay',
    input: z.object({ to: z.string(), cents: z.number().int() }),
    needsApproval: true,
    execute: ({ to, cents }) => {
      log.push(`pay ${to} ${cents}`);
      return 'paid';
    },
  });
  const model = scriptedExecutor([
    { toolCalls: [{ id: 'c1', name: 'pay', input: { to: 'tax', cents: 90000 } }] },
    'done',
  ]);
  const result = await runAgent({ model, modelId: 'm', messages: [{ role: 'user', content: 'pay' }], tools: [pay] });
  assert.equal(result.stopReason, 'interrupted');
  return { result, model, tools: [pay] };
}

function refusedWith(code: string) {
  return (error: unknown) => {
    assert.ok(SnapshotError.isInstance(error), String(error));
    assert.equal(error.code, code);
    return true;
  };
}

describe('sealRunSnapshot / openRunSnapshot', () => {
  test('a sealed snapshot opens with its key and resumes the run', async () => {
    const log: string[] = [];
    const { result, model, tools } = await interrupted(log);
    const sealed = sealRunSnapshot(result.snapshot!, { key: KEY });
    assert.match(sealed, /^mwsnap1\.[A-Za-z0-9_-]{43}\.\{/);
    const snapshot = openRunSnapshot(sealed, { key: KEY });
    assert.deepEqual(snapshot, JSON.parse(JSON.stringify(result.snapshot)));
    const resumed = await runAgent({ model, tools, resume: { snapshot, decisions: { c1: { type: 'approve' } } } });
    assert.equal(resumed.stopReason, 'no-tool-calls');
    assert.deepEqual(log, ['pay tax 90000']);
  });

  test('an edited pending input is refused, and nothing runs', async () => {
    const log: string[] = [];
    const { result } = await interrupted(log);
    const sealed = sealRunSnapshot(result.snapshot!, { key: KEY });
    const forged = sealed.replace('"cents":90000', '"cents":9');
    assert.notEqual(forged, sealed);
    assert.throws(() => openRunSnapshot(forged, { key: KEY }), refusedWith('SNAPSHOT_BAD_SIGNATURE'));
    assert.deepEqual(log, []);
  });

  test('property: changing any one character of a sealed snapshot is refused', async () => {
    const { result } = await interrupted([]);
    const sealed = sealRunSnapshot(result.snapshot!, { key: KEY });
    fc.assert(
      fc.property(fc.nat({ max: sealed.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }), (at, ch) => {
        fc.pre(sealed[at] !== ch);
        const edited = sealed.slice(0, at) + ch + sealed.slice(at + 1);
        assert.throws(() => openRunSnapshot(edited, { key: KEY }), SnapshotError);
      }),
      { numRuns: 300 },
    );
  });

  test('every other last character of the signature is refused (no spare bits that decode alike)', async () => {
    const { result } = await interrupted([]);
    const sealed = sealRunSnapshot(result.snapshot!, { key: KEY });
    const last = sealed.indexOf('.', 'mwsnap1.'.length) - 1;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const ch of alphabet) {
      if (ch === sealed[last]) continue;
      const edited = sealed.slice(0, last) + ch + sealed.slice(last + 1);
      assert.throws(
        () => openRunSnapshot(edited, { key: KEY }),
        refusedWith('SNAPSHOT_BAD_SIGNATURE'),
        `accepted ${ch}`,
      );
    }
  });

  test('another key, an unsealed snapshot, too long a text or not a string: bad-signature, content never printed', async () => {
    const { result } = await interrupted([]);
    const sealed = sealRunSnapshot(result.snapshot!, { key: KEY });
    assert.throws(() => openRunSnapshot(sealed, { key: OTHER }), refusedWith('SNAPSHOT_BAD_SIGNATURE'));
    assert.throws(
      () => openRunSnapshot(JSON.stringify(result.snapshot), { key: KEY }),
      refusedWith('SNAPSHOT_BAD_SIGNATURE'),
    );
    assert.throws(() => openRunSnapshot(sealed, { key: KEY, maxChars: 100 }), refusedWith('SNAPSHOT_BAD_SIGNATURE'));
    assert.throws(() => openRunSnapshot(42 as never, { key: KEY }), refusedWith('SNAPSHOT_BAD_SIGNATURE'));
    try {
      openRunSnapshot(sealed, { key: OTHER });
    } catch (error) {
      assert.ok(!(error as Error).message.includes('tax'), 'the message quotes the snapshot');
    }
  });

  test('key rotation: any of the keys opens it; the first one seals', async () => {
    const { result } = await interrupted([]);
    const old = sealRunSnapshot(result.snapshot!, { key: OTHER });
    assert.ok(openRunSnapshot(old, { key: [KEY, OTHER] }));
    const fresh = sealRunSnapshot(result.snapshot!, { key: KEY });
    assert.ok(openRunSnapshot(fresh, { key: [KEY, OTHER] }));
  });

  test('a short key, a key of the wrong type, an unknown option and an invalid snapshot are refused up front', async () => {
    const { result } = await interrupted([]);
    const snapshot = result.snapshot!;
    assert.throws(() => sealRunSnapshot(snapshot, { key: 'short' }), /at least 32 random bytes/);
    assert.throws(() => sealRunSnapshot(snapshot, { key: 42 as never }), /a string or a Uint8Array/);
    assert.throws(() => openRunSnapshot('x', { key: [] }), /at least one key/);
    assert.throws(() => sealRunSnapshot(snapshot, { key: KEY, secret: 1 } as never), /unknown option `secret`/);
    assert.throws(
      () => sealRunSnapshot({ ...snapshot, version: 99 } as never, { key: KEY }),
      refusedWith('SNAPSHOT_VERSION'),
    );
  });
});
