// Audit log: one JSON record per call, written as NDJSON; a failing sink never fails the call.
import { Writable } from 'node:stream';
import { pipeline } from 'modelware';
import { fallback, type AuditRecord, auditLog, jsonLinesSink } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

// A fake clock makes the latencies readable; the model "takes" 120 ms per call.
let now = Date.UTC(2026, 0, 1);
const overloaded = Object.assign(new Error('529 overloaded'), { retryable: true });
const model = scriptedExecutor([
  () => {
    now += 120;
    return overloaded;
  },
  () => {
    now += 120;
    return { text: 'Paris.', usage: { inputTokens: 9, outputTokens: 2, totalTokens: 11 } };
  },
]);

// Any Writable works (a file stream, process.stdout); this one prints each line.
const lines = new Writable({
  write(chunk, _encoding, done) {
    process.stdout.write(`ndjson: ${chunk}`);
    done();
  },
});

// Mask the user id before anything is written.
const redact = (record: AuditRecord): AuditRecord => ({ ...record, metadata: { ...record.metadata, user: '***' } });

const app = pipeline(model).use(
  auditLog({ sink: jsonLinesSink(lines), now: () => now, redact }),
  fallback({ models: ['backup-model'] }),
  auditLog({ sink: (r) => console.log(`attempt on ${r.model.resolved}: ${r.outcome}`), now: () => now }),
);
await app.generate({
  model: 'main-model',
  messages: [{ role: 'user', content: 'Capital of France?' }],
  metadata: { tenant: 'acme', user: 'u-42' },
});

// A sink that throws: the call still answers, and the failure is reported once.
const fragile = pipeline(scriptedExecutor(['still answered'])).use(
  auditLog({
    sink: () => {
      throw new Error('disk full');
    },
    onError: (error) => console.log(`audit sink failed: ${(error as Error).message}`),
  }),
);
console.log((await fragile.generate({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).message.content);
