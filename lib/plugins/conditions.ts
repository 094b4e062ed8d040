import { z } from 'zod';
import type { HookSubject } from './hooks.js';

/** Which calls a plugin applies to. A dimension the hook does not carry (no tool on `llm_input`) is ignored. */
export interface PluginConditions {
  /** Model ids; a string may use `*` as a wildcard (`gpt-5*`). */
  readonly models?: readonly (string | RegExp)[];
  /** Tool names, same matching as `models`. */
  readonly tools?: readonly (string | RegExp)[];
  /** Every key must equal (or be one of) the given value(s), e.g. `{ tenant: 'acme' }`. */
  readonly metadata?: Readonly<Record<string, string | number | boolean | readonly (string | number | boolean)[]>>;
  /** Any other rule. */
  readonly test?: (subject: HookSubject) => boolean;
}

const pattern = z.union([z.string().min(1), z.instanceof(RegExp)]);
const scalar = z.union([z.string(), z.number(), z.boolean()]);
export const ConditionsSchema = z.strictObject({
  models: z.array(pattern).optional(),
  tools: z.array(pattern).optional(),
  metadata: z.record(z.string(), z.union([scalar, z.array(scalar)])).optional(),
  test: z.function().optional(),
});
/** Whether a plugin's `when` holds for a hook subject. */
export function conditionHolds(
  when: PluginConditions | ((subject: HookSubject) => boolean) | undefined,
  subject: HookSubject,
): boolean {
  if (when === undefined) return true;
  if (typeof when === 'function') return when(subject);
  if (when.models && subject.model !== undefined && !matches(subject.model, when.models)) return false;
  if (when.tools && subject.toolName !== undefined && !matches(subject.toolName, when.tools)) return false;
  if (when.metadata && subject.metadata !== undefined) {
    const meta = subject.metadata;
    for (const [key, want] of Object.entries(when.metadata)) {
      const have = meta[key];
      if (Array.isArray(want) ? !want.includes(have as never) : have !== want) return false;
    }
  }
  return when.test ? when.test(subject) : true;
}

function matches(value: string, patterns: readonly (string | RegExp)[]): boolean {
  return patterns.some((p) =>
    typeof p === 'string' ? (p.includes('*') ? glob(p).test(value) : p === value) : p.test(value),
  );
}

const globs = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globs.get(pattern);
  if (!re) {
    re = new RegExp(
      `^${pattern
        .split('*')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    globs.set(pattern, re);
  }
  return re;
}
