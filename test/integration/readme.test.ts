// Every TypeScript snippet in README.md names its file in examples/ on its first line and matches
// exactly the lines its header names, so the README never shows code that CI does not type-check and run.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readme = readFileSync(`${root}README.md`, 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);

describe('README snippets', () => {
  it('exist', () => assert.ok(blocks.length >= 3, `found ${blocks.length} ts blocks`));
  blocks.forEach((block, i) => {
    const first = block.split('\n')[0] ?? '';
    const file = /^\/\/ (examples\/\S+\.ts)/.exec(first)?.[1];
    it(`snippet ${i + 1} (${file ?? first}) is a file in examples/`, () => {
      assert.ok(file, `snippet ${i + 1} must start with "// examples/<file>.ts", got: ${first}`);
      assert.ok(existsSync(`${root}${file}`), `${file} does not exist`);
      const source = readFileSync(`${root}${file}`, 'utf8').replace(/\r\n/g, '\n');
      const body = block.split('\n').slice(1).join('\n').trimEnd();
      // The header says which lines: `(lines A-B)`, or the whole file after its first (comment) line.
      // scripts/readme-snippets.py rewrites every block from its header.
      const range = /\(lines (\d+)-(\d+)\)/.exec(first);
      const lines = source.trimEnd().split('\n');
      const from = range ? Number(range[1]) : 2;
      const to = range ? Number(range[2]) : lines.length;
      const expected = lines.slice(from - 1, to).join('\n');
      assert.equal(
        body,
        expected,
        `README snippet ${i + 1} is not lines ${from}-${to} of ${file}: run python3 scripts/readme-snippets.py`,
      );
    });
  });
});
