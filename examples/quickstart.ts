// npm start: the README's usage example, offline on the built-in scripted model.
import { pipeline } from 'modelware';
import { retry } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const outage = Object.assign(new Error('503 Service Unavailable'), { retryable: true });
const model = scriptedExecutor([outage, 'Paris.']); // fails once, then answers

const app = pipeline(model)
  .use(async function log(ctx, next) {
    console.log(`→ ${ctx.request.model}, ${ctx.request.messages.length} message(s)`);
    await next();
    console.log(`← ${ctx.model.resolved}: ${ctx.response?.message.content}`);
  })
  .use(retry({ initialDelayMs: 10, onRetry: ({ attempt }) => console.log(`  attempt ${attempt} failed, retrying`) }))
  .use(async function systemPrompt(ctx, next) {
    ctx.update((draft) => void draft.messages.unshift({ role: 'system', content: 'Answer in one word.' }));
    console.log(`  sending ${ctx.request.messages.length} messages`);
    await next();
  });

await app.generate({ model: 'demo-model', messages: [{ role: 'user', content: 'Capital of France?' }] });
