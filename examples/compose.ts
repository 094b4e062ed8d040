// Pipelines nest (a pipeline is an executor) and compose() bundles layers into one reusable package.
import { type Middleware, compose, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';

const log: string[] = [];
const mark = (name: string): Middleware =>
  Object.defineProperty(
    async (_ctx: unknown, next: () => Promise<void>) => {
      log.push(`${name}:in`);
      await next();
      log.push(`${name}:out`);
    },
    'name',
    { value: name },
  ) as Middleware;

const provider = pipeline(scriptedExecutor(['ok']), mark('provider-retry'));
const app = pipeline(provider, mark('auth'), compose(mark('audit'), mark('redact')));

await app.generate({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });
console.log(log.join(' → '));
console.log(`layers: ${app.layers.join(', ')}`);
