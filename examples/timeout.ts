// timeout() inside retry(): a per-attempt limit; the slow attempt is abandoned and retried.
import { pipeline } from 'modelware';
import { retry, timeout } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const model = scriptedExecutor([{ text: 'too late', delayMs: 2_000 }, 'on time']);
const app = pipeline(model)
  .use(retry({ initialDelayMs: 0, onRetry: ({ error }) => console.log(`retrying after: ${(error as Error).name}`) }))
  .use(timeout({ timeoutMs: 50 }));

const response = await app.generate({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });
console.log(response.message.content);
