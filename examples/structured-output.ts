// Structured output: ask for JSON matching a zod schema and get it back parsed and typed, whole
// (generateObject) or as partial objects while it streams (streamObject). The schema travels as
// request.responseFormat, which every adapter maps to the provider's native structured output.
import { generateObject, jsonResponseFormat, pipeline, streamObject } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';

const Recipe = z.object({
  title: z.string(),
  steps: z.array(z.string()),
  minutes: z.number(),
});

const answer = '{"title":"Green tea","steps":["Heat water to 80°C","Steep 2 minutes"],"minutes":3}';
// An offline model that says it sends the schema natively, as openaiExecutor and anthropicExecutor do.
const model = scriptedExecutor([answer, answer], { chunkSize: 12, capabilities: { responseFormat: 'schema' } });
const app = pipeline(model);
const messages = [{ role: 'user' as const, content: 'A recipe for green tea, as JSON.' }];

// The whole object, typed { title: string; steps: string[]; minutes: number }.
const { object } = await generateObject(app, { model: 'demo', messages, schema: Recipe, name: 'recipe' });
console.log(`${object.title}: ${object.steps.length} steps, ${object.minutes} min`);

// What the executor received: the schema as a strict JSON Schema response format.
const format = model.calls[0]?.request.responseFormat;
console.log(
  `responseFormat: ${format?.type} ${format?.type === 'json' ? `${format.name} required=${format.schema?.required}` : ''}`,
);

// Streaming: partial objects as the JSON arrives, then the validated object.
for await (const event of streamObject(app, { model: 'demo', messages, schema: Recipe })) {
  if (event.type === 'partial') console.log(`partial: ${JSON.stringify(event.partial)}`);
  else console.log(`done: ${event.object.steps.join(' → ')}`);
}

// The same format on a plain request, for any executor or pipeline.
const request = { model: 'demo', messages, responseFormat: jsonResponseFormat(Recipe) };
console.log(`plain request format: ${request.responseFormat.type}/${request.responseFormat.name}`);
