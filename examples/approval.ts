// Human approval across processes, offline. Process 1 runs the agent: the model asks to send two
// emails and look up a contact; `send_email` needs approval, so the lookup runs and the run stops
// with stop reason `interrupted`, writing its snapshot (plain JSON) to a file. Process 2 (this file
// again, started as a child) loads the snapshot, approves one email, rejects the other, and resumes:
// same run id, turn 2 next, the approved call going through the tool stack like any other.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineMiddleware, loadRunSnapshot, runAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const sendEmail = tool({
  name: 'send_email',
  description: 'Sends an email',
  input: z.object({ to: z.string(), subject: z.string() }),
  needsApproval: true,
  // The key is the same in every process: give it to the mail service to deduplicate.
  execute: ({ to }, { idempotencyKey }) => `sent to ${to} (key ${idempotencyKey.split(':')[1]})`,
});
const lookup = tool({
  name: 'lookup_contact',
  description: 'Finds a contact',
  input: z.object({ name: z.string() }),
  execute: ({ name }) => `${name.toLowerCase()}@example.com`,
});
const tools = [sendEmail, lookup];

const audit = defineMiddleware({
  name: 'audit',
  async tool(ctx, next) {
    await next();
    console.log(`  tool ${ctx.toolName} ran${ctx.approved ? ' (approved)' : ''}`);
  },
});

const [, , step, file] = process.argv;
if (step !== 'resume') {
  console.log('process 1: run until a decision is needed');
  const model = scriptedExecutor([
    {
      toolCalls: [
        { id: 'mail_ada', name: 'send_email', input: { to: 'ada@example.com', subject: 'Minutes' } },
        { id: 'find_alan', name: 'lookup_contact', input: { name: 'Alan' } },
        { id: 'mail_all', name: 'send_email', input: { to: 'all@example.com', subject: 'Minutes' } },
      ],
    },
  ]);
  const result = await runAgent({
    model,
    modelId: 'demo-model',
    messages: [{ role: 'user', content: 'Send the minutes to Ada and to everyone.' }],
    tools,
    middleware: [audit],
  });
  console.log(`  stop: ${result.stopReason}, turn ${result.snapshot?.turn}`);
  for (const i of result.interruptions) {
    if (i.kind === 'tool-call') console.log(`  waiting: ${i.toolCallId} ${i.toolName} ${JSON.stringify(i.input)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'modelware-approval-'));
  const path = join(dir, 'run.json');
  writeFileSync(path, JSON.stringify(result.snapshot));
  try {
    execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'resume', path], {
      stdio: 'inherit',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  console.log('process 2: load the snapshot, decide, resume');
  const snapshot = loadRunSnapshot(readFileSync(file as string, 'utf8'));
  const model = scriptedExecutor(['Sent the minutes to Ada; the message to everyone was not sent.']);
  const result = await runAgent({
    model,
    tools,
    middleware: [audit],
    resume: {
      snapshot,
      decisions: {
        mail_ada: { type: 'approve' },
        mail_all: { type: 'reject', message: 'Not to everyone: only Ada.' },
      },
    },
  });
  console.log(`  same run: ${result.runId === snapshot.runId}, turns: ${result.turns.map((t) => t.turn).join(', ')}`);
  for (const m of result.transcript) {
    if (m.role === 'tool') console.log(`  ${m.toolCallId}: ${m.content}${m.isError ? ' (error)' : ''}`);
  }
  console.log(`  answer: ${result.text}`);
}
