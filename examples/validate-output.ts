// validateOutput(): the answer must be JSON matching a zod schema. A bad answer is sent back with
// zod's explanation and the model is asked again; the parsed value is typed.
import { pipeline, OutputValidationError } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { validateOutput } from 'modelware/middleware';

const Weather = z.object({ city: z.string(), tempC: z.number(), sunny: z.boolean() });

const model = scriptedExecutor([
  // First answer: a string where a number belongs.
  '{"city": "Paris", "tempC": "mild", "sunny": true}',
  // The repair: valid, wrapped in a code fence (accepted and removed).
  '```json\n{"city": "Paris", "tempC": 18, "sunny": true}\n```',
]);
const validated = validateOutput({ schema: Weather, maxRepairs: 2 });
const app = pipeline(model)
  .use(async function report(ctx, next) {
    await next();
    // Typed as { city: string; tempC: number; sunny: boolean } | undefined.
    const weather = validated.output(ctx);
    console.log(`parsed: ${weather?.city} ${weather?.tempC}°C${weather?.sunny ? ', sunny' : ''}`);
  })
  .use(validated);

const response = await app.generate({
  model: 'demo',
  messages: [{ role: 'user', content: 'Weather in Paris as JSON {city, tempC, sunny}.' }],
});
console.log(`model calls: ${model.calls.length}`);
console.log(
  `repair prompt: ${String(model.calls[1]?.request.messages.at(-1)?.content).split('\n').slice(0, 3).join(' | ')}`,
);
console.log(`response text: ${response.message.content}`);

// When every repair fails: OutputValidationError with the raw text and the zod issues.
const stubborn = scriptedExecutor(['It is sunny in Paris!'], { whenDone: 'repeat-last' });
try {
  await pipeline(stubborn)
    .use(validateOutput({ schema: Weather, maxRepairs: 1 }))
    .generate({ model: 'demo', messages: [{ role: 'user', content: 'Weather in Paris?' }] });
} catch (error) {
  if (OutputValidationError.isInstance(error)) {
    console.log(`gave up after ${error.attempts} attempts; raw text: ${error.text}`);
  }
}
