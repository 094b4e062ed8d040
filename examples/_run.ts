// `npm run examples`: runs every example offline and checks it prints the output it documents
// (EXPECTED in examples/_harness.ts, the table test/integration/examples.test.ts checks too).
// Run one or a few: `npm run examples -- cache router`.
import { EXPECTED, listExamples, runExample } from './_harness.js';

const only = process.argv.slice(2);
const files = listExamples().filter((file) => only.length === 0 || only.some((o) => file.includes(o)));
if (files.length === 0) {
  console.error(`no example matches ${only.join(', ')}`);
  process.exit(1);
}

const CONCURRENCY = 2;
let failed = 0;
const queue = [...files];
async function worker(): Promise<void> {
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const run = await runExample(file);
    const checked = EXPECTED[file]?.length ?? 0;
    if (run.code === 0 && run.missing.length === 0 && checked > 0) {
      console.log(`ok   ${file} (${checked} documented line(s) found)`);
      continue;
    }
    failed++;
    console.log(`FAIL ${file}${run.code === 0 ? '' : ` (exit code ${run.code})`}`);
    if (checked === 0)
      console.log('     documents no output: add the lines it must print to EXPECTED in examples/_harness.ts');
    for (const line of run.missing) console.log(`     missing: ${JSON.stringify(line)}`);
    const output = `${run.stdout}${run.stderr}`.trimEnd();
    if (output) console.log(output.replace(/^/gm, '     | '));
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));

console.log(`\n${files.length - failed} of ${files.length} examples print what they document`);
process.exitCode = failed === 0 ? 0 : 1;
