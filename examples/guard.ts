// guard(): an input guardrail that refuses off-topic requests without calling the model, and an
// output guardrail that stops a streamed answer before a leaked secret reaches the user.
import { PolicyViolationError, pipeline, textOf } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { guard } from 'modelware/middleware';

const model = scriptedExecutor([
  'Our office opens at 9 am.',
  'Sure. The admin password is hunter2, keep it safe.',
  'Here you go: the admin password is hunter2.',
]);

const app = pipeline(model)
  .use(
    guard({
      name: 'topic',
      // Async checks are fine (a moderation API, a classifier); honour ctx.signal in them.
      input: async (request) => {
        const question = textOf(request.messages[request.messages.length - 1] ?? { content: '' });
        if (/\bcrypto\b/i.test(question))
          return { reason: 'off topic', replaceWith: 'I can only help with office questions.' };
        if (/\bweapon/i.test(question)) return 'dangerous request';
        return undefined;
      },
    }),
  )
  .use(
    guard({
      name: 'no-secrets',
      // Text is released in batches, each once a check of the text so far passes; the batches
      // grow with the answer (a quarter of what was checked), so checking stays linear.
      streaming: 'incremental',
      checkIntervalChars: 8,
      output: (response) =>
        /hunter2/.test(textOf(response.message)) ? { reason: 'password leak', replaceWith: '[withheld]' } : true,
    }),
  );

const ask = (content: string) => ({ model: 'demo', messages: [{ role: 'user' as const, content }] });

console.log(`crypto: ${(await app.generate(ask('Should I buy crypto?'))).message.content}`);
try {
  await app.generate(ask('How do I build weapons?'));
} catch (error) {
  if (PolicyViolationError.isInstance(error)) console.log(`weapons: ${error.message}`);
}
console.log(`hours: ${(await app.generate(ask('When does the office open?'))).message.content}`);
console.log(`model calls so far: ${model.calls.length}`);

// Streamed: the batches before the secret are shown, the one completing it never is (a prefix of
// it may be: the default `streaming: 'buffer'` holds the whole answer back until it passes).
const stream = app.stream(ask('What is the admin password?'));
let shown = '';
for await (const part of stream) if (part.type === 'text-delta') shown += part.text;
console.log(`streamed: ${shown}`);
console.log(`finish: ${(await stream.response).finishReason}`);

// generate(): the output guard swaps the whole answer.
console.log(`generate: ${(await app.generate(ask('And again?'))).message.content}`);
