import type { Draft, Immutable } from 'immer';
import { z } from 'zod';
import { describeValue } from '../internal/options.js';

/**
 * A named point where plugins register handlers. The payload schema is the source of truth for the
 * payload's type; `writable` lists the dotted paths handlers may change (everything else is
 * read-only, and a change to it is refused with an error naming the field).
 */
export interface HookPoint<N extends string = string, P extends object = object, W extends string = string> {
  readonly name: N;
  readonly payload: z.ZodType<P>;
  readonly writable: readonly W[];
  readonly description: string;
  /** @internal The writable paths as a tree: `true` marks a writable subtree. */
  readonly policy: PolicyTree;
  /** @internal What `when` conditions match against. */
  subject(payload: P): HookSubject;
}

/** What `when` conditions see of a payload. */
export interface HookSubject {
  readonly hook: string;
  /** The model the call goes (or went) to. */
  readonly model?: string | undefined;
  /** The tool, for tool hooks. */
  readonly toolName?: string | undefined;
  /** Run metadata merged with request metadata (tenant, user, tags). */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
}

export type PolicyTree = { readonly [key: string]: PolicyTree | true };

/** What a handler returns to stop the call; anything else (nothing) means continue. */
export interface HookBlock {
  readonly block: {
    readonly reason: string;
    readonly code: string;
    readonly details?: Readonly<Record<string, unknown>> | undefined;
  };
}
/** What a `tool_pre_invoke` handler returns to hold the call for a person's decision. */
export interface HookApproval {
  readonly requireApproval: {
    readonly reason: string;
    readonly details?: Readonly<Record<string, unknown>> | undefined;
  };
}
export type HookResult = void | undefined | HookBlock | HookApproval;

/** What a `tool_pre_invoke` handler asked for with `requireApproval()`, and which plugin asked (`approvalRequestOf`). */
export interface ApprovalRequest {
  readonly reason: string;
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  readonly plugin: string;
}

/**
 * At `tool_pre_invoke` (mode `sequential`): holds the tool call for a person's decision instead
 * of running it (OpenClaw's `requireApproval`). The run ends with stop reason `interrupted`; the
 * interruption's `payload` is `{ reason, details }` and its `by` names the plugin. Once the call
 * is approved on resume, the handler's request is not asked again and the call runs.
 * `reason` and `details` must be plain JSON data: they are stored in the run's snapshot.
 *
 * @example
 * tool_pre_invoke: (p) => (p.toolName === 'deploy' ? requireApproval('deploys need a human') : undefined),
 */
export function requireApproval(reason: string, details?: Readonly<Record<string, unknown>>): HookApproval {
  return { requireApproval: details === undefined ? { reason } : { reason, details } };
}

/**
 * Blocks the call: the dispatcher throws `PolicyViolationError` naming the plugin and the hook.
 *
 * @example
 * if (banned(text)) return block('banned topic', 'CONTENT_POLICY_001', { topic });
 */
export function block(reason: string, code: string, details?: Readonly<Record<string, unknown>>): HookBlock {
  return { block: details === undefined ? { reason, code } : { reason, code, details } };
}

type Head<W extends string> = W extends `${infer H}.${string}` ? H : W;
type Rest<W extends string, K extends string> = W extends `${K}.${infer R}` ? R : never;

/**
 * The payload as a handler sees it: writable paths are Immer drafts, everything else is read-only,
 * so most forbidden changes fail to compile (the dispatcher refuses the rest at run time).
 */
export type HookDraft<T, W extends string> = [W] extends [never]
  ? Immutable<T>
  : { -readonly [K in keyof T as K extends W ? K : never]: Draft<T[K]> } & {
      readonly [K in keyof T as K extends W ? never : K extends Head<W> ? K : never]: HookDraft<
        T[K],
        Rest<W, K & string>
      >;
    } & { readonly [K in keyof T as K extends Head<W> ? never : K]: Immutable<T[K]> };

/** The second argument of every handler. */
export interface HookContext<P = unknown> {
  readonly hook: string;
  readonly plugin: string;
  /** Aborts when the handler times out or the call is aborted. Pass it to anything you await. */
  readonly signal: AbortSignal;
  /**
   * The payload as this handler received it, as plain objects: scan large arrays here rather than
   * through the draft, which creates a proxy per element read.
   */
  readonly original: Immutable<P>;
}

export type HookHandlerOf<Pt> =
  Pt extends HookPoint<string, infer P, infer W>
    ? (payload: HookDraft<P, W>, ctx: HookContext<P>) => HookResult | Promise<HookResult>
    : never;

const registry = new Map<string, HookPoint>();

export interface DefineHookOptions<N extends string, S extends z.ZodObject, W extends string> {
  /** snake_case, unique. */
  readonly name: N;
  /** A zod object; its inferred type is the payload type. */
  readonly payload: S;
  /** Dotted paths handlers may change, e.g. `['answer', 'request.options']`. @default [] */
  readonly writable?: readonly W[];
  readonly description?: string;
  /** How `when` conditions read this payload. By default: its `model`, `toolName` and `metadata` fields. */
  readonly subject?: (payload: z.infer<S>) => Omit<HookSubject, 'hook'>;
}

/**
 * Defines a hook point that third-party middleware fires with `fireHook(ctx, point, build)`. To
 * type handlers in `definePlugin({ hooks })`, add it to `HookRegistry`:
 *
 * @example
 * export const cacheHit = defineHook({ name: 'cache_hit', payload: z.object({ key: z.string(), answer: z.string() }), writable: ['answer'] });
 * declare module 'modelware' { interface HookRegistry { cache_hit: typeof cacheHit } }
 */
export function defineHook<const N extends string, S extends z.ZodObject, const W extends string = never>(
  options: DefineHookOptions<N, S, W>,
): HookPoint<N, z.infer<S>, W> {
  const { name, payload, writable = [], description = '', subject } = options ?? ({} as DefineHookOptions<N, S, W>);
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) {
    throw new TypeError(`defineHook(): expected \`name\` to be snake_case (a-z, 0-9, _), got ${describeValue(name)}.`);
  }
  if (registry.has(name)) {
    throw new TypeError(
      `defineHook(): a hook named \`${name}\` is already defined. Define each hook once and import it where you fire it.`,
    );
  }
  if (!(payload instanceof z.ZodObject)) {
    throw new TypeError(`defineHook(\`${name}\`): expected \`payload\` to be a zod object schema (z.object({...})).`);
  }
  const policy = compilePolicy(name, payload, writable);
  const toSubject = subject ?? defaultSubject;
  const point: HookPoint<N, z.infer<S>, W> = Object.freeze({
    name,
    payload: payload as unknown as z.ZodType<z.infer<S>>,
    writable: Object.freeze([...writable]),
    description,
    policy,
    subject: (p: z.infer<S>) => ({ ...toSubject(p), hook: name }),
  });
  registry.set(name, point as unknown as HookPoint);
  return point;
}

/** The hook point registered under `name`, if any. */
export function getHook(name: string): HookPoint | undefined {
  return registry.get(name);
}

/** Every registered hook name, built-in first. */
export function hookNames(): string[] {
  return [...registry.keys()];
}

function compilePolicy(name: string, schema: z.ZodObject, writable: readonly string[]): PolicyTree {
  const tree: Record<string, unknown> = {};
  for (const path of writable) {
    const keys = typeof path === 'string' ? path.split('.') : [];
    let shape: z.ZodType | undefined = schema;
    let node = tree;
    keys.forEach((key, i) => {
      const inner: z.ZodType | undefined = unwrap(shape);
      shape = inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>)[key] : undefined;
      if (!key || (i === 0 && shape === undefined)) {
        throw new TypeError(
          `defineHook(\`${name}\`): writable path \`${String(path)}\` does not name a field of the payload schema.`,
        );
      }
      if (i === keys.length - 1) node[key] = true;
      else if (node[key] !== true) node = (node[key] ??= {}) as Record<string, unknown>;
    });
  }
  return tree as PolicyTree;
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
  return s;
}

function defaultSubject(payload: object): Omit<HookSubject, 'hook'> {
  const p = payload as { model?: unknown; toolName?: unknown; metadata?: unknown };
  const model =
    typeof p.model === 'string' ? p.model : ((p.model as { resolved?: unknown } | undefined)?.resolved ?? undefined);
  return {
    model: typeof model === 'string' ? model : undefined,
    toolName: typeof p.toolName === 'string' ? p.toolName : undefined,
    metadata:
      typeof p.metadata === 'object' && p.metadata !== null ? (p.metadata as Record<string, unknown>) : undefined,
  };
}
