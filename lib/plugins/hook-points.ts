import { z } from 'zod';
import { type HookHandlerOf, type HookPoint, defineHook, getHook, hookNames } from './hooks.js';
import {
  MessageSchema,
  ModelRequestSchema,
  ModelResponseSchema,
  StreamPartSchema,
  ToolMessageSchema,
  UsageSchema,
} from '../core/messages.js';

/*
 * The built-in hook points. Each payload carries `metadata` (run metadata merged with the
 * request's: tenant, user, tags) so `when` conditions and handlers can read it; ids tie a payload
 * to its call, run and turn. `writable` is the whole policy: any other change is refused.
 */

const metadata = z.record(z.string(), z.unknown());
const model = z.object({ requested: z.string(), resolved: z.string() });
const call = {
  callId: z.string(),
  mode: z.enum(['generate', 'stream']),
  runId: z.string().optional(),
  turn: z.number().int().positive().optional(),
  metadata,
};
const run = { runId: z.string(), metadata };
const tool = {
  runId: z.string().optional(),
  turn: z.number().int().positive().optional(),
  toolCallId: z.string(),
  toolName: z.string(),
  metadata,
};
/** A problem a validator found with a response. */
export const ValidationFailureSchema = z.object({
  reason: z.string().min(1),
  code: z.string().min(1),
  details: z.record(z.string(), z.unknown()).optional(),
  plugin: z.string().optional(),
});
export type ValidationFailure = z.infer<typeof ValidationFailureSchema>;

export const runStart = defineHook({
  name: 'run_start',
  description: 'An agent run begins (or resumes: `resumed` is true); handlers may rewrite the initial messages.',
  payload: z.object({ ...run, resumed: z.boolean(), messages: z.array(MessageSchema) }),
  writable: ['messages'],
});

export const runEnd = defineHook({
  name: 'run_end',
  description: 'An agent run ended (finished, failed, stopped or interrupted: see `stopReason`).',
  payload: z.object({
    ...run,
    resumed: z.boolean(),
    stopReason: z.enum(['no-tool-calls', 'stop-when', 'max-turns', 'interrupted']).optional(),
    turns: z.number().int().nonnegative(),
    messages: z.array(MessageSchema),
    response: ModelResponseSchema.optional(),
    usage: UsageSchema.optional(),
    error: z.unknown().optional(),
  }),
});

export const turnStart = defineHook({
  name: 'turn_start',
  description: 'A turn of an agent run begins, before its model call.',
  payload: z.object({ ...run, turn: z.number().int().positive(), messages: z.array(MessageSchema) }),
});

export const turnEnd = defineHook({
  name: 'turn_end',
  description: 'A turn ended: its response and tool results are in the transcript.',
  payload: z.object({
    ...run,
    turn: z.number().int().positive(),
    response: ModelResponseSchema,
    messages: z.array(MessageSchema),
  }),
});

export const modelResolve = defineHook({
  name: 'model_resolve',
  description: 'Before a call: handlers may route it to another model.',
  payload: z.object({ ...call, requested: z.string(), model: z.string().min(1), request: ModelRequestSchema }),
  writable: ['model'],
});

export const transformContext = defineHook({
  name: 'transform_context',
  description: 'Before a call: handlers may rewrite the messages this call sends (not the transcript).',
  payload: z.object({ ...call, model, messages: z.array(MessageSchema) }),
  writable: ['messages'],
});

export const llmInput = defineHook({
  name: 'llm_input',
  description: 'The request about to be sent; its model is fixed (use model_resolve to route).',
  payload: z.object({ ...call, model, request: ModelRequestSchema }),
  writable: ['request.messages', 'request.tools', 'request.options', 'request.metadata'],
});

export const llmOutput = defineHook({
  name: 'llm_output',
  description: 'The response, with the model actually used. In stream mode it is read-only (already sent).',
  payload: z.object({ ...call, model, request: ModelRequestSchema, response: ModelResponseSchema }),
  writable: ['response'],
});

export const llmError = defineHook({
  name: 'llm_error',
  description: 'The call failed; a handler may recover by setting `response`.',
  payload: z.object({
    ...call,
    model,
    request: ModelRequestSchema,
    error: z.unknown(),
    response: ModelResponseSchema.optional(),
  }),
  writable: ['response'],
});

export const streamChunk = defineHook({
  name: 'stream_chunk',
  description: 'One stream part on its way out; set `part` to null to drop it.',
  payload: z.object({ ...call, model, index: z.number().int().nonnegative(), part: StreamPartSchema.nullable() }),
  writable: ['part'],
});

export const toolPreInvoke = defineHook({
  name: 'tool_pre_invoke',
  description:
    'A tool is about to run with these arguments; a handler may block it, or hold it for a decision with requireApproval().',
  payload: z.object({ ...tool, input: z.unknown() }),
  writable: ['input'],
});

export const toolPostInvoke = defineHook({
  name: 'tool_post_invoke',
  description: 'A tool ran; handlers may rewrite its output before it becomes a tool message.',
  payload: z.object({ ...tool, input: z.unknown(), output: z.unknown(), isError: z.boolean() }),
  writable: ['output', 'isError'],
});

export const toolResultPersist = defineHook({
  name: 'tool_result_persist',
  description: 'The tool message about to be appended to the transcript.',
  payload: z.object({ ...tool, message: ToolMessageSchema }),
  writable: ['message.content', 'message.isError'],
});

export const validationCheck = defineHook({
  name: 'validation_check',
  description: 'A response to check; handlers append to `failures` (which triggers repair).',
  payload: z.object({
    ...call,
    model,
    request: ModelRequestSchema,
    response: ModelResponseSchema,
    attempt: z.number().int().positive(),
    failures: z.array(ValidationFailureSchema),
  }),
  writable: ['failures'],
});

export const repair = defineHook({
  name: 'repair',
  description: 'Validation failed: handlers change the request for another attempt.',
  payload: z.object({
    ...call,
    model,
    request: ModelRequestSchema,
    response: ModelResponseSchema,
    attempt: z.number().int().positive(),
    failures: z.array(ValidationFailureSchema),
  }),
  writable: ['request.messages', 'request.options', 'request.tools'],
});

/**
 * Maps hook names to their points, for typing `definePlugin({ hooks })`. Add your own points by
 * declaration merging (see `defineHook`).
 */
export interface HookRegistry {
  run_start: typeof runStart;
  run_end: typeof runEnd;
  turn_start: typeof turnStart;
  turn_end: typeof turnEnd;
  model_resolve: typeof modelResolve;
  transform_context: typeof transformContext;
  llm_input: typeof llmInput;
  llm_output: typeof llmOutput;
  llm_error: typeof llmError;
  stream_chunk: typeof streamChunk;
  tool_pre_invoke: typeof toolPreInvoke;
  tool_post_invoke: typeof toolPostInvoke;
  tool_result_persist: typeof toolResultPersist;
  validation_check: typeof validationCheck;
  repair: typeof repair;
}

/** (Declared here, beside `HookRegistry`, so hooks.ts does not import this file.) Built-in hook names plus those added to `HookRegistry` by declaration merging. */
export type HookName = keyof HookRegistry & string;
export type HookPayload<H extends HookName> = HookRegistry[H] extends HookPoint<string, infer P, string> ? P : never;
export type HookHandler<H extends HookName> = HookHandlerOf<HookRegistry[H]>;

/**
 * The built-in hook points by name: pass one to `manager.dispatch(hookPoints.llm_input, payload)`
 * when you write a dispatcher of your own (the `plugins()` built-in is one).
 */
export const hookPoints = Object.freeze({
  run_start: runStart,
  run_end: runEnd,
  turn_start: turnStart,
  turn_end: turnEnd,
  model_resolve: modelResolve,
  transform_context: transformContext,
  llm_input: llmInput,
  llm_output: llmOutput,
  llm_error: llmError,
  stream_chunk: streamChunk,
  tool_pre_invoke: toolPreInvoke,
  tool_post_invoke: toolPostInvoke,
  tool_result_persist: toolResultPersist,
  validation_check: validationCheck,
  repair,
});

/**
 * @internal The hook point named `name`, built-in or defined. Importing it from here (not from
 * hooks.js) keeps the built-ins registered even when a bundler drops side-effect-only imports.
 */
export function lookupHook(name: string): HookPoint | undefined {
  return (hookPoints as Record<string, HookPoint>)[name] ?? getHook(name);
}

/** @internal Every hook name, built-in first. */
export function knownHooks(): string[] {
  return hookNames();
}
