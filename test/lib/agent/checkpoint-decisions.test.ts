// Decisions given on a resume are saved in the run's log (one `decision` entry each, with who
// decided) before any approved call runs: a crash after that does not ask for them again, and a
// resume by id replays them. Edited inputs are rebuilt from the log as the inputs that ran.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Decision, ResumeError, type RunStore, memoryRunStore, runAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { rebuildRun } from '../../../lib/agent/checkpoint.js';
import { USER, deferred, sideEffect, summary } from '../../fixtures/agent.js';

/** A tool that needs approval, counts its runs by call, and can hang on its next run (a crash). */
function wireTool() {
  const state = { runs: [] as number[], hangNext: false, started: deferred() };
  const t = tool({
    name: 'wire',
    needsApproval: true,
    input: z.object({ n: z.number() }),
    execute: async ({ n }) => {
      state.runs.push(n);
      state.started.resolve();
      if (state.hangNext) {
        state.hangNext = false;
        await new Promise(() => {});
      }
      return `sent ${n}`;
    },
  });
  return { tool: t, state };
}

const calls = () =>
  scriptedExecutor([
    {
      toolCalls: [
        { id: 'w1', name: 'wire', input: { n: 1 } },
        { id: 'w2', name: 'wire', input: { n: 2 } },
        { id: 'x', name: 'wire', input: { n: 3 } },
      ],
    },
  ]);

/** Runs until the three calls wait for approval. */
async function interrupted(store: RunStore, runId: string, wire: ReturnType<typeof wireTool>) {
  const first = await runAgent({
    model: calls(),
    modelId: 'm',
    messages: [USER],
    tools: [wire.tool],
    checkpoint: { store, runId },
  });
  assert.equal(first.stopReason, 'interrupted');
}

const DECISIONS: Record<string, Decision> = {
  w1: { type: 'approve', by: 'ada' },
  w2: { type: 'approve', input: { n: 20 }, by: 'ada' },
  x: { type: 'reject', message: 'Not this one.', by: 'bob' },
};

describe('runAgent({ checkpoint, resume }): decisions in the log', () => {
  it('saves one entry per decision, with who decided, before the approved calls run', async () => {
    const store = memoryRunStore();
    const wire = wireTool();
    await interrupted(store, 'd-1', wire);
    const gate = deferred();
    let seenWhileRunning: string[] = [];
    const gated = tool({
      name: 'wire',
      needsApproval: true,
      input: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        if (seenWhileRunning.length === 0) {
          seenWhileRunning = (await store.read('d-1')).entries.map((e) =>
            e.type === 'decision' || e.type === 'tool-started' ? `${e.type}:${e.toolCallId}` : e.type,
          );
          await gate.promise;
        }
        return `sent ${n}`;
      },
    });
    const run = runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [gated],
      checkpoint: { store },
      resume: { runId: 'd-1', decisions: DECISIONS },
    });
    await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    const done = await run;
    assert.equal(done.stopReason, 'no-tool-calls');
    assert.deepEqual(seenWhileRunning.slice(-5), [
      'decision:w1',
      'decision:w2',
      'decision:x',
      'tool-started:w1',
      'tool-started:w2',
    ]);
    const log = await store.read('d-1');
    const decisions = log.entries.flatMap((e) => (e.type === 'decision' ? [[e.toolCallId, e.decision]] : []));
    assert.deepEqual(decisions, Object.entries(DECISIONS));
    // The log rebuilds the transcript as it ran: w2 with the edited input.
    const rebuilt = rebuildRun('d-1', log.entries, log.finished);
    assert.deepEqual(rebuilt?.transcript, done.transcript);
    const inputs = ((done.transcript[1]?.content ?? []) as unknown as { input?: unknown }[]).map((p) => p.input);
    assert.deepEqual(inputs, [{ n: 1 }, { n: 20 }, { n: 3 }]);
  });

  it('after a crash, replays the decisions: asks again only for the approved call that may have run', async () => {
    const store = memoryRunStore();
    const wire = wireTool();
    await interrupted(store, 'd-2', wire);
    wire.state.hangNext = true;
    const controller = new AbortController();
    const crashed = runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [wire.tool],
      toolConcurrency: 1,
      signal: controller.signal,
      checkpoint: { store },
      resume: { runId: 'd-2', decisions: DECISIONS },
    });
    await wire.state.started.promise;
    controller.abort(new Error('SIGKILL'));
    await assert.rejects(crashed);
    assert.deepEqual(wire.state.runs, [1]);

    // w1 started and has no result: it may have run, so a person decides again. w2 (approved,
    // never started) and x (rejected) are not asked again.
    const asked = await runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [wire.tool],
      checkpoint: { store },
      resume: { runId: 'd-2' },
    });
    assert.equal(asked.stopReason, 'interrupted');
    assert.deepEqual(
      asked.interruptions.map((i) => [i.kind === 'tool-call' && i.toolCallId, i.payload]),
      [['w1', { reason: 'started-without-result' }]],
    );

    const done = await runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [wire.tool],
      checkpoint: { store },
      resume: { runId: 'd-2', decisions: { w1: { type: 'respond', result: 'it went through', by: 'ada' } } },
    });
    assert.equal(done.stopReason, 'no-tool-calls');
    // w1 never ran again; w2 ran once, with its edited input.
    assert.deepEqual(wire.state.runs, [1, 20]);
    assert.deepEqual(summary(done.transcript).slice(2, 5), [
      'tool(w1):it went through',
      'tool(w2):sent 20',
      'tool(x):Not this one.',
    ]);
    const log = await store.read('d-2');
    assert.deepEqual(rebuildRun('d-2', log.entries, log.finished)?.transcript, done.transcript);
    // The audit trail: w1's first approval, then the answer given after the crash.
    assert.deepEqual(
      log.entries.flatMap((e) => (e.type === 'decision' && e.toolCallId === 'w1' ? [e.decision] : [])),
      [DECISIONS.w1, { type: 'respond', result: 'it went through', by: 'ada' }],
    );
  });

  it('after a crash, a call that needs approval and never started is asked for as not started', async () => {
    const store = memoryRunStore();
    const pay = sideEffect('pay', false);
    pay.state.hang = true;
    const wire = tool({ name: 'wire', needsApproval: true, input: z.object({ n: z.number() }), execute: () => 'sent' });
    const controller = new AbortController();
    const crashed = runAgent({
      model: scriptedExecutor([
        {
          toolCalls: [
            { id: 'p', name: 'pay', input: { n: 1 } },
            { id: 'w', name: 'wire', input: { n: 2 } },
          ],
        },
      ]),
      modelId: 'm',
      messages: [USER],
      tools: [pay.tool, wire],
      toolConcurrency: 1,
      signal: controller.signal,
      checkpoint: { store, runId: 'n-1' },
    });
    await pay.state.started.promise;
    controller.abort(new Error('SIGKILL'));
    await assert.rejects(crashed);
    const asked = await runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [pay.tool, wire],
      checkpoint: { store },
      resume: { runId: 'n-1' },
    });
    assert.equal(asked.stopReason, 'interrupted');
    // `pay` started and may have run; `wire` never started: it is asked for, but not as a crash.
    assert.deepEqual(
      asked.interruptions.map((i) => [i.kind === 'tool-call' && i.toolCallId, i.payload]),
      [
        ['p', { reason: 'started-without-result' }],
        ['w', { reason: 'not-started' }],
      ],
    );
    assert.equal(pay.state.runs, 1);
  });

  it('takes the same decision given again (a re-delivered job), refuses a different one', async () => {
    const store = memoryRunStore();
    const wire = wireTool();
    await interrupted(store, 'd-3', wire);
    wire.state.hangNext = true;
    const controller = new AbortController();
    const crashed = runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [wire.tool],
      signal: controller.signal,
      toolConcurrency: 1,
      checkpoint: { store },
      resume: { runId: 'd-3', decisions: { ...DECISIONS, w1: { type: 'reject', message: 'no' } } },
    });
    // w1 is rejected: w2 runs first and hangs.
    await wire.state.started.promise;
    controller.abort(new Error('SIGKILL'));
    await assert.rejects(crashed);
    await assert.rejects(
      runAgent({
        model: scriptedExecutor(['Done.']),
        tools: [wire.tool],
        checkpoint: { store },
        resume: { runId: 'd-3', decisions: { w1: { type: 'approve' } } },
      }),
      (e: unknown) => ResumeError.isInstance(e) && e.code === 'INVALID_DECISION' && e.toolCallId === 'w1',
    );
    // The same decisions again: x and w1 stand; w2 was cut short (it may have run), so it is asked.
    const again = await runAgent({
      model: scriptedExecutor(['Done.']),
      tools: [wire.tool],
      checkpoint: { store },
      resume: {
        runId: 'd-3',
        decisions: { w1: { type: 'reject', message: 'no', by: 'someone else' }, x: DECISIONS.x as Decision },
      },
    });
    assert.deepEqual(
      again.interruptions.map((i) => i.kind === 'tool-call' && i.toolCallId),
      ['w2'],
    );
  });
});
