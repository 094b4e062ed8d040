// streamAgent({ checkpoint, resume: { runId } }): the stream reads the run's log when it starts;
// the errors of that read end the iteration and reject `result`, like a failed run's; then the
// resumed run streams as any other. Mirrors the runAgent cases in checkpoint.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AgentEvent,
  AgentError,
  type AgentStream,
  ResumeError,
  RunLeaseError,
  type RunStore,
  memoryRunStore,
  runAgent,
  streamAgent,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { USER, add, crashDuringPay, deferred, payScript as script, sideEffect, summary } from '../../fixtures/agent.js';

/** Iterates the stream to its end: the event types, and the error it ended with, if any. */
async function drain(stream: AgentStream): Promise<{ types: string[]; events: AgentEvent[]; error: unknown }> {
  const events: AgentEvent[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { types: events.map((e) => e.type), events, error: undefined };
  } catch (error) {
    return { types: events.map((e) => e.type), events, error };
  }
}

describe('streamAgent({ checkpoint, resume: { runId } })', () => {
  it('refuses a finished run: ResumeError through the iteration and through `result`, lease given back', async () => {
    const store = memoryRunStore();
    await runAgent({
      model: scriptedExecutor(['Hi.']),
      modelId: 'm',
      messages: [USER],
      checkpoint: { store, runId: 's-1' },
    });
    const options = { model: scriptedExecutor(['x']), checkpoint: { store }, resume: { runId: 's-1' } } as const;
    const { types, error } = await drain(streamAgent(options));
    assert.deepEqual(types, []);
    assert.ok(ResumeError.isInstance(error) && error.code === 'RUN_FINISHED');
    await assert.rejects(
      streamAgent(options).result,
      (e: unknown) => ResumeError.isInstance(e) && e.code === 'RUN_FINISHED',
    );
    await assert.rejects(
      drain(streamAgent({ ...options, resume: { runId: 'nope' } })).then((d) => {
        throw d.error;
      }),
      /has no checkpoint/,
    );
    await store.acquire('s-1', 'someone', { ttlMs: 1000 });
  });

  it('refuses while another worker holds the lease: RunLeaseError `LEASE_HELD`, nothing streamed', async () => {
    const store = memoryRunStore();
    await crashDuringPay(store, 's-2', true);
    await store.acquire('s-2', 'worker-1', { ttlMs: 600_000 });
    const pay = sideEffect('pay', true);
    const stream = streamAgent({
      model: scriptedExecutor(['Paid.']),
      tools: [add, pay.tool],
      checkpoint: { store, owner: 'worker-2' },
      resume: { runId: 's-2' },
    });
    const { types, error } = await drain(stream);
    assert.deepEqual(types, []);
    assert.ok(RunLeaseError.isInstance(error) && error.code === 'LEASE_HELD');
    await assert.rejects(stream.result, (e: unknown) => RunLeaseError.isInstance(e) && e.code === 'LEASE_HELD');
    assert.equal(pay.state.runs, 0);
  });

  it('turns a non-idempotent call cut short into an interruption event, and runs it once approved', async () => {
    const store = memoryRunStore();
    await crashDuringPay(store, 's-3', false);
    const pay = sideEffect('pay', false);
    const first = await drain(
      streamAgent({ model: script(), tools: [add, pay.tool], checkpoint: { store }, resume: { runId: 's-3' } }),
    );
    assert.equal(first.error, undefined);
    assert.deepEqual(first.types, ['interrupt', 'done']);
    const interrupt = first.events[0] as Extract<AgentEvent, { type: 'interrupt' }>;
    assert.deepEqual(
      [interrupt.turn, interrupt.interruption.kind === 'tool-call' && interrupt.interruption.toolCallId],
      [1, 'p'],
    );
    assert.equal(pay.state.runs, 0);
    const second = await drain(
      streamAgent({
        model: scriptedExecutor(['Paid.']),
        tools: [add, pay.tool],
        checkpoint: { store },
        resume: { runId: 's-3', decisions: { p: { type: 'approve' } } },
      }),
    );
    assert.equal(second.error, undefined);
    assert.equal(pay.state.runs, 1);
    const done = second.events.at(-1) as Extract<AgentEvent, { type: 'done' }>;
    assert.deepEqual([done.result.runId, done.result.stopReason], ['s-3', 'no-tool-calls']);
    assert.deepEqual(
      second.events.flatMap((e) => (e.type === 'tool-result' ? [e.result.toolCallId] : [])),
      ['p'],
    );
    assert.equal((await store.read('s-3')).finished, true);
  });

  it('re-runs an idempotent call cut short, never a call with a result, with the transcript runAgent gets', async () => {
    const streamed = memoryRunStore();
    const awaited = memoryRunStore();
    await crashDuringPay(streamed, 's-4', true);
    await crashDuringPay(awaited, 's-4', true);
    const streamPay = sideEffect('pay', true);
    const stream = streamAgent({
      model: scriptedExecutor(['Paid.']),
      tools: [add, streamPay.tool],
      checkpoint: { store: streamed },
      resume: { runId: 's-4' },
    });
    const { types, error } = await drain(stream);
    assert.equal(error, undefined);
    assert.deepEqual(types, [
      'turn-start',
      'tool-call',
      'tool-result',
      'turn-end',
      'turn-start',
      'text-delta',
      'turn-end',
      'done',
    ]);
    const result = await stream.result;
    const awaitedPay = sideEffect('pay', true);
    const byRunAgent = await runAgent({
      model: scriptedExecutor(['Paid.']),
      tools: [add, awaitedPay.tool],
      checkpoint: { store: awaited },
      resume: { runId: 's-4' },
    });
    assert.deepEqual([streamPay.state.runs, awaitedPay.state.runs], [1, 1]);
    assert.deepEqual(result.transcript, byRunAgent.transcript);
    assert.deepEqual([result.usage, result.turns.map((t) => t.turn)], [byRunAgent.usage, [1, 2]]);
    assert.deepEqual(summary(result.transcript).slice(2), ['tool(a):2', 'tool(p):pay:1', 'assistant:Paid.']);
  });

  it('honours the signal while the log is read: AgentError `aborted`, nothing ran, the lease given back', async () => {
    const store = memoryRunStore();
    await crashDuringPay(store, 's-5', true);
    const reading = deferred();
    const slowRead: RunStore = {
      ...store,
      name: 'slow',
      read: (_runId, options) =>
        new Promise((_resolve, reject) => {
          reading.resolve();
          options?.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
        }),
    };
    const controller = new AbortController();
    const pay = sideEffect('pay', true);
    const stream = streamAgent({
      model: scriptedExecutor(['Paid.']),
      tools: [add, pay.tool],
      signal: controller.signal,
      checkpoint: { store: slowRead, owner: 'w' },
      resume: { runId: 's-5' },
    });
    const result = stream.result;
    await reading.promise;
    controller.abort(new Error('deploy'));
    await assert.rejects(
      result,
      (e: unknown) => AgentError.isInstance(e) && e.reason === 'aborted' && e.runId === 's-5',
    );
    assert.equal(pay.state.runs, 0);
    // Released: another worker takes the run at once.
    await store.acquire('s-5', 'other', { ttlMs: 1000 });
  });

  it('breaking out of the iteration while the log is read cancels the read', async () => {
    const store = memoryRunStore();
    await crashDuringPay(store, 's-6', true);
    const reading = deferred();
    let aborted = false;
    const slowRead: RunStore = {
      ...store,
      read: (_runId, options) =>
        new Promise((_resolve, reject) => {
          reading.resolve();
          options?.signal?.addEventListener(
            'abort',
            () => {
              aborted = true;
              reject(options.signal?.reason);
            },
            { once: true },
          );
        }),
    };
    const stream = streamAgent({
      model: scriptedExecutor(['Paid.']),
      tools: [add, sideEffect('pay', true).tool],
      checkpoint: { store: slowRead, owner: 'w' },
      resume: { runId: 's-6' },
    });
    const iterator = stream[Symbol.asyncIterator]();
    const next = iterator.next();
    await reading.promise;
    await iterator.return?.();
    assert.equal(aborted, true);
    await assert.rejects(next, (e: unknown) => AgentError.isInstance(e) && e.reason === 'aborted');
    await store.acquire('s-6', 'other', { ttlMs: 1000 });
  });
});
