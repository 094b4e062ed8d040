// Runs one redaction job in a worker thread so the test can stop it at a hard timeout.
import { parentPort, workerData } from 'node:worker_threads';
import { PLACEHOLDER_LIKE, scanText, toDetectors } from '../../middleware/redact-pii/detectors.js';
import type { StreamPart } from '../../lib/core/messages.js';
import { pipeline } from '../../lib/index.js';
import { redactPii } from '../../middleware/redact-pii/index.js';
import { ADVERSARIAL } from './redact-pii-adversarial.js';

interface Job {
  readonly job: string;
  readonly input: string;
  readonly size: number;
  readonly delta: number;
}

parentPort?.postMessage({ ready: true });
for (const job of (workerData as { jobs: Job[] }).jobs) parentPort?.postMessage({ result: await run(job) });

async function run({ job, input, size, delta }: Job): Promise<unknown> {
  if (job === 'scan') {
    const text = (ADVERSARIAL[input] as (n: number) => string)(size);
    const detectors = [PLACEHOLDER_LIKE, ...toDetectors(['api-key', 'email', 'credit-card', 'ipv4', 'phone'])];
    const { matches } = scanText(text, detectors);
    return { matches: matches.length, chars: text.length };
  }
  // A growing sk-… token (or an endless email local part) streamed in `delta`-character deltas;
  // reports how far the released text ever lagged behind what the model had sent.
  const token = input === 'token' ? `sk-${'a'.repeat(size)}` : `${'a'.repeat(size)}@example.com`;
  let sent = 0;
  const executor = {
    name: 'growing',
    generate: async () => {
      throw new Error('stream only');
    },
    async *stream(): AsyncGenerator<StreamPart> {
      for (let i = 0; i < token.length; i += delta) {
        const text = token.slice(i, i + delta);
        sent += text.length;
        yield { type: 'text-delta', text };
      }
      yield { type: 'finish', finishReason: 'stop' };
    },
  };
  const app = pipeline(executor).use(redactPii({ scope: ['response'] }));
  let released = 0;
  let maxLag = 0;
  let out = '';
  for await (const part of app.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })) {
    if (part.type !== 'text-delta') continue;
    released += part.text.length;
    out += part.text;
    maxLag = Math.max(maxLag, sent - released);
  }
  return { maxLag, head: out.slice(0, 40), length: out.length };
}
