import { type ResumeStart, type RunAgentOptions, prepareResumeById, prepareRun } from './agent.js';
import { isResumeById } from './checkpoint-resume.js';
import { type Prepared, driveRun } from './loop.js';
import type { AgentEvent, AgentResult } from './run-context.js';
import { linkSignals } from '../internal/signals.js';

// AgentEvent is declared in run-context.ts (loop.ts emits it; loop.ts must not import this file).
export type { AgentEvent };

/**
 * Runs the same loop as `runAgent`, streaming every model call, and yields its events. The run
 * starts when you first iterate or read `result`, and waits for you between events. Breaking out
 * of `for await` cancels the run (the in-flight call and running tools get the abort).
 *
 * @example
 * for await (const event of streamAgent({ model: app, modelId: 'gpt-5-mini', messages, tools })) {
 *   if (event.type === 'text-delta') process.stdout.write(event.text);
 * }
 */
export function streamAgent(options: RunAgentOptions): AgentStream {
  if (isResumeById(options?.resume)) {
    // The log is read when the stream starts: its errors end the iteration and reject `result`.
    return new AgentStream((signal) => prepareResumeById(options, signal, 'streamAgent()'), options.signal);
  }
  return new AgentStream(prepareRun(options, 'streamAgent()'), options.signal);
}

/** What a stream runs: a prepared run, or one prepared once it starts (resume by run id reads the log). */
type StreamSource = Prepared | ((signal: AbortSignal) => Promise<ResumeStart>);

interface Pending {
  readonly event: AgentEvent;
  readonly taken: () => void;
}

export class AgentStream implements AsyncIterable<AgentEvent> {
  readonly #source: StreamSource;
  readonly #outer: AbortSignal | undefined;
  readonly #controller = new AbortController();
  readonly #buffer: Pending[] = [];
  #wake: (() => void) | undefined;
  #run: Promise<AgentResult> | undefined;
  #ended = false;
  #failure: { error: unknown } | undefined;
  #iterating = false;
  #draining = false;

  /** @internal */
  constructor(source: StreamSource, signal: AbortSignal | undefined) {
    this.#source = source;
    this.#outer = signal;
  }

  /**
   * The run's result. If nobody iterates the events, reading this runs the loop and drops them. A
   * failed run rejects it with the same `AgentError` the iteration ends with (transcript included).
   */
  get result(): Promise<AgentResult> {
    if (!this.#iterating) this.#draining = true;
    return this.#start();
  }

  #start(): Promise<AgentResult> {
    if (this.#run) return this.#run;
    const link = this.#outer
      ? linkSignals(this.#outer, this.#controller.signal)
      : { signal: this.#controller.signal, dispose() {} };
    const emit = (event: AgentEvent) => this.#push(event);
    const source = this.#source;
    const run =
      typeof source === 'function'
        ? source(link.signal).then(async (found) => {
            if (found.kind === 'run') return driveRun(found.prepared, link.signal, emit);
            // A call a crash cut short waits for a decision: reported as any interrupted run's are.
            const { result } = found;
            for (const interruption of result.interruptions) {
              await emit({ type: 'interrupt', turn: result.snapshot?.turn ?? 0, interruption });
            }
            return result;
          })
        : driveRun(source, link.signal, emit);
    this.#run = run;
    run.then(
      (result) => {
        this.#buffer.push({ event: { type: 'done', result }, taken() {} });
        this.#end(undefined);
      },
      (error: unknown) => this.#end({ error }),
    );
    run.finally(link.dispose).catch(() => {});
    return run;
  }

  #push(event: AgentEvent): Promise<void> | undefined {
    if (this.#draining) return undefined;
    return new Promise((taken) => {
      this.#buffer.push({ event, taken });
      this.#wake?.();
    });
  }

  #end(failure: { error: unknown } | undefined): void {
    this.#ended = true;
    this.#failure = failure;
    this.#wake?.();
  }

  [Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    if (this.#iterating || this.#draining) {
      throw new TypeError('This AgentStream was already consumed. Call streamAgent() again for a new run.');
    }
    this.#iterating = true;
    return {
      next: () => this.#next(),
      return: () => this.#stop(),
    };
  }

  async #next(): Promise<IteratorResult<AgentEvent>> {
    this.#start().catch(() => {});
    for (;;) {
      const pending = this.#buffer.shift();
      if (pending) {
        pending.taken();
        return { done: false, value: pending.event };
      }
      if (this.#ended) {
        const failure = this.#failure;
        this.#failure = undefined;
        if (failure) throw failure.error;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  /** The consumer stopped early: cancel the run and wait until every layer has unwound. */
  async #stop(): Promise<IteratorResult<AgentEvent>> {
    if (this.#run && !this.#ended) {
      this.#controller.abort(new DOMException('The stream consumer stopped before the end.', 'AbortError'));
      this.#draining = true;
      for (const pending of this.#buffer.splice(0)) pending.taken();
      await this.#run.catch(() => {});
    }
    this.#failure = undefined;
    return { done: true, value: undefined };
  }
}
