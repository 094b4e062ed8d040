// The recorder's cost (issue 13). Run: npx tsx bench/recorder.bench.ts
//
// 1. Absent: the hooks `ctx.observe` needs (one field test per layer and at dispatch) against the
//    core without them. The baseline is the tree before the recorder, unpacked beside this one:
//      mkdir -p /tmp/recorder-base && git archive 8f299ca lib | tar -x -C /tmp/recorder-base &&
//      ln -s "$PWD/node_modules" /tmp/recorder-base/node_modules
//      RECORDER_BASELINE=/tmp/recorder-base npx tsx bench/recorder.bench.ts
//    Without RECORDER_BASELINE this check is skipped. Both sides run a 10-layer pipeline, paired
//    round by round in the same process.
// 2. On: the extra cost per call (10 layers, no update), and per layer update (one ctx.update
//    replacing one message of 100, so the diff runs), against the same pipeline without it.
// 3. Flat per turn: an agent run of 20 vs 200 turns (the transcript grows by two messages a turn),
//    with and without the recorder; the recorder's cost per turn must not grow with the turns.
import * as current from 'modelware';
import { memorySink, recorder } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { type Check, fmt, median, printChecks, sample } from './harness.js';

type Lib = typeof current;
const REQUEST = { model: 'bench-model', messages: [{ role: 'user' as const, content: 'hi' }] };
const RESPONSE = { message: { role: 'assistant' as const, content: 'ok' }, finishReason: 'stop' as const };
const executor = { name: 'bench', generate: async () => RESPONSE };

function tenLayers(lib: Lib, first?: current.Middleware) {
  const app = lib.pipeline(executor);
  if (first) app.use(first);
  for (let i = 0; i < 10; i++) {
    app.use(
      lib.defineMiddleware({
        name: `layer${i}`,
        async call(_ctx, next) {
          await next();
        },
      }),
    );
  }
  return app;
}

const checks: Check[] = [];

// 1. Absent.
const baselinePath = process.env.RECORDER_BASELINE;
if (baselinePath) {
  const baseline = (await import(`${baselinePath}/lib/index.ts`)) as Lib;
  const now = tenLayers(current);
  const before = tenLayers(baseline);
  const ns = await sample(
    { now: () => now.generate(REQUEST), before: () => before.generate(REQUEST) },
    { iterations: 20_000, rounds: 21 },
  );
  const added = median(ns.now.map((x, i) => x - (ns.before[i] as number)));
  checks.push({
    name: 'recorder absent: 10-layer call, this core vs the core before ctx.observe (paired)',
    measured: `${fmt(median(ns.now))} vs ${fmt(median(ns.before))}: ${added >= 0 ? '+' : ''}${added.toFixed(1)} ns per call`,
    target: '≤ +20 ns',
    pass: added <= 20,
  });
} else {
  console.log('RECORDER_BASELINE not set: the "absent" check is skipped (see the header of this file).');
}

// 2. On, per call and per update.
{
  const plain = tenLayers(current);
  const sink = memorySink({ maxRecords: 1 });
  const withRecorder = tenLayers(current, recorder({ sink }));
  const ns = await sample(
    { on: () => withRecorder.generate(REQUEST), off: () => plain.generate(REQUEST) },
    { iterations: 5_000, rounds: 15 },
  );
  const perCall = median(ns.on.map((x, i) => x - (ns.off[i] as number)));
  checks.push({
    name: 'recorder on: extra cost per call (10 layers: 42 records a call)',
    measured: `${fmt(median(ns.on))} vs ${fmt(median(ns.off))}: +${fmt(perCall)} per call`,
    target: '(measured)',
    pass: true,
  });

  const messages = Array.from({ length: 100 }, (_, i) => ({ role: 'user' as const, content: `message ${i}` }));
  const edit = current.defineMiddleware({
    name: 'edit',
    async call(ctx, next) {
      ctx.update((d) => {
        d.messages[50] = { role: 'user', content: 'replaced' };
      });
      await next();
    },
  });
  const updOff = current.pipeline(executor).use(edit);
  const updOn = current.pipeline(executor).use(recorder({ sink: memorySink({ maxRecords: 1 }) }), edit);
  const bare = current.pipeline(executor).use(current.defineMiddleware({ name: 'edit', call: (_c, next) => next() }));
  const bareOn = current
    .pipeline(executor)
    .use(
      recorder({ sink: memorySink({ maxRecords: 1 }) }),
      current.defineMiddleware({ name: 'edit', call: (_c, next) => next() }),
    );
  const req = { model: 'bench-model', messages };
  const u = await sample(
    {
      updOn: () => updOn.generate(req),
      updOff: () => updOff.generate(req),
      bareOn: () => bareOn.generate(req),
      bare: () => bare.generate(req),
    },
    { iterations: 3_000, rounds: 15 },
  );
  const perUpdate = median(
    u.updOn.map((x, i) => x - (u.updOff[i] as number) - ((u.bareOn[i] as number) - (u.bare[i] as number))),
  );
  checks.push({
    name: 'recorder on: extra cost per layer update (1 of 100 messages replaced; diff + change record)',
    measured: `+${fmt(perUpdate)} per update`,
    target: '(measured)',
    pass: true,
  });
}

// 3. Flat per turn.
{
  const echo = current.tool({ name: 'echo', description: 'echo', input: z.object({}), execute: () => 'done' });
  const model = () => scriptedExecutor([{ toolCalls: [{ name: 'echo', input: {} }] }], { whenDone: 'repeat-last' });
  const run = (turns: number, withRecorder: boolean) => {
    const app = current.pipeline(model());
    if (withRecorder) app.use(recorder({ sink: memorySink({ maxRecords: 1 }) }));
    app.use(current.defineMiddleware({ name: 'pass', call: (_c, next) => next() }));
    return current.runAgent({
      model: app,
      modelId: 'bench-model',
      messages: REQUEST.messages,
      tools: [echo],
      maxTurns: turns,
      onMaxTurns: 'stop',
    });
  };
  const ns = await sample(
    {
      on20: () => run(20, true),
      off20: () => run(20, false),
      on200: () => run(200, true),
      off200: () => run(200, false),
    },
    { iterations: 3, rounds: 15, warmup: 2 },
  );
  const per = (on: number[], off: number[], turns: number) =>
    median(on.map((x, i) => (x - (off[i] as number)) / turns));
  const at20 = per(ns.on20, ns.off20, 20);
  const at200 = per(ns.on200, ns.off200, 200);
  checks.push({
    name: "recorder's cost per turn, 20 vs 200 turns (transcript +2 messages a turn)",
    measured: `${fmt(at20)} vs ${fmt(at200)} (${(at200 / at20).toFixed(2)}×; whole turn ${fmt(median(ns.off20) / 20)} vs ${fmt(median(ns.off200) / 200)} without it)`,
    target: 'flat (≤ 1.5×)',
    pass: at200 / at20 <= 1.5,
  });
}

printChecks('recorder — issue 13', checks);
