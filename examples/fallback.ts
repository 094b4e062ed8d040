// Fallback and the effective model: inner layers see the model being tried, outer layers the one that answered.
import { pipeline } from 'modelware';
import { fallback } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const overloaded = Object.assign(new Error('529 overloaded'), { retryable: true });
const model = scriptedExecutor([overloaded, { text: 'Hi from the backup.', model: 'backup-model-2026-01' }]);

const app = pipeline(model)
  .use(async function report(ctx, next) {
    await next();
    const { requested, resolved } = ctx.model;
    console.log(`asked for ${requested}, answered by ${resolved} (provider says ${ctx.response?.model})`);
  })
  .use(fallback({ models: ['backup-model'] }))
  .use(async function inner(ctx, next) {
    console.log(`trying ${ctx.model.resolved}`);
    await next();
  });

app.on('dispatched', (e) => console.log(`event dispatched #${e.attempt} to ${e.model.resolved}`));
app.on('completed', (e) => console.log(`event completed on ${e.model.resolved}`));
await app.generate({ model: 'main-model', messages: [{ role: 'user', content: 'hello' }] });
