// startInspector(): ports, the Host check, the live stream and its bounds.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { InspectorError, readRecordingText, startInspector } from 'modelware/inspector';
import { syntheticRecords, toNdjson } from '../../fixtures/inspector.js';

async function takePort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Reads SSE `data:` lines from `url` until `count` arrived. */
async function readEvents(url: string, count: number): Promise<unknown[]> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const events: unknown[] = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
      if (data) events.push(JSON.parse(data));
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
    }
  }
  controller.abort();
  await reader.cancel().catch(() => {});
  return events;
}

describe('startInspector: ports', () => {
  test('a taken port without strictPort: the next free one', async () => {
    const taken = await takePort();
    const inspector = await startInspector({ port: taken.port });
    try {
      assert.notEqual(inspector.port, taken.port);
      assert.ok(inspector.port > taken.port);
      assert.equal(inspector.url, `http://127.0.0.1:${inspector.port}/`);
    } finally {
      await inspector.close();
      await taken.close();
    }
  });

  test('a taken port with strictPort: InspectorError PORT_IN_USE naming `port`', async () => {
    const taken = await takePort();
    try {
      await assert.rejects(startInspector({ port: taken.port, strictPort: true }), (error: unknown) => {
        assert.ok(InspectorError.isInstance(error));
        assert.equal(error.code, 'PORT_IN_USE');
        assert.equal(error.option, 'port');
        assert.match(
          error.message,
          new RegExp(`port ${taken.port} on 127\\.0\\.0\\.1 is in use\\. Choose another \`port\``),
        );
        return true;
      });
    } finally {
      await taken.close();
    }
  });

  test('unknown and bad options are rejected when it is called', async () => {
    await assert.rejects(
      startInspector({ prot: 1 } as never),
      /startInspector\(\): expected `prot` to be a known option/,
    );
    await assert.rejects(startInspector({ port: 70000 }), /expected `port` to be an integer from 0 to 65535/);
    await assert.rejects(startInspector({ maxRecords: 0 }), /expected `maxRecords` to be a positive integer/);
  });
});

describe('startInspector: serving', () => {
  test('answers only requests addressed to its own host (DNS rebinding)', async () => {
    const inspector = await startInspector({ port: 0 });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: inspector.port, path: '/recording.json', headers: { host: 'evil.example:80' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 421);
      assert.equal((await fetch(`${inspector.url}recording.json`)).status, 200);
    } finally {
      await inspector.close();
    }
  });

  test('the page is self-contained and locked down by its CSP', async () => {
    const inspector = await startInspector({ port: 0 });
    try {
      const response = await fetch(inspector.url);
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'; script-src 'nonce-[^']+'/);
      assert.match(csp, /connect-src 'self'/);
      const html = await response.text();
      assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    } finally {
      await inspector.close();
    }
  });

  test('a file recording: served as loaded, write() refused', async () => {
    const recording = readRecordingText(toNdjson(syntheticRecords({ calls: 1 })), 'one.ndjson');
    const inspector = await startInspector({ port: 0, recording });
    try {
      const data = (await (await fetch(`${inspector.url}recording.json`)).json()) as Record<string, unknown>;
      assert.equal(data['source'], 'one.ndjson');
      assert.equal(data['live'], false);
      assert.equal((data['records'] as unknown[]).length, recording.records.length);
      assert.throws(() => inspector.write({ type: 'header' } as never), /this inspector shows a file/);
      assert.equal((await fetch(`${inspector.url}events`)).status, 404);
    } finally {
      await inspector.close();
    }
  });
});

describe('startInspector: live', () => {
  test('streams written records to a page over SSE, after the ones it already has', async () => {
    const inspector = await startInspector({ port: 0 });
    try {
      inspector.write({ type: 'header', version: 1 } as never);
      const snapshot = (await (await fetch(`${inspector.url}recording.json`)).json()) as { next: number };
      assert.equal(snapshot.next, 1);
      const events = readEvents(`${inspector.url}events?from=${snapshot.next}`, 2);
      inspector.write({ type: 'run_start', runId: 'r1' } as never);
      inspector.write({ type: 'run_end', runId: 'r1' } as never);
      assert.deepEqual(await events, [
        { type: 'run_start', runId: 'r1' },
        { type: 'run_end', runId: 'r1' },
      ]);
    } finally {
      await inspector.close();
    }
  });

  test('keeps at most maxRecords, counting the dropped ones', async () => {
    const inspector = await startInspector({ port: 0, maxRecords: 3 });
    try {
      for (let i = 0; i < 5; i++) inspector.write({ type: 'layer', i } as never);
      const data = (await (await fetch(`${inspector.url}recording.json`)).json()) as {
        dropped: number;
        next: number;
        records: { i: number }[];
      };
      assert.equal(data.dropped, 2);
      assert.equal(data.next, 5);
      assert.deepEqual(
        data.records.map((r) => r.i),
        [2, 3, 4],
      );
    } finally {
      await inspector.close();
    }
  });

  test('write() checks the record; a header of another version is shown as such', async () => {
    const inspector = await startInspector({ port: 0 });
    try {
      assert.throws(
        () => inspector.write({ kind: 'x' } as never),
        /Inspector\.write\(\): expected `record` to be an object with a string `type`/,
      );
      inspector.write({ type: 'header', version: 9 } as never);
      const data = (await (await fetch(`${inspector.url}recording.json`)).json()) as { versionError: string };
      assert.match(data.versionError, /format version 9; this inspector reads version 1/);
    } finally {
      await inspector.close();
    }
  });

  test('an aborted signal closes it', async () => {
    const stop = new AbortController();
    const inspector = await startInspector({ port: 0, signal: stop.signal });
    stop.abort();
    await inspector.close();
    await assert.rejects(fetch(inspector.url));
  });
});
