import type { z } from 'zod';
import type { IssuePath } from '../core/errors.js';
import type { ReadonlyModelRequest } from '../core/executor.js';
import type { HookPoint, PolicyTree } from './hooks.js';
import { findUpdateProblem } from '../core/validate.js';

function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/**
 * The first read-only path a change touched, or `undefined`. Walks only branches whose identity
 * changed (Immer keeps untouched subtrees), so the cost is proportional to the change.
 */
export function findReadOnlyChange(before: unknown, after: unknown, policy: PolicyTree): string | undefined {
  return walk(before, after, policy, []);
}

function walk(
  before: unknown,
  after: unknown,
  tree: PolicyTree | true | undefined,
  path: string[],
): string | undefined {
  if (before === after || tree === true) return undefined;
  if (!isPlain(before) || !isPlain(after)) return path.join('.') || '(payload)';
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const found = walk(before[key], after[key], tree?.[key], [...path, key]);
    if (found) return found;
  }
  return undefined;
}

/** A problem with a changed writable field: where it is and what zod said. */
export interface FieldProblem {
  readonly path: IssuePath;
  readonly message: string;
}

// Requests and message arrays are checked incrementally (only changed messages), as ctx.update does.
const STUB_MODEL = 'hook';
function checkMessages(before: unknown, after: unknown): FieldProblem | undefined {
  const b = { model: STUB_MODEL, messages: before } as unknown as ReadonlyModelRequest;
  const a = { model: STUB_MODEL, messages: after } as unknown as ReadonlyModelRequest;
  const problem = Array.isArray(after) ? findUpdateProblem(b, a) : { path: [], issues: [] };
  if (!problem) return undefined;
  const path = problem.path.slice(1);
  return { path, message: problem.issues[0]?.message ?? 'expected an array of messages' };
}

function checkRequest(before: unknown, after: unknown): FieldProblem | undefined {
  const problem = findUpdateProblem(before as ReadonlyModelRequest, after as ReadonlyModelRequest);
  return problem && { path: problem.path, message: problem.issues[0]?.message ?? 'invalid' };
}

/**
 * Checks each changed top-level field of a payload against its schema; `undefined` when valid.
 * Checks only: the handler's objects are kept, so structural sharing survives.
 */
export function findFieldProblem(point: HookPoint, before: object, after: object): FieldProblem | undefined {
  const shape = (point.payload as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  for (const key of Object.keys(point.policy)) {
    if (a[key] === b[key]) continue;
    let problem: FieldProblem | undefined;
    if (key === 'request' && a[key] !== undefined) problem = checkRequest(b[key], a[key]);
    else if (key === 'messages') problem = checkMessages(b[key], a[key]);
    else {
      const result = (shape[key] as z.ZodType).safeParse(a[key]);
      if (!result.success) {
        const issue = result.error.issues[0];
        problem = { path: (issue?.path ?? []) as IssuePath, message: issue?.message ?? 'invalid' };
      }
    }
    if (problem) return { path: [key, ...problem.path], message: problem.message };
  }
  return undefined;
}
