// Every runnable file in examples/ must run offline, exit 0 and print the output it documents
// (EXPECTED in examples/_harness.ts, shared with `npm run examples`). README snippets are among them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXPECTED, listExamples, runExample } from '../../examples/_harness.js';

describe('examples', { concurrency: 4 }, () => {
  const files = listExamples();
  it('include the quickstart', () => assert.ok(files.includes('examples/quickstart.ts')));
  it('each document their output, and only examples that exist do', () => {
    assert.deepEqual(
      files.filter((file) => !EXPECTED[file]?.length),
      [],
      'add the lines each example must print to EXPECTED in examples/_harness.ts',
    );
    assert.deepEqual(
      Object.keys(EXPECTED).filter((file) => !files.includes(file)),
      [],
    );
  });
  for (const file of files) {
    it(`${file} runs offline and exits 0`, async () => {
      const { code, stdout, stderr, missing } = await runExample(file);
      assert.equal(code, 0, `${file} exited ${code}\n${stderr}`);
      for (const line of missing) assert.fail(`${file} should print "${line}":\n${stdout}`);
    });
  }
});
