// Checkpoint benchmarks (issue 12 item 4). Run: npx tsx bench/checkpoint.bench.ts
// (a) the 1,000-turn loop of agent.bench.ts with and without `checkpoint: { store: memoryRunStore() }`,
//     in CPU time, paired rounds, with an A/A control;
// (b) bytes written to Redis per step, against the JSON size of that step's new messages, counted
//     by a client wrapper (payload: the entries pushed; wire: the whole EVALSHA command in RESP).
import { Redis } from 'ioredis';
import {
  type Executor,
  type Message,
  type ModelResponse,
  type RedisClientLike,
  memoryRunStore,
  redisRunStore,
  runAgent,
  tool,
} from 'modelware';
import { z } from 'zod';
import { REDIS_MISSING, startRedis } from '../test/fixtures/redis.js';
import { type Check, median, pairedRatio, printChecks } from './harness.js';

const TURNS = 1_000;
const START: Message[] = [
  { role: 'system', content: 'You are a research agent. Use the lookup tool.' },
  { role: 'user', content: 'Find everything about onions.' },
];
const output = (q: number): string => JSON.parse(JSON.stringify(String(q).padEnd(500, '.')));
const lookup = tool({ name: 'lookup', input: z.object({ q: z.number() }), execute: ({ q }) => output(q) });

/** Calls `lookup` on every turn but the last; `onTurn` hears each turn's number as it answers. */
function loopExecutor(turns: number, onTurn?: (turn: number) => void): Executor {
  let n = 0;
  return {
    name: 'bench',
    async generate(): Promise<ModelResponse> {
      n++;
      onTurn?.(n);
      if (n >= turns) return { message: { role: 'assistant', content: 'done' }, finishReason: 'stop' };
      return {
        message: {
          role: 'assistant',
          content: [{ type: 'tool-call', toolCallId: `c${n}`, toolName: 'lookup', input: { q: n } }],
        },
        finishReason: 'tool-calls',
        usage: { inputTokens: 1, outputTokens: 1 },
      };
    },
  };
}

const run = (checkpointed: boolean) =>
  runAgent({
    model: loopExecutor(TURNS),
    modelId: 'bench-model',
    messages: START,
    tools: [lookup],
    maxTurns: TURNS,
    ...(checkpointed && { checkpoint: { store: memoryRunStore() } }),
  });

const checks: Check[] = [];

// (a) In-memory checkpointing on the 1,000-turn loop. Timed in CPU time of this process
// (process.cpuUsage), not wall time: on a shared machine a run descheduled half-way costs wall
// time that is not its own. Each round runs the three variants back to back (order rotating); the
// result is the median of the per-round ratios. `plain again` against `plain` is an A/A control:
// its distance from 1.000 is the noise floor of this run.
{
  const cpuMs = async (fn: () => Promise<unknown>): Promise<number> => {
    const before = process.cpuUsage();
    await fn();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  const variants = { checkpointed: () => run(true), plain: () => run(false), again: () => run(false) };
  const names = Object.keys(variants) as (keyof typeof variants)[];
  const times = { checkpointed: [] as number[], plain: [] as number[], again: [] as number[] };
  const ROUNDS = 101;
  for (let r = 0; r < 10; r++) for (const name of names) await variants[name]();
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length] as keyof typeof variants;
      times[name].push(await cpuMs(variants[name]));
    }
  }
  const ratio = pairedRatio(times.checkpointed, times.plain);
  const control = pairedRatio(times.again, times.plain);
  const ratios = times.checkpointed.map((t, i) => t / (times.plain[i] as number)).sort((a, b) => a - b);
  const quartile = (f: number) => (ratios[Math.floor(f * (ratios.length - 1))] as number).toFixed(3);
  checks.push({
    name: `(a) 1,000 turns with checkpoint: { store: memoryRunStore() } vs without (CPU time, median of ${ROUNDS} paired rounds)`,
    measured: `${median(times.checkpointed).toFixed(2)} ms vs ${median(times.plain).toFixed(2)} ms (${ratio.toFixed(3)}×, quartiles ${quartile(0.25)}–${quartile(0.75)})`,
    target: '≤ 1.10×',
    pass: ratio <= 1.1,
  });
  checks.push({
    name: '(a) control: the plain loop against itself (A/A, the noise floor of this run)',
    measured: `${control.toFixed(3)}×`,
    target: 'for information',
    pass: true,
  });
}

// (b) Bytes written to Redis per step.
if (REDIS_MISSING) {
  console.log(`(b) skipped: ${REDIS_MISSING}`);
} else {
  const server = await startRedis();
  const redis = new Redis({ port: server.port, host: '127.0.0.1' });
  try {
    let turn = 0;
    const payload = new Array<number>(TURNS + 1).fill(0);
    const wire = new Array<number>(TURNS + 1).fill(0);
    const resp = (arg: string | number) => {
      const bytes = Buffer.byteLength(String(arg));
      return bytes + String(bytes).length + 5; // $<len>\r\n<bytes>\r\n
    };
    // Counts what each command sends; entries are the arguments after the append script's 4 keys and 4 options.
    const counting: RedisClientLike = {
      evalsha: (sha, numKeys, ...args) => {
        const command = ['EVALSHA', sha, numKeys, ...args];
        wire[turn] = (wire[turn] as number) + command.reduce<number>((sum, a) => sum + resp(a), 0) + 4;
        if (numKeys === 4) {
          for (const entry of args.slice(8))
            payload[turn] = (payload[turn] as number) + Buffer.byteLength(String(entry));
        }
        return redis.evalsha(sha, numKeys, ...args);
      },
      eval: (script, numKeys, ...args) => redis.eval(script, numKeys, ...args),
    };
    const store = redisRunStore({ client: counting, prefix: 'bench:' });
    const started = performance.now();
    const result = await runAgent({
      model: loopExecutor(TURNS, (n) => {
        turn = n;
      }),
      modelId: 'bench-model',
      messages: START,
      tools: [lookup],
      maxTurns: TURNS,
      checkpoint: { store, runId: 'bench-run' },
    });
    const ms = performance.now() - started;
    // Each turn's new messages: its assistant message and the tool result after it (none on the last).
    const messages = result.transcript.slice(START.length) as Message[];
    const jsonPerTurn: number[] = [];
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Message;
      if (m.role === 'assistant') jsonPerTurn.push(0);
      jsonPerTurn[jsonPerTurn.length - 1] = (jsonPerTurn.at(-1) as number) + Buffer.byteLength(JSON.stringify(m));
    }
    const ratios = jsonPerTurn.map((json, i) => (payload[i + 1] as number) / json);
    const wireRatios = jsonPerTurn.map((json, i) => (wire[i + 1] as number) / json);
    const toolTurns = ratios.slice(0, -1);
    const first = median(toolTurns.slice(0, 100));
    const last = median(toolTurns.slice(-100));
    const worst = Math.max(...toolTurns);
    checks.push({
      name: `(b) Redis, 1,000 turns: bytes of entries pushed per step / JSON bytes of the step's new messages (run: ${ms.toFixed(0)} ms)`,
      measured: `median ${median(toolTurns).toFixed(3)}×, worst ${worst.toFixed(3)}× (step JSON ${median(jsonPerTurn)} B)`,
      target: '≤ 1.2×',
      pass: worst <= 1.2,
    });
    checks.push({
      name: '(b) flat: median of turns 1-100 vs turns 900-999 (no O(transcript) rewrite)',
      measured: `${first.toFixed(3)}× vs ${last.toFixed(3)}×`,
      target: 'equal within 2%',
      pass: Math.abs(last / first - 1) <= 0.02,
    });
    checks.push({
      name: '(b) for information: whole EVALSHA commands on the wire per step / JSON bytes (keys, owner, sha included)',
      measured: `median ${median(wireRatios.slice(0, -1)).toFixed(2)}×, turns 1-100 ${median(wireRatios.slice(0, 100)).toFixed(2)}× vs 900-999 ${median(wireRatios.slice(-101, -1)).toFixed(2)}×`,
      target: 'flat',
      pass: Math.abs(median(wireRatios.slice(-101, -1)) / median(wireRatios.slice(0, 100)) - 1) <= 0.02,
    });
  } finally {
    await redis.quit();
    await server.stop();
  }
}

printChecks('Checkpoints (bench/checkpoint.bench.ts)', checks);
