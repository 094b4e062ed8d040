// Built-ins use only the public API: every name a file under middleware/ imports from lib/ must be
// exported by `modelware`, `modelware/kit` or `modelware/middleware` (as listed in api-report.md, which CI checks against
// the code). A third party can then write any built-in as well as we did. There are no exceptions:
// compactToolResults is written on `ctx.replaceMessages()` (docs/decisions.md §55), and plugins() on
// PluginManager's public dispatch methods (docs/decisions.md §58).
// Run: node scripts/check-builtins.mjs (CI runs it after the API report).
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const PUBLIC_ENTRIES = ['modelware', 'modelware/kit', 'modelware/middleware'];

const report = readFileSync(join(root, 'api-report.md'), 'utf8');
const exported = new Set();
let section = '';
for (const line of report.split('\n')) {
  const heading = /^## `([^`]+)`/.exec(line);
  if (heading) section = heading[1];
  const item = /^- .* `([^`]+)`$/.exec(line);
  if (item && PUBLIC_ENTRIES.includes(section)) exported.add(item[1]);
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const importRe = /import\s+(type\s+)?\{([^}]*)\}\s+from\s+'((?:\.\.\/)+lib\/[^']+)'/g;
const problems = [];
let checked = 0;
for (const file of walk(join(root, 'middleware'))) {
  const rel = relative(root, file);
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(importRe)) {
    for (const raw of match[2].split(',')) {
      const name = raw
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)[0]
        .trim();
      if (!name) continue;
      checked++;
      if (!exported.has(name)) problems.push(`${rel}: imports \`${name}\` from '${match[3]}'`);
    }
  }
}

if (problems.length > 0) {
  console.error('Built-ins must use only the public API (names exported by modelware or modelware/kit):');
  for (const p of problems) console.error(`  ${p}`);
  console.error('Export the name (documented, in lib/index.ts or lib/kit.ts) or write the built-in without it.');
  process.exit(1);
}
console.log(`check-builtins: ${checked} imported names, all public`);
