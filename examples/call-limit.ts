// callLimit(): an agent that keeps calling tools is stopped after 3 model calls. With
// onLimit: 'end' the run finishes normally with a final message; with 'throw' it rejects.
import { AgentError, PolicyViolationError, pipeline, runAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { callLimit } from 'modelware/middleware';

const search = tool({
  name: 'search',
  input: z.object({ q: z.string() }),
  execute: ({ q }) => `no results for ${q}`,
});
// A model stuck in a loop: it always wants one more search.
const stuck = () =>
  scriptedExecutor([{ toolCalls: [{ name: 'search', input: { q: 'meaning of life' } }] }], { whenDone: 'cycle' });
const messages = [{ role: 'user' as const, content: 'Find the meaning of life.' }];

const model = stuck();
const result = await runAgent({
  model: pipeline(model).use(callLimit({ maxCalls: 3, onLimit: 'end' })),
  modelId: 'demo-model',
  messages,
  tools: [search],
});
console.log(`model calls: ${model.calls.length}, turns: ${result.turns.length}, stop: ${result.stopReason}`);
console.log(`final: ${result.text}`);

try {
  await runAgent({
    model: pipeline(stuck()).use(callLimit({ maxCalls: 2 })),
    modelId: 'demo-model',
    messages,
    tools: [search],
  });
} catch (error) {
  // A failed run rejects with AgentError (transcript so far); what stopped it is its `cause`.
  const cause = AgentError.isInstance(error) ? error.cause : error;
  if (PolicyViolationError.isInstance(cause)) console.log(`thrown: ${cause.violation.code}: ${cause.violation.reason}`);
}

// per: 'pipeline' counts every call through the layer, across runs.
const shared = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(
  callLimit({ maxCalls: 2, per: 'pipeline', onLimit: 'end', message: 'Daily quota used up.' }),
);
for (let i = 1; i <= 3; i++) {
  const answer = await runAgent({ model: shared, modelId: 'demo-model', messages });
  console.log(`run ${i}: ${answer.text}`);
}
