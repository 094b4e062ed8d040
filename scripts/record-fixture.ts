// Writes test/fixtures/recordings/agent-loop.ndjson: a recording (captureContent on) of the
// examples/agent-loop.ts setup with a recorder outermost and one retried provider error, for the
// viewer's browser test and anyone who wants a sample. Regenerate with:
//   node --import tsx scripts/record-fixture.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRecording } from 'modelware';
import { memorySink } from 'modelware/middleware';
import { agentLoopModel, runAgentLoop } from '../test/fixtures/agent-loop-recording.js';

const sink = memorySink();
await runAgentLoop(agentLoopModel(), sink);
const text = sink.toNDJSON();
const { problems } = parseRecording(text);
if (problems.length > 0) throw new Error(`the recording does not validate: ${JSON.stringify(problems)}`);
const path = fileURLToPath(new URL('../test/fixtures/recordings/agent-loop.ndjson', import.meta.url));
writeFileSync(path, text);
console.log(`wrote ${sink.records.length} records to ${path}`);
