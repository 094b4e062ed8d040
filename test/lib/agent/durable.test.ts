import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type AgentEvent,
  AgentError,
  type Decision,
  type Message,
  PluginManager,
  ResumeError,
  type RunSnapshot,
  SnapshotError,
  defineMiddleware,
  definePlugin,
  loadRunSnapshot,
  pipeline,
  requireApproval,
  runAgent,
  streamAgent,
  tool,
} from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { summary } from '../../fixtures/agent.js';

const USER: Message = { role: 'user', content: 'Pay the bills' };

/** Tools that log each execution (with its idempotency key) into `log`. */
function fixtures(log: string[]) {
  const pay = tool({
    name: 'pay',
    input: z.object({ to: z.string(), cents: z.number().int().positive() }),
    needsApproval: ({ cents }) => cents > 1000,
    execute: ({ to, cents }, { idempotencyKey }) => {
      log.push(`pay ${to} ${cents} ${idempotencyKey.split(':')[1]}`);
      return `paid ${to}`;
    },
  });
  const lookup = tool({
    name: 'lookup',
    input: z.object({ q: z.string() }),
    execute: ({ q }) => {
      log.push(`lookup ${q}`);
      return `found ${q}`;
    },
  });
  return { pay, lookup, tools: [pay, lookup] };
}

const call = (id: string, name: string, input: unknown) => ({ id, name, input });

/** Turn 1 asks for four calls; two need approval (over 1000 cents). */
const TURN_1 = {
  toolCalls: [
    call('c1', 'pay', { to: 'gas', cents: 5000 }),
    call('c2', 'lookup', { q: 'rent' }),
    call('c3', 'pay', { to: 'water', cents: 200 }),
    call('c4', 'pay', { to: 'tax', cents: 90000 }),
  ],
  usage: { inputTokens: 10, outputTokens: 5 },
};

async function interruptedRun(log: string[]) {
  const { tools } = fixtures(log);
  const model = scriptedExecutor([TURN_1]);
  const result = await runAgent({ model, modelId: 'm', messages: [USER], tools });
  return { result, model, tools };
}

describe('interrupts: needsApproval', () => {
  test('holds the calls that need approval, runs the others, sends the model nothing more', async () => {
    const log: string[] = [];
    const { result, model } = await interruptedRun(log);
    assert.equal(result.stopReason, 'interrupted');
    assert.deepEqual(log, ['lookup rent', 'pay water 200 c3']);
    assert.equal(model.calls.length, 1);
    assert.deepEqual(
      result.interruptions.map((i) => i.kind === 'tool-call' && [i.toolCallId, i.toolName, i.source, i.by, i.turn]),
      [
        ['c1', 'pay', 'tool', 'pay', 1],
        ['c4', 'pay', 'tool', 'pay', 1],
      ],
    );
    // The transcript stays sendable: the pending turn lives in the snapshot.
    assert.deepEqual(summary(result.transcript), ['user:Pay the bills']);
    const snapshot = result.snapshot as RunSnapshot;
    assert.equal(snapshot.version, 1);
    assert.equal(snapshot.runId, result.runId);
    assert.equal(snapshot.turn, 1);
    assert.deepEqual(snapshot.usage, { inputTokens: 10, outputTokens: 5, totalTokens: 15 });
    assert.deepEqual(summary(snapshot.pending?.results ?? []), ['tool(c2):found rent', 'tool(c3):paid water']);
    // Plain JSON data: a round trip is loadable and equal.
    assert.deepEqual(loadRunSnapshot(JSON.stringify(snapshot)), JSON.parse(JSON.stringify(snapshot)));
  });

  test('mixed decisions: results in call order, same run id and turn numbering, edited input rewrites the call', async () => {
    const log: string[] = [];
    const { result, tools } = await interruptedRun(log);
    log.length = 0;
    const model = scriptedExecutor(['All paid.']);
    const resumed = await runAgent({
      model,
      tools,
      resume: {
        snapshot: loadRunSnapshot(JSON.stringify(result.snapshot)),
        decisions: {
          c1: { type: 'approve', input: { to: 'gas', cents: 4000 } },
          c4: { type: 'reject', message: 'Too much: ask me tomorrow.' },
        },
      },
    });
    assert.equal(resumed.runId, result.runId);
    assert.equal(resumed.stopReason, 'no-tool-calls');
    assert.deepEqual(log, ['pay gas 4000 c1']);
    assert.deepEqual(
      resumed.turns.map((t) => t.turn),
      [1, 2],
    );
    assert.deepEqual(summary(resumed.transcript), [
      'user:Pay the bills',
      'assistant:call(c1),call(c2),call(c3),call(c4)',
      'tool(c1):paid gas',
      'tool(c2):found rent',
      'tool(c3):paid water',
      'tool(c4):Too much: ask me tomorrow.',
      'assistant:All paid.',
    ]);
    const calls = resumed.transcript[1]?.content as unknown as { input: unknown }[];
    assert.deepEqual(calls[0]?.input, { to: 'gas', cents: 4000 });
    assert.equal((resumed.transcript[5] as { isError?: boolean }).isError, true);
    // The model's first request after the resume holds every result, in call order.
    assert.deepEqual(summary(model.calls[0]?.request.messages ?? []), summary(resumed.transcript.slice(0, 6)));
    assert.equal(resumed.usage.inputTokens > 10, true);
  });

  test('respond: a person supplies the result; the tool never runs', async () => {
    const log: string[] = [];
    const { result, tools } = await interruptedRun(log);
    log.length = 0;
    const resumed = await runAgent({
      model: scriptedExecutor(['ok']),
      tools,
      resume: {
        snapshot: result.snapshot as RunSnapshot,
        decisions: { c1: { type: 'respond', result: { paid: false } }, c4: { type: 'approve' } },
      },
    });
    assert.deepEqual(log, ['pay tax 90000 c4']);
    assert.deepEqual(summary(resumed.transcript).slice(2, 6), [
      'tool(c1):{"paid":false}',
      'tool(c2):found rent',
      'tool(c3):paid water',
      'tool(c4):paid tax',
    ]);
  });
});

describe('resume: onion order', () => {
  test('run, turn and tool layers see the resumed run, approved calls go through the tool stack (exact log)', async () => {
    const log: string[] = [];
    const { result, tools } = await interruptedRun(log);
    log.length = 0;
    const layer = defineMiddleware({
      name: 'trace',
      async run(ctx, next) {
        log.push(`run:in resumed=${ctx.resumed} turn=${ctx.run.turn}`);
        await next();
        log.push(`run:out ${ctx.result?.stopReason}`);
      },
      async turn(ctx, next) {
        log.push(`turn${ctx.turn}:in resumed=${ctx.resumed}`);
        await next();
        log.push(`turn${ctx.turn}:out ${ctx.record?.toolResults.length}`);
      },
      async tool(ctx, next) {
        log.push(
          `tool:in ${ctx.toolCallId} approved=${ctx.approved} key=${ctx.idempotencyKey === `${result.runId}:${ctx.toolCallId}`}`,
        );
        await next();
        log.push(`tool:out ${ctx.toolCallId}`);
      },
    });
    await runAgent({
      model: scriptedExecutor(['done']),
      tools,
      middleware: [layer],
      toolConcurrency: 1,
      resume: {
        snapshot: result.snapshot as RunSnapshot,
        decisions: { c1: { type: 'approve' }, c4: { type: 'approve' } },
      },
    });
    assert.deepEqual(log, [
      'run:in resumed=true turn=0',
      'turn1:in resumed=true',
      'tool:in c1 approved=true key=true',
      'pay gas 5000 c1',
      'tool:out c1',
      'tool:in c4 approved=true key=true',
      'pay tax 90000 c4',
      'tool:out c4',
      'turn1:out 4',
      'turn2:in resumed=true',
      'turn2:out 0',
      'run:out no-tool-calls',
    ]);
  });
});

describe('interrupts from layers', () => {
  test('a tool layer interrupts with a payload; interrupt() returns false once approved', async () => {
    const log: string[] = [];
    const { tools } = fixtures(log);
    const guard = defineMiddleware({
      name: 'guard',
      async tool(ctx, next) {
        if (ctx.toolName === 'lookup' && ctx.interrupt({ question: 'Look it up?' })) return;
        await next();
      },
    });
    const first = await runAgent({
      model: scriptedExecutor([{ toolCalls: [call('k1', 'lookup', { q: 'x' })] }]),
      modelId: 'm',
      messages: [USER],
      tools,
      middleware: [guard],
    });
    assert.deepEqual(first.interruptions, [
      {
        kind: 'tool-call',
        toolCallId: 'k1',
        toolName: 'lookup',
        input: { q: 'x' },
        payload: { question: 'Look it up?' },
        source: 'layer',
        by: 'guard',
        turn: 1,
      },
    ]);
    assert.deepEqual(log, []);
    const resumed = await runAgent({
      model: scriptedExecutor(['ok']),
      tools,
      middleware: [guard],
      resume: { snapshot: first.snapshot as RunSnapshot, decisions: { k1: { type: 'approve' } } },
    });
    assert.deepEqual(log, ['lookup x']);
    assert.equal(resumed.stopReason, 'no-tool-calls');
  });

  test('a turn layer pauses before a turn; resuming needs no decision and numbers the turn on', async () => {
    const log: string[] = [];
    const { tools } = fixtures(log);
    const pauseAt2 = defineMiddleware({
      name: 'checkpoint',
      async turn(ctx, next) {
        if (ctx.turn === 2 && !ctx.resumed) return ctx.interrupt({ why: 'review turn 1' });
        await next();
      },
    });
    const model = scriptedExecutor([{ toolCalls: [call('a', 'lookup', { q: 'x' })] }, 'final']);
    const first = await runAgent({ model, modelId: 'm', messages: [USER], tools, middleware: [pauseAt2] });
    assert.equal(first.stopReason, 'interrupted');
    assert.deepEqual(first.interruptions, [
      { kind: 'pause', payload: { why: 'review turn 1' }, source: 'layer', by: 'checkpoint', turn: 1 },
    ]);
    assert.equal(first.snapshot?.turn, 1);
    assert.equal(first.snapshot?.pending, null);
    const second = await runAgent({
      model,
      tools,
      middleware: [pauseAt2],
      resume: { snapshot: first.snapshot as RunSnapshot },
    });
    assert.deepEqual(
      second.turns.map((t) => t.turn),
      [2],
    );
    assert.equal(second.text, 'final');
    assert.equal(model.calls.length, 2);
  });

  test('a run layer pauses before the first turn', async () => {
    const gate = defineMiddleware({
      name: 'gate',
      async run(ctx, next) {
        if (!ctx.resumed) return ctx.interrupt('start?');
        await next();
      },
    });
    const model = scriptedExecutor(['hi']);
    const first = await runAgent({ model, modelId: 'm', messages: [USER], middleware: [gate] });
    assert.equal(first.stopReason, 'interrupted');
    assert.equal(model.calls.length, 0);
    const second = await runAgent({ model, middleware: [gate], resume: { snapshot: first.snapshot as RunSnapshot } });
    assert.equal(second.text, 'hi');
    assert.deepEqual(
      second.turns.map((t) => t.turn),
      [1],
    );
  });
});

describe('interrupts from plugins: requireApproval at tool_pre_invoke', () => {
  test('holds the call with the plugin named; run_start/run_end are told about the resume', async () => {
    const log: string[] = [];
    const { tools } = fixtures(log);
    const hooks: string[] = [];
    const approvals = definePlugin({
      name: 'approvals',
      hooks: {
        tool_pre_invoke: (p) =>
          p.toolName === 'lookup' ? requireApproval('lookups cost money', { tier: 2 }) : undefined,
        run_start: (p) => void hooks.push(`start resumed=${p.resumed}`),
        run_end: (p) => void hooks.push(`end resumed=${p.resumed} ${p.stopReason}`),
      },
    });
    const app = (script: string[] | object[]) =>
      pipeline(scriptedExecutor(script as never)).use(plugins(new PluginManager({ plugins: [approvals] })));
    const first = await runAgent({
      model: app([{ toolCalls: [call('p1', 'lookup', { q: 'y' })] }]),
      modelId: 'm',
      messages: [USER],
      tools,
    });
    const [interruption] = first.interruptions;
    assert.equal(interruption?.kind === 'tool-call' && interruption.source, 'plugin');
    assert.equal(interruption?.by, 'approvals');
    assert.deepEqual(interruption?.payload, { reason: 'lookups cost money', details: { tier: 2 } });
    assert.deepEqual(log, []);
    await runAgent({
      model: app(['thanks']),
      tools,
      resume: { snapshot: first.snapshot as RunSnapshot, decisions: { p1: { type: 'approve' } } },
    });
    assert.deepEqual(log, ['lookup y']);
    assert.deepEqual(hooks, [
      'start resumed=false',
      'end resumed=false interrupted',
      'start resumed=true',
      'end resumed=true no-tool-calls',
    ]);
  });
});

describe('interrupts inside plugins()', () => {
  test('a tool layer inside plugins() interrupts: tool_post_invoke does not fire for the held call', async () => {
    const { tools } = fixtures([]);
    const seen: string[] = [];
    const watcher = definePlugin({
      name: 'watcher',
      hooks: {
        tool_pre_invoke: (p) => void seen.push(`pre ${p.toolCallId}`),
        tool_post_invoke: (p) => void seen.push(`post ${p.toolCallId}`),
      },
    });
    const hold = defineMiddleware({
      name: 'hold',
      async tool(ctx, next) {
        if (ctx.toolCallId === 'h1' && ctx.interrupt()) return;
        await next();
      },
    });
    const app = pipeline(
      scriptedExecutor([{ toolCalls: [call('h1', 'lookup', { q: 'a' }), call('h2', 'lookup', { q: 'b' })] }]),
    ).use(plugins(new PluginManager({ plugins: [watcher] })), hold);
    const result = await runAgent({ model: app, modelId: 'm', messages: [USER], tools, toolConcurrency: 1 });
    assert.equal(result.stopReason, 'interrupted');
    assert.deepEqual(seen, ['pre h1', 'pre h2', 'post h2']);
  });
});

describe('interrupt misuse', () => {
  test('requireApproval() outside tool_pre_invoke is a contract failure', async () => {
    const bad = definePlugin({
      name: 'bad',
      onError: 'fail',
      hooks: { turn_start: () => requireApproval('no') as never },
    });
    const app = pipeline(scriptedExecutor(['x'])).use(plugins(new PluginManager({ plugins: [bad] })));
    const error = await runAgent({ model: app, modelId: 'm', messages: [USER] }).catch((e: unknown) => e);
    const cause = (error as AgentError).cause as { name: string; failure: string; message: string };
    assert.equal(cause.name, 'PluginError');
    assert.equal(cause.failure, 'contract');
    assert.match(cause.message, /requireApproval\(\) at `turn_start`/);
  });

  test('a tool layer that interrupts and then calls next() gets a MiddlewareError', async () => {
    const { tools } = fixtures([]);
    const sloppy = defineMiddleware({
      name: 'sloppy',
      async tool(ctx, next) {
        ctx.interrupt();
        await next();
      },
    });
    const error = await runAgent({
      model: scriptedExecutor([{ toolCalls: [call('q', 'lookup', { q: 'x' })] }]),
      modelId: 'm',
      messages: [USER],
      tools,
      middleware: [sloppy],
    }).catch((e: unknown) => e);
    const cause = (error as AgentError).cause as Error;
    assert.equal(cause.name, 'MiddlewareError');
    assert.match(cause.message, /`sloppy` interrupted a tool call and then called `next\(\)`/);
  });

  test('a run layer cannot interrupt a run that has ended', async () => {
    const late = defineMiddleware({
      name: 'late',
      async run(ctx, next) {
        await next();
        ctx.interrupt();
      },
    });
    const error = await runAgent({
      model: scriptedExecutor(['x']),
      modelId: 'm',
      messages: [USER],
      middleware: [late],
    }).catch((e: unknown) => e);
    assert.match(((error as AgentError).cause as Error).message, /`late` called interrupt\(\) after the run ended/);
  });
});

describe('streamAgent: interrupt and resume', () => {
  test('yields the interruption before done, and resumes with the same events as a run', async () => {
    const log: string[] = [];
    const { tools } = fixtures(log);
    const kinds = (events: AgentEvent[]) =>
      events.map((e) =>
        e.type === 'interrupt'
          ? `interrupt:${e.interruption.kind === 'tool-call' ? e.interruption.toolCallId : ''}`
          : e.type === 'tool-result'
            ? `tool-result:${e.result.toolCallId}`
            : e.type === 'tool-call'
              ? `tool-call:${e.toolCall.toolCallId}`
              : e.type,
      );
    const events: AgentEvent[] = [];
    const stream = streamAgent({
      model: scriptedExecutor([
        { toolCalls: [call('s1', 'pay', { to: 'x', cents: 5000 }), call('s2', 'lookup', { q: 'z' })] },
      ]),
      modelId: 'm',
      messages: [USER],
      tools,
    });
    for await (const event of stream) events.push(event);
    assert.deepEqual(kinds(events), [
      'turn-start',
      'tool-call:s1',
      'tool-call:s2',
      'tool-result:s2',
      'interrupt:s1',
      'done',
    ]);
    const first = await stream.result;
    const resumedEvents: AgentEvent[] = [];
    const again = streamAgent({
      model: scriptedExecutor(['paid']),
      tools,
      resume: { snapshot: first.snapshot as RunSnapshot, decisions: { s1: { type: 'approve' } } },
    });
    for await (const event of again) resumedEvents.push(event);
    assert.deepEqual(kinds(resumedEvents), [
      'turn-start',
      'tool-call:s1',
      'tool-result:s1',
      'turn-end',
      'turn-start',
      'text-delta',
      'turn-end',
      'done',
    ]);
    assert.deepEqual(log, ['lookup z', 'pay x 5000 s1']);
  });
});

describe('bad input: a clear error, nothing lost', () => {
  const resumeError = async (decisions: Record<string, unknown>, snapshot?: RunSnapshot) => {
    const { result, tools } = await interruptedRun([]);
    const error = await runAgent({
      model: scriptedExecutor(['x']),
      tools,
      resume: { snapshot: snapshot ?? (result.snapshot as RunSnapshot), decisions: decisions as never },
    }).catch((e: unknown) => e);
    assert.equal(ResumeError.isInstance(error), true, String(error));
    return error as ResumeError;
  };

  test('a decision for an unknown tool call id lists the pending ids', async () => {
    const error = await resumeError({ c1: { type: 'approve' }, c4: { type: 'approve' }, c9: { type: 'approve' } });
    assert.equal(error.code, 'UNKNOWN_TOOL_CALL');
    assert.equal(error.toolCallId, 'c9');
    assert.deepEqual(error.pendingIds, ['c1', 'c4']);
    assert.match(error.message, /2 call\(s\) wait for a decision; their ids are the error's `pendingIds`/);
    // Call ids come from the model: fields, not the message.
    assert.doesNotMatch(error.message, /c9|c1|c4/);
  });

  test('a pending call with no decision is named', async () => {
    const error = await resumeError({ c1: { type: 'approve' } });
    assert.equal(error.code, 'MISSING_DECISION');
    assert.equal(error.toolCallId, 'c4');
  });

  test('an edited input that fails the schema names the paths, not the values', async () => {
    const error = await resumeError({
      c1: { type: 'approve', input: { to: 'gas', cents: -5 } },
      c4: { type: 'approve' },
    });
    assert.equal(error.code, 'INVALID_INPUT');
    assert.deepEqual(
      error.issues.map((i) => i.path),
      [['cents']],
    );
    assert.doesNotMatch(error.message, /-5/);
  });

  test('a malformed decision', async () => {
    const error = await resumeError({ c1: { type: 'maybe' }, c4: { type: 'approve' } });
    assert.equal(error.code, 'INVALID_DECISION');
  });

  test('resuming a finished run', async () => {
    const { result } = await interruptedRun([]);
    const finished = {
      ...(result.snapshot as RunSnapshot),
      status: 'finished' as const,
      interruptions: [],
      pending: null,
    };
    const error = await resumeError({}, finished);
    assert.equal(error.code, 'RUN_FINISHED');
  });

  test('a running checkpoint resumes: calls without a result run again, needsApproval is asked again', async () => {
    const log: string[] = [];
    const { result, tools } = await interruptedRun(log);
    log.length = 0;
    const interrupted = result.snapshot as RunSnapshot;
    // As a run store would have saved it mid-turn: only c2's result was written.
    const running: RunSnapshot = {
      ...interrupted,
      status: 'running',
      interruptions: [],
      pending: {
        response: interrupted.pending?.response as never,
        results: interrupted.pending?.results.slice(0, 1) ?? [],
      },
    };
    const again = await runAgent({
      model: scriptedExecutor(['x']),
      tools,
      resume: { snapshot: loadRunSnapshot(running) },
    });
    assert.deepEqual(log, ['pay water 200 c3']);
    assert.equal(again.stopReason, 'interrupted');
    assert.deepEqual(
      again.interruptions.map((i) => i.kind === 'tool-call' && i.toolCallId),
      ['c1', 'c4'],
    );
    assert.deepEqual(summary(again.snapshot?.pending?.results ?? []), ['tool(c2):found rent', 'tool(c3):paid water']);
    assert.equal(again.snapshot?.turn, 1);
  });

  test('maxTurns counts the turns before the snapshot; a failure reports the whole run', async () => {
    const { result, tools } = await interruptedRun([]);
    const error = await runAgent({
      model: scriptedExecutor([{ toolCalls: [call('again', 'lookup', { q: 'y' })] }]),
      tools,
      maxTurns: 2,
      resume: {
        snapshot: result.snapshot as RunSnapshot,
        decisions: { c1: { type: 'approve' }, c4: { type: 'approve' } },
      },
    }).catch((e: unknown) => e);
    assert.equal(AgentError.isInstance(error) && error.reason, 'max-turns');
    assert.equal((error as AgentError).turnCount, 2);
    assert.equal((error as AgentError).runId, result.runId);
  });

  test('a snapshot of another version', async () => {
    const { result } = await interruptedRun([]);
    const error = (() => {
      try {
        loadRunSnapshot(JSON.stringify({ ...result.snapshot, version: 2 }));
      } catch (e) {
        return e;
      }
    })();
    assert.equal(SnapshotError.isInstance(error) && error.code, 'SNAPSHOT_VERSION');
  });

  test('an edited snapshot: the zod issues, paths only, and runAgent refuses it the same way', async () => {
    const { result, tools } = await interruptedRun([]);
    const edited = JSON.parse(JSON.stringify(result.snapshot));
    edited.transcript[0].role = 'wizard';
    edited.pending.results[0].toolCallId = 'c4';
    edited.turn = -1;
    const error = await runAgent({
      model: scriptedExecutor(['x']),
      tools,
      resume: { snapshot: edited, decisions: {} },
    }).catch((e: unknown) => e);
    assert.equal(SnapshotError.isInstance(error) && error.code, 'SNAPSHOT_INVALID');
    assert.deepEqual(
      (error as SnapshotError).issues.map((i) => i.path.join('.')),
      ['turn'],
    );
    edited.turn = 1;
    const second = (() => {
      try {
        loadRunSnapshot(edited);
      } catch (e) {
        return e as SnapshotError;
      }
    })();
    assert.deepEqual(
      second?.issues.map((i) => i.path.join('.')),
      ['transcript.0.role'],
    );
    edited.transcript[0].role = 'user';
    const third = (() => {
      try {
        loadRunSnapshot(edited);
      } catch (e) {
        return e as SnapshotError;
      }
    })();
    assert.deepEqual(
      third?.issues.map((i) => i.path.join('.')),
      // c4 answered out of order and while waiting for a decision; c3 then out of order; c2 unanswered.
      [
        'pending.results.0.toolCallId',
        'pending.results.1.toolCallId',
        'interruptions.1.toolCallId',
        'pending.response.message.content.1',
      ],
    );
    assert.doesNotMatch(third?.message ?? '', /Pay the bills|rent/);
  });

  test('text that is not JSON', () => {
    assert.throws(
      () => loadRunSnapshot('{"version":1,'),
      (e: unknown) => SnapshotError.isInstance(e) && e.code === 'SNAPSHOT_NOT_JSON',
    );
  });

  test('run state that is not JSON data fails at snapshot time, naming the key and not the value', async () => {
    const { tools } = fixtures([]);
    const error = await runAgent({
      model: scriptedExecutor([TURN_1]),
      modelId: 'm',
      messages: [USER],
      tools,
      state: { secret: { when: new Date(0) } } as never,
      persistState: ['secret' as never],
    }).catch((e: unknown) => e);
    assert.equal(AgentError.isInstance(error), true);
    const cause = (error as AgentError).cause as SnapshotError;
    assert.equal(cause.code, 'SNAPSHOT_NOT_SERIALIZABLE');
    assert.equal(cause.key, 'secret');
    assert.match(cause.message, /`secret`.*a Date at when/);
  });

  test('persisted state keys come back on resume; others do not', async () => {
    const { tools } = fixtures([]);
    const state = { kept: { n: 1 }, dropped: 2 } as never;
    const first = await runAgent({
      model: scriptedExecutor([TURN_1]),
      modelId: 'm',
      messages: [USER],
      tools,
      state,
      persistState: ['kept' as never],
    });
    assert.deepEqual(first.snapshot?.state, { kept: { n: 1 } });
    const second = await runAgent({
      model: scriptedExecutor(['ok']),
      tools,
      resume: {
        snapshot: first.snapshot as RunSnapshot,
        decisions: { c1: { type: 'approve' }, c4: { type: 'approve' } },
      },
    });
    assert.deepEqual(second.state, { kept: { n: 1 } });
  });
});

describe('property: no tool result orphaned or misordered', () => {
  const arbTurn = fc.array(
    fc.record({
      needs: fc.boolean(),
      decision: fc.constantFrom<Decision['type'] | 'edit'>('approve', 'reject', 'respond', 'edit'),
    }),
    { minLength: 1, maxLength: 6 },
  );

  test('under random mixes of approvals and decisions, every call is answered once, in call order', async () => {
    await fc.assert(
      fc.asyncProperty(arbTurn, fc.boolean(), async (specs, streaming) => {
        const ran: string[] = [];
        const t = tool({
          name: 't',
          input: z.object({ n: z.number(), needs: z.boolean() }),
          needsApproval: ({ needs }) => needs,
          execute: ({ n }, { toolCallId }) => {
            ran.push(toolCallId);
            return `r${n}`;
          },
        });
        const toolCalls = specs.map((s, i) => call(`x${i}`, 't', { n: i, needs: s.needs }));
        const model = scriptedExecutor([{ toolCalls }, 'end']);
        const run = (options: Parameters<typeof runAgent>[0]) =>
          streaming ? streamAgent(options).result : runAgent(options);
        let result = await run({ model, modelId: 'm', messages: [USER], tools: [t] });
        const held = specs.flatMap((s, i) => (s.needs ? [`x${i}`] : []));
        if (held.length > 0) {
          assert.equal(result.stopReason, 'interrupted');
          const decisions: Record<string, Decision> = {};
          specs.forEach((s, i) => {
            if (!s.needs) return;
            decisions[`x${i}`] =
              s.decision === 'edit'
                ? { type: 'approve', input: { n: i + 100, needs: true } }
                : s.decision === 'reject'
                  ? { type: 'reject', message: `no${i}` }
                  : s.decision === 'respond'
                    ? { type: 'respond', result: `human${i}` }
                    : { type: 'approve' };
          });
          const snapshot = loadRunSnapshot(JSON.stringify(result.snapshot));
          result = await run({ model, tools: [t], resume: { snapshot, decisions } });
        }
        assert.equal(result.stopReason, 'no-tool-calls');
        const expected = specs.map((s, i) => {
          if (!s.needs || s.decision === 'approve') return `tool(x${i}):r${i}`;
          if (s.decision === 'edit') return `tool(x${i}):r${i + 100}`;
          return s.decision === 'reject' ? `tool(x${i}):no${i}` : `tool(x${i}):human${i}`;
        });
        assert.deepEqual(summary(result.transcript), [
          'user:Pay the bills',
          `assistant:${specs.map((_, i) => `call(x${i})`).join(',')}`,
          ...expected,
          'assistant:end',
        ]);
        // No tool ran twice, and no held call ran without approval.
        assert.equal(new Set(ran).size, ran.length);
        for (const id of ran) {
          const i = Number(id.slice(1));
          const s = specs[i] as (typeof specs)[number];
          assert.ok(!s.needs || s.decision === 'approve' || s.decision === 'edit');
        }
      }),
      { numRuns: 60 },
    );
  });
});
