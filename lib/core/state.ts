import type { Draft, Immutable, Patch } from 'immer';
import type { ReadonlyModelRequest } from './executor.js';
import type { Message, ModelRequest, ModelResponse } from './messages.js';

// The plain data types of the state the built-in `usage()` keeps. They are declared here, not merged
// in from middleware/usage.ts, so the published types carry them (docs/decisions.md §19) and core
// imports no built-in (.dependency-cruiser.cjs).

/** The usage of one call, charged to the model that actually answered (after routing and fallback). */
export interface CallUsage {
  /** The effective model (`ctx.model.resolved`). */
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** Part of `inputTokens` served from the provider's cache. */
  readonly cachedInputTokens: number;
  readonly totalTokens: number;
  /** `undefined` when `prices` has no entry for `model`. */
  readonly costUsd: number | undefined;
}

/** Sums over the calls of one run, or of one pipeline outside runs. */
export interface UsageTotals {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  totalTokens: number;
  /** Sum of the priced calls only. */
  costUsd: number;
}

/**
 * Per-call state shared by every layer of one call. Extend it by declaration merging so your
 * middleware's fields are typed:
 *
 * @example
 * declare module 'modelware' {
 *   interface CallState { cacheHit?: boolean }
 * }
 */
export interface CallState {
  /** Set by `cache()`: whether the store answered this call, and the key it looked up. */
  cache?: { readonly hit: boolean; readonly key: string };
  /** Set by `usage()` once the call's response is complete. */
  usage?: CallUsage;
  /** Set by `validateOutput()`: the parsed value of the answer that passed. Typed via `.output(ctx)`. */
  validatedOutput?: unknown;
}

/**
 * Run-level state of an agent run, extended by declaration merging like `CallState`. (The keys the
 * built-ins write are declared here rather than merged from middleware/, so the published types
 * carry them: a merge into a relative module path does not survive bundling the declarations.)
 */
export interface RunState {
  /** Kept by `usage()`: the run's totals so far. */
  usage?: UsageTotals;
}

/** What a call knows about the agent run it belongs to (`ctx.run`, absent outside a loop). */
export interface RunContext {
  readonly runId: string;
  /** 1-based turn number (0 in a run layer before the first turn). */
  readonly turn: number;
  /** The persisted message history of the run. */
  readonly transcript: Immutable<Message[]>;
  readonly state: RunState;
  /** Change what persists in the transcript (unlike `ctx.update`, which changes only this call). */
  updateTranscript(
    recipe: (
      draft: Draft<Message[]>,
      info: { readonly original: Immutable<Message[]> },
    ) => void | Message[] | Immutable<Message[]>,
  ): void;
  /** Metadata passed to the run (tenant, user, tags). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export type RequestRecipe = (
  draft: Draft<ModelRequest>,
  info: { readonly original: ReadonlyModelRequest },
) => void | ModelRequest | ReadonlyModelRequest;

export type ResponseRecipe = (
  draft: Draft<ModelResponse>,
  info: { readonly original: Immutable<ModelResponse> },
) => void | ModelResponse | Immutable<ModelResponse>;

/** What one layer changed: recorded when the pipeline runs with `inspect: true`. */
export interface LayerPatches {
  readonly layer: string;
  readonly target: 'request' | 'response';
  readonly patches: readonly Patch[];
  readonly inversePatches: readonly Patch[];
}
