// Errors say where, what, and how to fix it; isInstance works across duplicate package copies.
import { InvalidRequestError, MiddlewareError, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

const app = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(async function orphan(ctx, next) {
  ctx.update(
    (draft) => void draft.messages.push({ role: 'tool', toolCallId: 'x1', toolName: 'search', content: '{}' }),
  );
  await next();
});

try {
  await app.generate({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });
} catch (error) {
  if (InvalidRequestError.isInstance(error)) console.log(`${error.layer} → ${error.message}`);
}

const twice = pipeline(scriptedExecutor(['ok'], { whenDone: 'repeat-last' })).use(async function greedy(_ctx, next) {
  await next();
  await next();
});
await twice.generate({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => {
  if (MiddlewareError.isInstance(error)) console.log(error.message);
});
