// npm run bench: runs every bench/*.bench.ts in its own process (with --expose-gc for heap
// measurements) and prints their tables. Record the results in BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((o) => f.includes(o))))
  .sort();

console.log(`# modelware benchmarks — ${new Date().toISOString().slice(0, 10)}`);
console.log(
  `node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
);
let failed = 0;
for (const file of files) {
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', `${dir}${file}`], {
    stdio: 'inherit',
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  if (result.status !== 0) {
    failed++;
    console.error(`${file} exited with ${result.status}`);
  }
}
process.exit(failed ? 1 : 0);
