// A failed run keeps its transcript: the provider refuses the third call, after two tool turns
// that already had side effects. runAgent rejects with AgentError: `reason` names the failed step,
// `cause` is what was thrown, `transcript` the run up to the last completed step, ready to resume.
import { AgentError, type Message, ProviderError, runAgent, streamAgent, tool } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const sent: string[] = [];
const email = tool({
  name: 'email',
  input: z.object({ to: z.string() }),
  execute: ({ to }) => void sent.push(to),
});
const script = () =>
  scriptedExecutor([
    { toolCalls: [{ name: 'email', input: { to: 'ada' } }] },
    { toolCalls: [{ name: 'email', input: { to: 'alan' } }] },
    new ProviderError({ provider: 'openai', status: 400, retryable: false, message: 'openai: 400 Bad Request' }),
  ]);
const messages: Message[] = [{ role: 'user', content: 'Email Ada and Alan.' }];

let history: readonly Message[] = messages;
try {
  await runAgent({ model: script(), modelId: 'gpt-test', messages, tools: [email] });
} catch (error) {
  if (!AgentError.isInstance(error)) throw error;
  console.log(`${error.reason} after ${error.turnCount} turns: ${(error.cause as Error).name}`);
  history = error.transcript; // both emails and their results are in it: resume from here
}
console.log(`emails sent: ${sent.join(', ')}; transcript: ${history.length} messages`);

// streamAgent ends the same way: the iteration throws the AgentError that `result` rejects with.
const stream = streamAgent({ model: script(), modelId: 'gpt-test', messages, tools: [email] });
const failure = await stream.result.catch((error: unknown) => error);
console.log(`stream: ${AgentError.isInstance(failure) ? failure.reason : 'no error'}`);
