// The built-ins are written with the public API: none reaches into a call's internals, and core
// never names a built-in. (Import direction is checked by the dependency rule in .ci/run.)
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('no built-in touches ctx.core', () => {
  const offenders: string[] = [];
  for (const file of sources(join(root, 'middleware'))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      // `z.core` is zod's namespace, not the call's internals.
      if (/(?<!\bz)\.core\b/.test(line)) offenders.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});

const BUILTINS = ['timeout', 'guard', 'redactPii', 'plugins', 'retry', 'fallback', 'cache', 'router', 'usage'];
const NAMES = BUILTINS.join('|');
// Core naming a built-in: blaming it in an error, or testing a layer's name against it.
const NAMED = new RegExp(`(MiddlewareError\\(\\s*|layer\\s*[!=]==?\\s*)['"\`](${NAMES})['"\`]`);

/** Files under lib/ whose code names a built-in layer. */
function namingBuiltins(files: readonly { path: string; text: string }[]): string[] {
  return files.filter((file) => NAMED.test(file.text)).map((file) => file.path);
}

test('core names no built-in layer', () => {
  const files = sources(join(root, 'lib')).map((file) => ({
    path: relative(root, file),
    text: readFileSync(file, 'utf8'),
  }));
  assert.deepEqual(namingBuiltins(files), []);
  // The check itself catches what dispatch.ts used to do.
  const old = "return new MiddlewareError(\n    'timeout',\n    'This attempt was abandoned by a timeout.',\n  );";
  assert.deepEqual(namingBuiltins([{ path: 'old.ts', text: old }]), ['old.ts']);
});
