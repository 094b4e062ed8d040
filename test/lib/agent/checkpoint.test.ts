// Checkpoints: runAgent({ checkpoint: { store } }) saves each step to a run store as it happens,
// and the log rebuilds the run. A "crash" is a run aborted while a tool runs: the log then holds
// what a dead process would have left.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AgentError,
  type CheckpointStore,
  type Message,
  ResumeError,
  RunLeaseError,
  memoryRunStore,
  runAgent,
  tool,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { Checkpointer, checkCheckpointOptions, rebuildRun } from '../../../lib/agent/checkpoint.js';
import { USER, add, crashDuringPay, deferred, payScript, sideEffect, summary } from '../../fixtures/agent.js';

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
      ['start', 'message', 'tool-result', 'message', 'finished'],
    );
    assert.equal(log.finished, true);
    assert.deepEqual(log.entries.at(-1), { type: 'finished', meta: { stopReason: 'no-tool-calls' } });
    // The call that starts with the answer is counted in the answer's entry; the log says its format.
    assert.equal((log.entries[1]?.meta as { started?: number } | undefined)?.started, 1);
    assert.equal((log.entries[0]?.meta as { logVersion?: number } | undefined)?.logVersion, 2);
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

  it('refuses a second worker while the run holds its lease: RunLeaseError `LEASE_HELD`, as the store throws it', async () => {
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
      (e: unknown) => RunLeaseError.isInstance(e) && e.code === 'LEASE_HELD',
    );
    assert.equal((await store.read('run-c')).length, 0);
  });

  it('never writes over the log of an earlier run with the same id', async () => {
    const store = memoryRunStore();
    const options = { modelId: 'm', messages: [USER], tools: [add], checkpoint: { store, runId: 'run-d' } } as const;
    await runAgent({ model: twoTurns(), ...options });
    await assert.rejects(runAgent({ model: twoTurns(), ...options }), /already has a checkpoint/);
    assert.equal((await store.read('run-d')).length, 5);
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
      (e: unknown) => AgentError.isInstance(e) && RunLeaseError.isInstance(e.cause) && e.cause.code === 'LEASE_LOST',
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
      ['start', 'message', 'tool-result', 'start', 'message', 'finished'],
    );
    const rebuilt = rebuildRun('run-f', log.entries, log.finished);
    assert.deepEqual(rebuilt?.transcript, result.transcript);
    assert.equal((rebuilt?.transcript[0] as Message | undefined)?.content, 'new');
  });

  it('reads a v1 log (a `tool-started` entry per call) as a v2 one (`started` counted in the answer), refuses a later one', () => {
    const start = {
      type: 'start',
      messages: [USER],
      meta: { runId: 'r', modelId: 'm', turn: 0, usage: { inputTokens: 0, outputTokens: 0 }, metadata: {} },
    } as const;
    const answer = {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'a', toolName: 'add', input: { a: 1, b: 1 } },
        { type: 'tool-call', toolCallId: 'p', toolName: 'pay', input: { n: 1 } },
      ],
    } as const;
    const result = { role: 'tool', toolCallId: 'a', toolName: 'add', content: '2' } as const;
    const v1 = rebuildRun(
      'r',
      [
        start,
        { type: 'message', message: answer, meta: { turn: 1, finishReason: 'tool-calls' } },
        { type: 'tool-started', toolCallId: 'a', toolName: 'add' },
        { type: 'tool-started', toolCallId: 'p', toolName: 'pay' },
        { type: 'tool-result', toolCallId: 'a', message: result },
      ],
      false,
    );
    const v2 = rebuildRun(
      'r',
      [
        { ...start, meta: { ...start.meta, logVersion: 2 } },
        { type: 'message', message: answer, meta: { turn: 1, finishReason: 'tool-calls', started: 2 } },
        { type: 'tool-result', toolCallId: 'a', message: result },
      ],
      false,
    );
    for (const rebuilt of [v1, v2]) {
      assert.deepEqual([...(rebuilt?.pending?.started ?? [])], ['p']);
      assert.deepEqual([...(rebuilt?.pending?.results.keys() ?? [])], ['a']);
    }
    assert.throws(
      () => rebuildRun('r', [{ ...start, meta: { ...start.meta, logVersion: 3 } }], false),
      /format version 3; this version of modelware reads 1 to 2/,
    );
  });

  it('sends the writes made while an append is in flight together, as one append; a failure fails them all', async () => {
    const inner = memoryRunStore();
    const gates: ReturnType<typeof deferred<void>>[] = [];
    const sent: string[][] = [];
    // No appendSync: every write goes through the promise path, as to redisRunStore.
    const store: CheckpointStore = {
      name: 'gated',
      acquire: inner.acquire,
      renew: inner.renew,
      release: inner.release,
      read: inner.read,
      async append(runId, entries, options) {
        sent.push(entries.map((e) => e.type));
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        return inner.append(runId, entries, options);
      },
    };
    const checkpointer = new Checkpointer(
      checkCheckpointOptions('test', { store }),
      'run-g',
      new AbortController().signal,
    );
    await checkpointer.open();
    const first = checkpointer.interrupted({});
    const second = checkpointer.interrupted({});
    const third = checkpointer.finished('done');
    assert.deepEqual(sent, [['interrupted']]);
    gates[0]?.resolve();
    await first;
    assert.deepEqual(sent, [['interrupted'], ['interrupted', 'finished']]);
    gates[1]?.reject(new Error('store down'));
    await assert.rejects(Promise.all([second, third]), /store down/);
    await assert.rejects(third as Promise<void>, /store down/);
    await assert.rejects(checkpointer.finished('again') as Promise<void>, /store down/);
    await checkpointer.close();
    assert.deepEqual(
      (await inner.read('run-g')).entries.map((e) => e.type),
      ['interrupted'],
    );
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

describe('runAgent({ checkpoint, resume: { runId } })', () => {
  const script = payScript;

  it('turns a non-idempotent call cut short into an interruption, and runs it only once it is approved', async () => {
    const store = memoryRunStore();
    await crashDuringPay(store, 'job-1', false);
    const pay = sideEffect('pay', false);
    const model = script();
    const resumed = await runAgent({
      model,
      tools: [add, pay.tool],
      checkpoint: { store },
      resume: { runId: 'job-1' },
    });
    assert.equal(resumed.stopReason, 'interrupted');
    assert.deepEqual(
      resumed.interruptions.map((i) => [i.kind, i.kind === 'tool-call' && i.toolCallId, i.payload]),
      [['tool-call', 'p', { reason: 'started-without-result' }]],
    );
    assert.equal(pay.state.runs, 0);
    const done = await runAgent({
      model: scriptedExecutor(['Paid.']),
      tools: [add, pay.tool],
      checkpoint: { store },
      resume: { runId: 'job-1', decisions: { p: { type: 'approve' } } },
    });
    assert.equal(pay.state.runs, 1);
    assert.equal(done.runId, 'job-1');
    assert.equal(done.stopReason, 'no-tool-calls');
    assert.deepEqual(summary(done.transcript), [
      'user:What is 1 + 2?',
      'assistant:call(a),call(p)',
      'tool(a):2',
      'tool(p):pay:1',
      'assistant:Paid.',
    ]);
    const log = await store.read('job-1');
    assert.equal(log.finished, true);
    assert.deepEqual(rebuildRun('job-1', log.entries, true)?.transcript, done.transcript);
  });

  it('runs an idempotent call cut short again by itself, and never a call that has a result', async () => {
    const store = memoryRunStore();
    await crashDuringPay(store, 'job-2', true);
    const pay = sideEffect('pay', true);
    let adds = 0;
    const countingAdd = tool({
      name: 'add',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => {
        adds++;
        return a + b;
      },
    });
    const done = await runAgent({
      model: scriptedExecutor(['Paid.']),
      tools: [countingAdd, pay.tool],
      checkpoint: { store },
      resume: { runId: 'job-2' },
    });
    assert.deepEqual([pay.state.runs, adds, done.stopReason], [1, 0, 'no-tool-calls']);
    assert.deepEqual(summary(done.transcript).slice(2), ['tool(a):2', 'tool(p):pay:1', 'assistant:Paid.']);
  });

  it('lets one of two concurrent resumers proceed; the other gets RunLeaseError `LEASE_HELD`', async () => {
    const store = memoryRunStore();
    await crashDuringPay(store, 'job-3', true);
    const gate = deferred();
    const pay = sideEffect('pay', true);
    const first = runAgent({
      model: scriptedExecutor([
        async () => {
          await gate.promise;
          return 'Paid.';
        },
      ]),
      tools: [add, pay.tool],
      checkpoint: { store, owner: 'worker-1' },
      resume: { runId: 'job-3' },
    });
    await pay.state.started.promise;
    await assert.rejects(
      runAgent({
        model: scriptedExecutor(['Paid.']),
        tools: [add, pay.tool],
        checkpoint: { store, owner: 'worker-2' },
        resume: { runId: 'job-3' },
      }),
      (e: unknown) => RunLeaseError.isInstance(e) && e.code === 'LEASE_HELD',
    );
    gate.resolve();
    assert.equal((await first).stopReason, 'no-tool-calls');
    assert.equal(pay.state.runs, 1);
  });

  it('refuses to resume a finished run, and a run id with no log', async () => {
    const store = memoryRunStore();
    await runAgent({
      model: twoTurns(),
      modelId: 'm',
      messages: [USER],
      tools: [add],
      checkpoint: { store, runId: 'job-4' },
    });
    await assert.rejects(
      runAgent({ model: twoTurns(), tools: [add], checkpoint: { store }, resume: { runId: 'job-4' } }),
      (e: unknown) => ResumeError.isInstance(e) && e.code === 'RUN_FINISHED',
    );
    await assert.rejects(
      runAgent({ model: twoTurns(), tools: [add], checkpoint: { store }, resume: { runId: 'nope' } }),
      /has no checkpoint/,
    );
    // Neither kept the lease.
    await store.acquire('job-4', 'someone', { ttlMs: 1000 });
  });

  it('resumes an interrupted run by id with its decisions, with the transcript of the same run resumed from its snapshot', async () => {
    const approve = tool({
      name: 'wire',
      needsApproval: true,
      input: z.object({ n: z.number() }),
      execute: ({ n }) => `sent ${n}`,
    });
    const model = () =>
      scriptedExecutor([
        {
          toolCalls: [
            { id: 'a', name: 'add', input: { a: 1, b: 2 } },
            { id: 'w', name: 'wire', input: { n: 5 } },
          ],
        },
        'Sent.',
      ]);
    const store = memoryRunStore();
    const first = await runAgent({
      model: model(),
      modelId: 'm',
      messages: [USER],
      tools: [add, approve],
      checkpoint: { store, runId: 'job-5' },
    });
    assert.equal(first.stopReason, 'interrupted');
    const decisions = { w: { type: 'approve' } } as const;
    const byId = await runAgent({
      model: scriptedExecutor(['Sent.']),
      tools: [add, approve],
      checkpoint: { store },
      resume: { runId: 'job-5', decisions },
    });
    const bySnapshot = await runAgent({
      model: scriptedExecutor(['Sent.']),
      tools: [add, approve],
      resume: { snapshot: first.snapshot as NonNullable<typeof first.snapshot>, decisions },
    });
    assert.deepEqual(byId.transcript, bySnapshot.transcript);
    assert.deepEqual([byId.runId, byId.usage], [bySnapshot.runId, bySnapshot.usage]);
    assert.equal((await store.read('job-5')).finished, true);
  });

  it('restores the persisted run state saved with the last answer, not the state the run began with', async () => {
    const store = memoryRunStore();
    const controller = new AbortController();
    const counting = {
      name: 'count-turns',
      turn: async (ctx: { run: { state: object } }, next: () => Promise<void>) => {
        const state = ctx.run.state as { turns?: number; scratch?: number };
        state.turns = (state.turns ?? 0) + 1;
        state.scratch = 99;
        await next();
      },
    };
    const model = scriptedExecutor([
      { toolCalls: [{ id: 't1', name: 'add', input: { a: 1, b: 2 } }] },
      { toolCalls: [{ id: 't2', name: 'add', input: { a: 3, b: 4 } }] },
      async () => {
        controller.abort(new Error('SIGKILL'));
        return 'never';
      },
    ]);
    await assert.rejects(
      runAgent({
        model,
        modelId: 'm',
        messages: [USER],
        tools: [add],
        signal: controller.signal,
        middleware: [counting as never],
        persistState: ['turns' as never],
        checkpoint: { store, runId: 'job-7' },
      }),
    );
    let seen: unknown;
    const done = await runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [add],
      middleware: [
        {
          name: 'look',
          run: async (ctx, next) => {
            seen = { ...ctx.run.state };
            await next();
          },
        },
      ],
      checkpoint: { store },
      resume: { runId: 'job-7' },
    });
    // Saved with turn 2's answer: two turns counted; `scratch` was not declared, so it is not kept.
    assert.deepEqual(seen, { turns: 2 });
    assert.equal(done.stopReason, 'no-tool-calls');
  });

  it('goes on with the next turn after a crash between turns', async () => {
    const store = memoryRunStore();
    const controller = new AbortController();
    const model = scriptedExecutor([
      { toolCalls: [{ id: 't1', name: 'add', input: { a: 1, b: 2 } }] },
      async () => {
        controller.abort(new Error('SIGKILL'));
        return 'never';
      },
    ]);
    await assert.rejects(
      runAgent({
        model,
        modelId: 'm',
        messages: [USER],
        tools: [add],
        signal: controller.signal,
        checkpoint: { store, runId: 'job-6' },
      }),
    );
    const done = await runAgent({
      model: scriptedExecutor(['The answer is 3.']),
      tools: [add],
      checkpoint: { store },
      resume: { runId: 'job-6' },
    });
    const single = await runAgent({ model: twoTurns(), modelId: 'm', messages: [USER], tools: [add] });
    assert.deepEqual(done.transcript, single.transcript);
    assert.equal(done.turns.at(-1)?.turn, 2);
  });
});
