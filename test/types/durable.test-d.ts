// Type tests for interrupts, snapshots and resume: checked by `npx tsc --noEmit`, never run.
import {
  type Decision,
  type Interruption,
  type ResumeErrorCode,
  type RunSnapshot,
  type SnapshotErrorCode,
  defineMiddleware,
  definePlugin,
  loadRunSnapshot,
  openRunSnapshot,
  sealRunSnapshot,
  requireApproval,
  runAgent,
  streamAgent,
  tool,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
declare function assertTrue<T extends true>(): void;

const model = scriptedExecutor(['ok']);

// needsApproval: a boolean, or a predicate of the parsed input.
const pay = tool({
  name: 'pay',
  input: z.object({ cents: z.number() }),
  needsApproval: ({ cents }, { toolCallId }) => {
    assertTrue<Equal<typeof cents, number>>();
    assertTrue<Equal<typeof toolCallId, string>>();
    return cents > 100;
  },
  execute: (_input, { idempotencyKey }) => {
    assertTrue<Equal<typeof idempotencyKey, string>>();
    return 'paid';
  },
});
tool({ name: 'a', input: z.object({}), needsApproval: true, execute: () => 1 });
// @ts-expect-error needsApproval is a boolean or a predicate
tool({ name: 'b', input: z.object({}), needsApproval: 'yes', execute: () => 1 });
tool({
  name: 'c',
  input: z.object({ n: z.number() }),
  // @ts-expect-error the predicate sees the parsed input
  needsApproval: ({ m }) => m > 1,
  execute: () => 1,
});

async function flows() {
  const result = await runAgent({ model, modelId: 'm', messages: [], tools: [pay] });
  assertTrue<Equal<typeof result.snapshot, RunSnapshot | undefined>>();
  for (const i of result.interruptions) {
    assertTrue<Equal<typeof i, Interruption>>();
    if (i.kind === 'tool-call') assertTrue<Equal<typeof i.toolCallId, string>>();
    // @ts-expect-error a pause has no tool call
    else i.toolCallId;
  }
  const snapshot = loadRunSnapshot('{}');
  assertTrue<Equal<typeof snapshot.version, 1>>();
  const decisions: Record<string, Decision> = {
    a: { type: 'approve' },
    b: { type: 'approve', input: { cents: 5 } },
    c: { type: 'reject', message: 'no' },
    d: { type: 'respond', result: { any: 'thing' } },
  };
  // A resumed run takes no `messages`, and `modelId` defaults to the snapshot's.
  await runAgent({ model, tools: [pay], resume: { snapshot, decisions } });
  streamAgent({ model, tools: [pay], resume: { snapshot, decisions } });
  // @ts-expect-error `messages` or `resume`, not both
  await runAgent({ model, messages: [], resume: { snapshot } });
  // @ts-expect-error reject needs a message
  await runAgent({ model, resume: { snapshot, decisions: { a: { type: 'reject' } } } });
  // @ts-expect-error not a decision type
  await runAgent({ model, resume: { snapshot, decisions: { a: { type: 'maybe' } } } });
  // @ts-expect-error persistState names run state keys
  await runAgent({ model, modelId: 'm', messages: [], persistState: ['notAKey'] });
  await runAgent({ model, modelId: 'm', messages: [], persistState: ['usage'] });
}
void flows;

// ctx.interrupt on run, turn and tool layers; `resumed` on run and turn layers.
defineMiddleware({
  name: 'gate',
  async run(ctx, next) {
    assertTrue<Equal<typeof ctx.resumed, boolean>>();
    if (!ctx.resumed) return ctx.interrupt({ question: 'start?' });
    await next();
  },
  async turn(ctx, next) {
    assertTrue<Equal<ReturnType<typeof ctx.interrupt>, void>>();
    await next();
  },
  async tool(ctx, next) {
    assertTrue<Equal<ReturnType<typeof ctx.interrupt>, boolean>>();
    assertTrue<Equal<typeof ctx.approved, boolean>>();
    if (ctx.interrupt()) return;
    if (ctx.interrupt({ reason: 'x' }, { plugin: 'approvals' })) return;
    // @ts-expect-error the origin names a plugin
    ctx.interrupt(null, { layer: 'x' });
    await next();
  },
});

// requireApproval() is a tool_pre_invoke result.
definePlugin({
  name: 'approvals',
  hooks: { tool_pre_invoke: (p) => (p.toolName === 'pay' ? requireApproval('over budget', { limit: 1 }) : undefined) },
});

assertTrue<
  Equal<
    ResumeErrorCode,
    'RUN_FINISHED' | 'UNKNOWN_TOOL_CALL' | 'MISSING_DECISION' | 'INVALID_DECISION' | 'INVALID_INPUT' | 'UNKNOWN_TOOL'
  >
>();
assertTrue<
  Equal<
    SnapshotErrorCode,
    | 'SNAPSHOT_NOT_JSON'
    | 'SNAPSHOT_VERSION'
    | 'SNAPSHOT_INVALID'
    | 'SNAPSHOT_NOT_SERIALIZABLE'
    | 'SNAPSHOT_BAD_SIGNATURE'
  >
>();

// Sealed snapshots: a string out, a RunSnapshot back; the key is required.
declare const sealedFrom: RunSnapshot;
const sealedText = sealRunSnapshot(sealedFrom, { key: 'k'.repeat(32) });
assertTrue<Equal<typeof sealedText, string>>();
assertTrue<Equal<ReturnType<typeof openRunSnapshot>, RunSnapshot>>();
openRunSnapshot(sealedText, { key: [new Uint8Array(32), 'k'.repeat(32)], maxChars: 1_000 });
// @ts-expect-error the key is required
openRunSnapshot(sealedText, {});
// @ts-expect-error a number is not a key
sealRunSnapshot(sealedFrom, { key: 42 });
