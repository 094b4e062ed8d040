// The fleet guarantee of budget(), on a real redis-server: four worker processes spend from one
// budget at once. Total spend may pass the limit only by the estimation error of the calls in
// flight, and every refused call is refused before it reaches the model.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { REDIS_MISSING, type RedisServer, startRedis } from '../fixtures/redis.js';

const WORKER = fileURLToPath(new URL('../fixtures/budget-worker.ts', import.meta.url));

interface Report {
  received: number;
  spent: number;
  allowed: number;
  refused: number;
}

function runWorker(port: number, index: number, calls: number, concurrency: number): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', WORKER, String(port), String(index), String(calls), String(concurrency)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${index} exited with ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as Report);
    });
  });
}

describe('budget() across 4 worker processes on Redis', { skip: REDIS_MISSING }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await server?.stop();
  });

  it('never spends past the limit by more than the estimation error of the calls in flight', async () => {
    const LIMIT = 5_000;
    const CONCURRENCY = 3;
    const reports = await Promise.all([0, 1, 2, 3].map((i) => runWorker(server.port, i, 40, CONCURRENCY)));
    const total = reports.reduce((sum, r) => sum + r.spent, 0);
    // Each call may use up to 10 tokens more than its estimate of 100; at most 4 × 3 calls are in flight.
    const inFlightError = 4 * CONCURRENCY * 10;
    assert.ok(total <= LIMIT + inFlightError, `spent ${total}, limit ${LIMIT} + ${inFlightError}`);
    // The budget was really contended: far more was asked for than it allows.
    const refused = reports.reduce((sum, r) => sum + r.refused, 0);
    assert.ok(refused > 60, `refused ${refused}`);
    // Refused calls never reached a model: each model received exactly the calls admitted.
    for (const r of reports) assert.equal(r.received, r.allowed);
    // And the ledger holds exactly what was spent: every reservation was settled.
    const client = new Redis({ host: '127.0.0.1', port: server.port });
    try {
      assert.equal(Number(await client.hget('fleet:budget:budget:tenant:shared', 'tokens')), total);
    } finally {
      await client.quit();
    }
  });
});
