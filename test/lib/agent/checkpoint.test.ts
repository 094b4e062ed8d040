// Checkpoints: runAgent({ checkpoint: { store } }) saves each step to a run store as it happens,
// and the log rebuilds the run. A "crash" is a run aborted while a tool runs: the log then holds
// what a dead process would have left.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentError, type Message, RunLeaseError, memoryRunStore, runAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { rebuildRun } from '../../../lib/agent/checkpoint.js';
import { USER, add, deferred, summary } from '../../fixtures/agent.js';

const LEASE_OPTIONS = { leaseTtlMs: 600_000 };
const twoTurns = () =>
  scriptedExecutor([{ toolCalls: [{ id: 't1', name: 'add', input: { a: 1, b: 2 } }] }, 'The answer is 3.']);

describe('runAgent({ checkpoint })', () => {
  it('saves each step as it happens: start, the answer, each tool as it starts and returns, the end', async () => {
    const store = memoryRunStore();
    const result = await runAgent({
      model: twoTurns(),
      modelId: 'm',
      messages: [USER],
      tools: [add],
      checkpoint: { store, runId: 'run-a', ...LEASE_OPTIONS },
    });
    assert.equal(result.runId, 'run-a');
    const log = await store.read('run-a');
    assert.deepEqual(
      log.entries.map((e) => e.type),
      ['start', 'message', 'tool-started', 'tool-result', 'message', 'finished'],
    );
    assert.equal(log.finished, true);
    assert.deepEqual(log.entries.at(-1), { type: 'finished', meta: { stopReason: 'no-tool-calls' } });
    const rebuilt = rebuildRun('run-a', log.entries, log.finished);
    assert.deepEqual(rebuilt?.transcript, result.transcript);
    assert.deepEqual([rebuilt?.turn, rebuilt?.usage, rebuilt?.modelId], [2, result.usage, 'm']);
    // The lease is given up when the run ends: another worker may take it at once.
    await store.acquire('run-a', 'other', { ttlMs: 1000 });
  });

  it('keeps what a crash leaves: results saved, the call that was running marked started without a result', async () => {
    const store = memoryRunStore();
    const controller = new AbortController();
    const running = deferred();
    const slow = tool({
      name: 'slow',
      input: z.object({}),
      execute: async () => {
        running.resolve();
        await new Promise(() => {});
      },
    });
    const model = scriptedExecutor([
      {
        toolCalls: [
          { id: 'fast', name: 'add', input: { a: 1, b: 1 } },
          { id: 'hung', name: 'slow', input: {} },
        ],
      },
    ]);
    const run = runAgent({
      model,
      modelId: 'm',
      messages: [USER],
      tools: [add, slow],
      signal: controller.signal,
      checkpoint: { store, runId: 'run-b', ...LEASE_OPTIONS },
    });
    await running.promise;
    controller.abort(new Error('process died'));
    await assert.rejects(run, (e: unknown) => AgentError.isInstance(e) && e.reason === 'aborted');
    const log = await store.read('run-b');
    assert.equal(log.finished, false);
    const rebuilt = rebuildRun('run-b', log.entries, log.finished);
    assert.deepEqual(summary(rebuilt?.transcript ?? []), ['user:What is 1 + 2?']);
    assert.deepEqual([...(rebuilt?.pending?.results.keys() ?? [])], ['fast']);
    assert.deepEqual([...(rebuilt?.pending?.started ?? [])], ['hung']);
    assert.equal(rebuilt?.turn, 1);
  });

  it('refuses a second worker while the run holds its lease: RunLeaseError `held`, as the store throws it', async () => {
    const store = memoryRunStore();
    await store.acquire('run-c', 'worker-1', { ttlMs: 600_000 });
    await assert.rejects(
      runAgent({
        model: twoTurns(),
        modelId: 'm',
        messages: [USER],
        tools: [add],
        checkpoint: { store, runId: 'run-c' },
      }),
      (e: unknown) => RunLeaseError.isInstance(e) && e.code === 'held',
    );
    assert.equal((await store.read('run-c')).length, 0);
  });

  it('never writes over the log of an earlier run with the same id', async () => {
    const store = memoryRunStore();
    const options = { modelId: 'm', messages: [USER], tools: [add], checkpoint: { store, runId: 'run-d' } } as const;
    await runAgent({ model: twoTurns(), ...options });
    await assert.rejects(runAgent({ model: twoTurns(), ...options }), /already has a checkpoint/);
    assert.equal((await store.read('run-d')).length, 6);
  });

  it('fails the run when its lease was taken over: nothing more is written by the old worker', async () => {
    let clock = 0;
    const store = memoryRunStore({ now: () => clock });
    const model = scriptedExecutor([
      async () => {
        // The lease expires while the model thinks, and another worker takes the run over.
        clock += 1_000_000;
        await store.acquire('run-e', 'worker-2', { ttlMs: 600_000 });
        return { toolCalls: [{ id: 't1', name: 'add', input: { a: 1, b: 2 } }] };
      },
    ]);
    await assert.rejects(
      runAgent({
        model,
        modelId: 'm',
        messages: [USER],
        tools: [add],
        checkpoint: { store, runId: 'run-e', leaseTtlMs: 600_000 },
      }),
      (e: unknown) => AgentError.isInstance(e) && RunLeaseError.isInstance(e.cause) && e.cause.code === 'lost',
    );
    assert.deepEqual(
      (await store.read('run-e')).entries.map((e) => e.type),
      ['start'],
    );
  });

  it('saves the whole transcript again after a layer edits it, so the log rebuilds the edit', async () => {
    const store = memoryRunStore();
    const result = await runAgent({
      model: twoTurns(),
      modelId: 'm',
      messages: [{ role: 'system', content: 'old' }, USER],
      tools: [add],
      checkpoint: { store, runId: 'run-f' },
      middleware: [
        {
          name: 'edit',
          turn: async (ctx, next) => {
            if (ctx.turn === 2)
              ctx.run.updateTranscript((draft) => void (draft[0] = { role: 'system', content: 'new' }));
            await next();
          },
        },
      ],
    });
    const log = await store.read('run-f');
    assert.deepEqual(
      log.entries.map((e) => e.type),
      ['start', 'message', 'tool-started', 'tool-result', 'start', 'message', 'finished'],
    );
    const rebuilt = rebuildRun('run-f', log.entries, log.finished);
    assert.deepEqual(rebuilt?.transcript, result.transcript);
    assert.equal((rebuilt?.transcript[0] as Message | undefined)?.content, 'new');
  });

  it('rejects checkpoint options that are not a run store or have unknown keys', async () => {
    const base = { model: twoTurns(), modelId: 'm', messages: [USER] } as const;
    await assert.rejects(runAgent({ ...base, checkpoint: { store: {} as never } }), /`checkpoint.store`/);
    await assert.rejects(
      runAgent({ ...base, checkpoint: { store: memoryRunStore(), leaseTTL: 5 } as never }),
      /unknown option `checkpoint.leaseTTL`/,
    );
    await assert.rejects(
      runAgent({ ...base, checkpoint: { store: memoryRunStore(), runId: 'a b' } }),
      /`checkpoint.runId`/,
    );
  });
});
