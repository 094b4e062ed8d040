// The `modelware` command: its errors (bad file, bad version, port in use, --max-mb) and serving a file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../../lib/inspector/cli.js';
import { syntheticRecords, toNdjson } from '../../fixtures/inspector.js';

const dir = mkdtempSync(join(tmpdir(), 'modelware-inspect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Runs `main()` in this process; `serve` gets the printed URL while the command is serving. */
async function runCli(argv: string[], serve?: (url: string) => Promise<void>) {
  let stdout = '';
  let stderr = '';
  const stop = new AbortController();
  let served: Promise<void> | undefined;
  const io = {
    stdout: {
      write: (text: string) => {
        stdout += text;
        const url = /Inspector: (\S+)/.exec(text)?.[1];
        if (url) served = (serve ? serve(url) : Promise.resolve()).finally(() => stop.abort());
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    signal: stop.signal,
  };
  const code = await main(argv, io);
  await served;
  return { code, stdout, stderr };
}

async function takePort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const GOOD = toNdjson(syntheticRecords({ calls: 2 }));

describe('modelware inspect: bad input', () => {
  test('a missing file: exit 1, names the path and what to pass', async () => {
    const { code, stderr } = await runCli(['inspect', join(dir, 'nope.ndjson')]);
    assert.equal(code, 1);
    assert.match(stderr, /cannot read `.*nope\.ndjson` \(ENOENT\)\. Pass the path of an \.ndjson recording\./);
  });

  test('a file that is not a recording: exit 1, says a header is missing', async () => {
    const { code, stderr } = await runCli(['inspect', file('notes.ndjson', 'hello\nworld\n')]);
    assert.equal(code, 1);
    assert.match(stderr, /does not start with a recording header/);
    assert.doesNotMatch(stderr, /hello|world/, 'the file content is never printed');
  });

  test('an unknown format version: exit 1, names both versions', async () => {
    const text = GOOD.replace('"version":1', '"version":7');
    const { code, stderr } = await runCli(['inspect', file('v7.ndjson', text)]);
    assert.equal(code, 1);
    assert.match(stderr, /format version 7; this modelware reads version 1\./);
  });

  test('a file over --max-mb: exit 1, names the size, the limit and the flag', async () => {
    const big = file('big.ndjson', GOOD + `${'{"type":"dropped","t":1,"reason":"max_bytes"}\n'.repeat(30_000)}`);
    const { code, stderr } = await runCli(['inspect', big, '--max-mb', '0.5']);
    assert.equal(code, 1);
    assert.match(stderr, /is 1\.\d+ MB, over the limit of 0\.50 MB \(--max-mb\)\. Raise --max-mb/);
  });

  test('bad flags: exit 2 with the usage', async () => {
    for (const argv of [
      ['inspect', 'x.ndjson', '--port', 'abc'],
      ['inspect', 'x.ndjson', '--max-mb', '-1'],
      ['inspect', 'x.ndjson', '--colour'],
      ['serve', 'x.ndjson'],
    ]) {
      const { code, stderr } = await runCli(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(stderr, /Usage: modelware inspect/);
    }
  });

  test('an explicit --port that is taken: exit 1, the error names the flag', async () => {
    const taken = await takePort();
    try {
      const { code, stderr } = await runCli(['inspect', file('ok.ndjson', GOOD), '--port', String(taken.port)]);
      assert.equal(code, 1);
      assert.equal(
        stderr,
        `modelware inspect: port ${taken.port} is in use (--port). Pass another --port, or leave --port out to take the next free one.\n`,
      );
    } finally {
      await taken.close();
    }
  });
});

describe('modelware inspect: serving', () => {
  test('prints the URL on 127.0.0.1 and serves the page and the records', async () => {
    const { code, stdout } = await runCli(['inspect', file('serve.ndjson', GOOD), '--port', '0'], async (url) => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(url);
      assert.match(await page.text(), /<title>modelware inspector<\/title>/);
      const data = (await (await fetch(`${url}recording.json`)).json()) as { records: unknown[] };
      assert.equal(data.records.length, syntheticRecords({ calls: 2 }).length);
    });
    assert.equal(code, 0);
    assert.match(stdout, /records from .*serve\.ndjson/);
  });

  test('a corrupt line: warns with its number and serves the rest', async () => {
    const lines = GOOD.split('\n');
    lines[3] = '{"type":"layer",'; // corrupt
    const text = `${lines.join('\n')}{"type":"call_end","t":`; // and truncated
    const { code, stderr } = await runCli(['inspect', file('corrupt.ndjson', text), '--port', '0'], async (url) => {
      const data = (await (await fetch(`${url}recording.json`)).json()) as {
        problems: { line: number; message: string }[];
        records: unknown[];
      };
      assert.deepEqual(
        data.problems.map((p) => p.line),
        [4, lines.length],
      );
      assert.equal(data.records.length, syntheticRecords({ calls: 2 }).length - 1);
    });
    assert.equal(code, 0);
    assert.match(
      stderr,
      new RegExp(`2 line\\(s\\) could not be read \\(line 4, ${lines.length}\\); showing the rest\\.`),
    );
  });

  test('the bin starts, prints the URL and stops on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../../../lib/inspector/bin.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', bin, 'inspect', file('bin.ndjson', GOOD), '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const m = /Inspector: (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before printing the URL: ${out}`)));
    });
    assert.equal((await fetch(url)).status, 200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
