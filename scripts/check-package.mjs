// Packs modelware as npm would publish it (`npm pack`), installs the tarball in a temp dir and
// loads every subpath of the exports map from ESM `import` and CommonJS `require`, as a user's
// app would. Checks that both see the same exports and the same objects (one copy of the library,
// so `instanceof` holds across the two). Run after `npm run build`: `npm run check:package`.
// Offline and quick (~2 s): the tarball's dependencies are linked from this repo's node_modules.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

if (!existsSync(join(root, 'dist'))) {
  console.error('check-package: dist/ is missing; run `npm run build` first.');
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'modelware-pack-'));
try {
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root, encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1);
  const installed = join(dir, 'node_modules', pkg.name);
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, tarball), '-C', installed, '--strip-components=1']);
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    const target = join(root, 'node_modules', dep);
    if (!existsSync(target)) continue;
    const link = join(dir, 'node_modules', dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(target, link, 'dir');
  }

  const specifiers = Object.keys(pkg.exports).map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  // Each subpath from require (CommonJS) and import (ESM), compared export by export.
  writeFileSync(
    join(dir, 'check.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const problems = [];
for (const specifier of ${JSON.stringify(specifiers)}) {
  let esm, cjs;
  try { esm = await import(specifier); } catch (error) { problems.push(\`import('\${specifier}'): \${error.code ?? ''} \${error.message}\`); continue; }
  try { cjs = require(specifier); } catch (error) { problems.push(\`require('\${specifier}'): \${error.code ?? ''} \${error.message}\`); continue; }
  const esmKeys = Object.keys(esm).filter((k) => k !== 'default' && k !== 'module.exports').sort();
  const cjsKeys = Object.keys(cjs).filter((k) => k !== 'default' && k !== 'module.exports' && k !== '__esModule').sort();
  if (esmKeys.length === 0) problems.push(\`import('\${specifier}') has no exports\`);
  if (esmKeys.join() !== cjsKeys.join()) problems.push(\`\${specifier}: import gives [\${esmKeys}], require gives [\${cjsKeys}]\`);
  const differ = esmKeys.filter((k) => esm[k] !== cjs[k]);
  if (differ.length > 0) problems.push(\`\${specifier}: import and require give different objects for \${differ.join(', ')} (two copies of the library)\`);
  console.log(\`\${specifier}: \${esmKeys.length} exports from import and require\`);
}
if (problems.length > 0) { console.error(problems.join('\\n')); process.exit(1); }
`,
  );
  // A plain CommonJS file, as \`tsc --module commonjs\` output would be.
  writeFileSync(
    join(dir, 'check.cjs'),
    `for (const specifier of ${JSON.stringify(specifiers)}) require(specifier);
const { pipeline } = require('${pkg.name}');
if (typeof pipeline !== 'function') { console.error('require(${JSON.stringify(pkg.name)}).pipeline is not a function'); process.exit(1); }
console.log('check.cjs: every subpath loads from a CommonJS file');
`,
  );
  const env = { ...process.env, NODE_OPTIONS: '' };
  execFileSync(process.execPath, ['check.mjs'], { cwd: dir, stdio: 'inherit', env });
  execFileSync(process.execPath, ['check.cjs'], { cwd: dir, stdio: 'inherit', env });
  // The `modelware` command runs from the package as installed.
  for (const [name, file] of Object.entries(pkg.bin ?? {})) {
    const help = execFileSync(process.execPath, [join(installed, file), '--help'], { cwd: dir, encoding: 'utf8', env });
    if (!help.includes(`Usage: ${name} inspect`)) throw new Error(`bin \`${name}\` (${file}) did not print its usage`);
    const head = readFileSync(join(installed, file), 'utf8').split('\n', 1)[0];
    if (head !== '#!/usr/bin/env node') throw new Error(`bin \`${name}\` (${file}) does not start with a #! line`);
    console.log(`bin ${name}: runs and prints its usage`);
  }
  console.log(`check-package: ${tarball} loads from import and require (${specifiers.length} subpaths)`);
} catch (error) {
  console.error(`check-package: failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
