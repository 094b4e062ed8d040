// modelware/bullmq: agent runs as BullMQ jobs. Written on the public API only (like a built-in),
// and without importing bullmq: the processor is a plain function you give to `new Worker(...)`,
// and the queue is typed structurally, so bullmq stays an optional peer.
import {
  type AgentResult,
  type CheckpointStore,
  type Decision,
  type Interruption,
  type RunAgentOptions,
  runAgent,
} from '../index.js';

/** The data of an agent job: which run, and (to continue an interrupted one) the decisions. */
export interface AgentJobData {
  /** The run's id in the store (also a good BullMQ `jobId` prefix). */
  readonly runId: string;
  /** Anything your `build` needs to start the run (the user's message, a tenant). */
  readonly input?: unknown;
  /** Decisions for a run waiting on them, keyed by tool call id (see `resumeAgentJob`). */
  readonly decisions?: Readonly<Record<string, Decision>> | undefined;
}

/** What an agent job returns (BullMQ stores it as the job's return value). */
export interface AgentJobResult {
  readonly runId: string;
  readonly stopReason: AgentResult['stopReason'];
  readonly text: string;
  /** What the run waits for when `stopReason` is `'interrupted'`. */
  readonly interruptions: readonly Interruption[];
}

/** The part of a BullMQ `Job` the processor reads. */
export interface AgentJobLike {
  readonly data: AgentJobData;
  readonly id?: string | undefined;
}

/** The run options `build` returns: the stack and tools, and for a new run its messages. */
export type AgentJobRunOptions = Pick<RunAgentOptions, 'model' | 'tools'> &
  Partial<Omit<RunAgentOptions, 'model' | 'tools' | 'checkpoint' | 'resume'>>;

export interface AgentJobProcessorOptions {
  /** The run store every worker shares: `redisRunStore({ client })`. */
  readonly store: CheckpointStore;
  /**
   * Builds a run's options from its job: `model`, `tools` (the same on every worker) and, for the
   * first delivery, `messages`. Called for every delivery; on a resume `messages` is ignored.
   */
  readonly build: (data: AgentJobData) => AgentJobRunOptions | Promise<AgentJobRunOptions>;
  /** This worker's id, the owner of the leases it takes. @default a random id per processor */
  readonly owner?: string | undefined;
  /** The run lease's TTL in ms; keep it near BullMQ's `lockDuration`. @default 30_000 */
  readonly leaseTtlMs?: number | undefined;
}

const OPTIONS = ['store', 'build', 'owner', 'leaseTtlMs'];

/**
 * A BullMQ processor that runs agent runs with checkpoints. A job whose run has no log starts it;
 * a job whose run has one (BullMQ re-delivered a stalled job after its worker died, or a
 * `resumeAgentJob` carries decisions) resumes it by id from the log: tools with a result never run
 * again, and a second worker on the same run gets `RunLeaseError`.
 *
 * @example
 * import { Worker } from 'bullmq';
 * const processor = agentJobProcessor({ store: redisRunStore({ client }), build: ({ input }) => ({ model, tools, modelId, messages: [{ role: 'user', content: String(input) }] }) });
 * new Worker('agent-runs', processor, { connection, stalledInterval: 5_000 });
 */
export function agentJobProcessor(options: AgentJobProcessorOptions): (job: AgentJobLike) => Promise<AgentJobResult> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('agentJobProcessor(): expected an options object { store, build }.');
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) throw new TypeError(`agentJobProcessor(): unknown option \`${key}\`.`);
  }
  const { store, build, leaseTtlMs = 30_000 } = options;
  const owner = options.owner ?? `worker_${Math.random().toString(36).slice(2, 12)}`;
  if (typeof store?.read !== 'function') {
    throw new TypeError('agentJobProcessor(): expected `store` to be a run store (redisRunStore({ client })).');
  }
  if (typeof build !== 'function') {
    throw new TypeError('agentJobProcessor(): expected `build` to be a function (data) => run options.');
  }
  return async function agentJob(job) {
    const data = job.data;
    const { runId } = data;
    const run = await build(data);
    const { length } = await store.read(runId, { from: Number.MAX_SAFE_INTEGER });
    const checkpoint = { store, owner, leaseTtlMs };
    const result =
      length === 0
        ? await runAgent({ ...(run as RunAgentOptions), checkpoint: { ...checkpoint, runId } })
        : await runAgent({
            model: run.model,
            tools: run.tools,
            ...(run.middleware && { middleware: run.middleware }),
            checkpoint,
            resume: { runId, decisions: data.decisions ?? {} },
          });
    return { runId, stopReason: result.stopReason, text: result.text, interruptions: result.interruptions };
  };
}

/** The part of a BullMQ `Queue` `resumeAgentJob` uses. */
export interface AgentQueueLike {
  add(name: string, data: AgentJobData, options?: { jobId?: string }): Promise<unknown>;
}

/**
 * Queues the decisions for an interrupted run: whichever worker takes the job resumes the run from
 * its log. `attempt` makes the job id unique per round of decisions (BullMQ ignores a job id it has).
 *
 * @example
 * await resumeAgentJob(queue, 'order-A7', { c2: { type: 'approve' } });
 */
export function resumeAgentJob(
  queue: AgentQueueLike,
  runId: string,
  decisions: Readonly<Record<string, Decision>>,
  attempt = 1,
): Promise<unknown> {
  return queue.add('resume', { runId, decisions }, { jobId: `${runId}.resume.${attempt}` });
}
