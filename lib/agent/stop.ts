import type { Immutable } from 'immer';
import type { RunContext } from '../core/context.js';
import type { Message, ModelResponse } from '../core/messages.js';
import type { TurnRecord } from './run-context.js';
import { describeValue } from '../internal/options.js';

/** What a stop condition sees after each turn that asked for tools (their results are in). */
export interface StopState {
  /** Every completed turn; the last one is the turn that just ended. */
  readonly turns: readonly TurnRecord[];
  readonly transcript: Immutable<Message[]>;
  /** The last model response. */
  readonly response: ModelResponse;
  readonly run: RunContext;
}

/**
 * Decides whether the run ends after a turn. The loop also ends on its own when the model answers
 * without calling a tool, and at `maxTurns`.
 */
export type StopCondition = (state: StopState) => boolean | PromiseLike<boolean>;

/**
 * Stops after `count` turns (model calls), with stop reason `stop-when`. Unlike `maxTurns`, which
 * is a safety limit, this is a normal end.
 *
 * @example
 * await runAgent({ model, modelId: 'gpt-5-mini', messages, tools, stopWhen: stepCountIs(5) });
 */
export function stepCountIs(count: number): StopCondition {
  if (!Number.isInteger(count) || count < 1) {
    throw new TypeError(`stepCountIs(): expected a positive integer, got ${describeValue(count)}.`);
  }
  return function stepCountIs({ turns }) {
    return turns.length >= count;
  };
}

/**
 * Stops after a turn that called one of the named tools (its results are in the transcript), e.g.
 * a `finalAnswer` tool.
 *
 * @example
 * await runAgent({ model, modelId: 'gpt-5-mini', messages, tools, stopWhen: hasToolCall('finalAnswer') });
 */
export function hasToolCall(...names: string[]): StopCondition {
  if (names.length === 0 || names.some((n) => typeof n !== 'string' || n.length === 0)) {
    throw new TypeError(`hasToolCall(): expected one or more tool names, got ${JSON.stringify(names)}.`);
  }
  const wanted = new Set(names);
  return function hasToolCall({ turns }) {
    const last = turns.at(-1);
    return last?.toolCalls.some((call) => wanted.has(call.toolName)) === true;
  };
}

/** @internal Normalises `stopWhen` (one condition or several) at the start of a run. */
export function toStopConditions(value: unknown, where: string): readonly StopCondition[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((condition, i) => {
    if (typeof condition !== 'function') {
      throw new TypeError(
        `${where}: expected \`stopWhen\` to be a condition function or an array of them (e.g. stepCountIs(5)), got ${describeValue(condition)} at index ${i}.`,
      );
    }
  });
  return list as StopCondition[];
}

/** @internal True when any condition holds; evaluated in order, stopping at the first. */
export async function shouldStop(conditions: readonly StopCondition[], state: StopState): Promise<boolean> {
  for (const condition of conditions) if (await condition(state)) return true;
  return false;
}
