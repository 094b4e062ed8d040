// Mellea's audit logger: a fire-and-forget plugin. Calls return without waiting for the (slow)
// audit sink; `await manager.drain()` waits for it, in tests and at shutdown.
import { setTimeout as sleep } from 'node:timers/promises';
import { PluginManager, definePlugin, pipeline, textOf } from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

interface AuditRecord {
  readonly at: number;
  readonly event: string;
  readonly callId: string;
  readonly detail: string;
}
const sink: AuditRecord[] = [];
const started = Date.now();

const auditLogger = definePlugin({
  name: 'audit-logger',
  mode: 'fire_and_forget',
  // A slow sink must never fail or stall a call.
  onError: 'ignore',
  timeoutMs: 1_000,
  hooks: {
    // Handlers keep what they need from ctx.original (plain objects): the payload itself is a
    // draft that is only valid while the handler runs.
    async llm_input(_payload, { original }) {
      await sleep(20);
      sink.push({
        at: Date.now() - started,
        event: 'input',
        callId: original.callId,
        detail: `${original.request.messages.length} message(s) to ${original.model.resolved}`,
      });
    },
    async llm_output(_payload, { original }) {
      await sleep(20);
      const tokens = original.response.usage?.totalTokens ?? 0;
      sink.push({
        at: Date.now() - started,
        event: 'output',
        callId: original.callId,
        detail: `${JSON.stringify(textOf(original.response.message))}, ${tokens} tokens`,
      });
    },
  },
});

const manager = new PluginManager({ plugins: [auditLogger] });
const app = pipeline(scriptedExecutor(['Hello!', 'Goodbye!'])).use(plugins(manager));

await app.generate({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });
await app.generate({ model: 'demo', messages: [{ role: 'user', content: 'bye' }] });
console.log(`both calls returned; audit records so far: ${sink.length}`);

await manager.drain();
console.log(`after drain(): ${sink.length} audit records`);
for (const r of sink.sort((a, b) => a.callId.localeCompare(b.callId) || a.event.localeCompare(b.event))) {
  console.log(`  ${r.callId} ${r.event.padEnd(6)} ${r.detail}`);
}
