// Runs every *.test.ts under test/ with node:test through tsx. Node 20's --test does not expand
// globs (and npm scripts run under sh, where ** is *), so the files are listed here.
// Ends with one plain summary line: "N passed, N failed, N skipped".
//
// No --test-force-exit: it makes each test file's process exit before its stdout is flushed, and
// the runner then silently loses the results of whole suites (seen here: 456 of 467 reported, exit
// code 0). Tests must close what they open; a watchdog fails the run if something keeps it alive.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const only = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : walk(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const files = walk(join(root, 'test'))
  .map((f) => relative(root, f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

if (files.length === 0) {
  console.log('no test files matched');
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=2', ...files],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_NO_WARNINGS: '1' } },
);

// A handle left open shows as silence at the end of the run, not as a long run: a loaded machine
// can take long while reporting all along. The run fails after IDLE_MS without a line of output,
// or after HARD_MS in all.
const IDLE_MS = 4 * 60_000;
const HARD_MS = 25 * 60_000;
let timedOut = false;
function kill(why) {
  timedOut = true;
  console.error(`\n${why}: a test left a handle open (or hangs); killing it`);
  child.kill('SIGKILL');
}
const idle = setTimeout(() => kill(`no test output for ${IDLE_MS / 60_000} minutes`), IDLE_MS);
const hard = setTimeout(() => kill(`test run still going after ${HARD_MS / 60_000} minutes`), HARD_MS);

const counts = { pass: 0, fail: 0, skipped: 0, todo: 0 };
let skipLines = 0;
let buffer = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  idle.refresh();
  buffer += chunk;
  const lines = buffer.split('\n');
  buffer = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^# (pass|fail|skipped|todo) (\d+)$/.exec(line);
    if (m) counts[m[1]] = Number(m[2]);
    // Node's own total leaves out skipped suites (e.g. the Redis suites without redis-server).
    else if (/^\s*ok \d+ - .*# SKIP/.test(line)) skipLines++;
  }
});

child.on('close', (code) => {
  clearTimeout(idle);
  clearTimeout(hard);
  const m = /^# (pass|fail|skipped|todo) (\d+)$/.exec(buffer.trim());
  if (m) counts[m[1]] = Number(m[2]);
  const failed = counts.fail + ((code !== 0 || timedOut) && counts.fail === 0 ? 1 : 0);
  console.log(
    `\n${counts.pass} passed, ${failed} failed, ${Math.max(counts.skipped, skipLines) + counts.todo} skipped`,
  );
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
