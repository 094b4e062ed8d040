// Adversarial tests for redactPii (issue 9, items 1, 2, 4, 6 and 8): linear-time detectors checked
// in a worker with a hard timeout, bounded stream hold-back, restore that gives back only what the
// user gave, no bypass by in-place edits, and streamed redaction equal to unstreamed redaction.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import {
  type Executor,
  type Message,
  type ModelResponse,
  type ReadonlyModelRequest,
  type StreamPart,
  pipeline,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { PolicyViolationError } from '../../lib/core/errors.js';
import { type RedactPiiOptions, redactPii } from '../../middleware/redact-pii/index.js';
import { ADVERSARIAL } from './redact-pii-adversarial.js';

const MB = 1 << 20;
/** Linear scans of 1 MB take well under a second here; the quadratic ones took minutes. */
const HARD_TIMEOUT_MS = 10_000;

/**
 * Runs `jobs` one after another in one worker thread. The hard timeout applies to each job from the
 * moment the previous one (or the worker's start-up, which loads tsx) finished, so a slow machine
 * never fails a linear job, and a super-linear one is stopped instead of hanging the suite.
 */
function inWorker(jobs: readonly Record<string, unknown>[]): Promise<unknown>[] {
  // tsx's loader is registered inside the worker: a worker does not inherit `--import tsx`.
  const entry = new URL('./redact-pii.worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { jobs } });
  const settle = jobs.map(() => {
    let resolve!: (value: unknown) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  });
  let next = 0;
  let timer: NodeJS.Timeout | undefined;
  const fail = (error: unknown) => {
    clearTimeout(timer);
    void worker.terminate();
    for (const s of settle.slice(next)) s.reject(error);
    next = settle.length;
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => fail(new Error(`still running after ${HARD_TIMEOUT_MS} ms: ${JSON.stringify(jobs[next])}`)),
      HARD_TIMEOUT_MS,
    );
  };
  worker.on('message', (message: { ready?: true; result?: unknown }) => {
    if (!message.ready) settle[next++]?.resolve(message.result);
    if (next < settle.length) arm();
    else {
      clearTimeout(timer);
      void worker.terminate();
    }
  });
  worker.once('error', fail);
  for (const s of settle) s.promise.catch(() => {});
  return settle.map((s) => s.promise);
}

const user = (content: string): Message => ({ role: 'user', content });
const request = (...messages: Message[]) => ({ model: 'm', messages });

describe('redactPii security: every detector runs in linear time', () => {
  const inputs = Object.keys(ADVERSARIAL);
  const streams = ['token', 'email'];
  const results = inWorker([
    ...inputs.map((input) => ({ job: 'scan', input, size: MB })),
    ...streams.map((input) => ({ job: 'stream', input, size: MB, delta: 32 })),
  ]);
  inputs.forEach((input, i) => {
    test(`1 MB of near-misses (${input}) is scanned before the hard timeout`, async () => {
      const result = (await results[i]) as { chars: number };
      assert.equal(result.chars, MB);
    });
  });
  streams.forEach((input, i) => {
    test(`a growing ${input === 'token' ? 'sk-… token' : 'email local part'} in 32-character deltas is released behind a bounded window`, async () => {
      const result = (await results[inputs.length + i]) as { maxLag: number; head: string };
      // The hold-back (318), a rescan step (80), one delta and what a placeholder saved (<256).
      assert.ok(result.maxLag < 1000, `lagged ${result.maxLag} characters behind the model`);
      if (input === 'token') assert.equal(result.head, '[REDACTED_API_KEY]aaaaaaaaaaaaaaaaaaaaaa');
    });
  });
});

describe('redactPii security: limits', () => {
  test('maxScanChars: a request past it is refused before the model sees it (PII_SCAN_LIMIT)', async () => {
    const model = scriptedExecutor(['never']);
    const app = pipeline(model).use(redactPii({ maxScanChars: 1000 }));
    await assert.rejects(app.generate(request(user('x'.repeat(600)), user('y'.repeat(600)))), (error: unknown) => {
      assert.ok(PolicyViolationError.isInstance(error));
      assert.equal(error.violation.code, 'PII_SCAN_LIMIT');
      assert.deepEqual(error.violation.details, { option: 'maxScanChars', limit: 1000, received: 1200 });
      assert.doesNotMatch(error.message, /xxx|yyy/);
      return true;
    });
    assert.equal(model.calls.length, 0);
  });

  test('maxBufferedChars: a custom match that never ends fails the stream, typed and not retryable', async () => {
    const endless = { name: 'tag', pattern: /#a+/, maxMatchChars: 100 };
    const app = pipeline(scriptedExecutor([`say #${'a'.repeat(5000)}`], { chunkSize: 50 })).use(
      redactPii({ detectors: [endless], scope: ['response'], maxBufferedChars: 1000 }),
    );
    const texts: string[] = [];
    await assert.rejects(
      async () => {
        for await (const part of app.stream(request(user('hi')))) if (part.type === 'text-delta') texts.push(part.text);
      },
      (error: unknown) => {
        assert.ok(PolicyViolationError.isInstance(error));
        assert.equal(error.violation.code, 'PII_BUFFER_LIMIT');
        return true;
      },
    );
    assert.equal(texts.join(''), 'say ');
  });
});

describe('redactPii security: no bypass by in-place edits', () => {
  test('a message edited in place after a clean call is scanned again', async () => {
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model).use(redactPii());
    const message = { role: 'user' as const, content: 'nothing here' };
    await app.generate(request(message));
    message.content = 'mail me at ann@x.io';
    await app.generate(request(message));
    assert.equal(model.calls[1]?.request.messages[0]?.content, 'mail me at [REDACTED_EMAIL]');
  });

  test("a text part's text, or a tool-call input, edited in place is scanned again (no stale copy)", async () => {
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model).use(redactPii());
    const part = { type: 'text' as const, text: 'I am ann@x.io' };
    const input: Record<string, unknown> = { to: 'nobody' };
    const messages: Message[] = [
      { role: 'user', content: [part] },
      { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 't', toolName: 'mail', input }] },
      { role: 'tool', toolCallId: 't', toolName: 'mail', content: 'ok' },
    ];
    await app.generate(request(...messages));
    part.text = 'I am bob@x.io, card 4111 1111 1111 1111';
    input.to = 'carol@x.io';
    await app.generate(request(...messages));
    const sent = JSON.stringify(model.calls[1]?.request.messages);
    assert.doesNotMatch(sent, /bob@x\.io|carol@x\.io|4111 1111/);
    assert.match(sent, /I am \[REDACTED_EMAIL\], card \[REDACTED_CREDIT_CARD\]/);
  });
});

/** The restore placeholders a request carries. */
function placeholdersIn(req: ReadonlyModelRequest): string[] {
  return [...new Set(JSON.stringify(req.messages).match(/\[REDACTED_[A-Z_]+_\d+_[0-9a-f]{10}\]/g) ?? [])];
}

describe('redactPii security: restore never yields a value the user did not give', () => {
  const value = fc.oneof(
    fc.stringMatching(/^[a-z]{3,8}$/).map((s) => `${s}@corp.example`),
    fc.stringMatching(/^[A-Za-z0-9]{20,30}$/).map((s) => `sk-${s}`),
  );
  test('property: every value in the answer came from user content', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(value, { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(value, { minLength: 0, maxLength: 4 }),
        fc.array(fc.constantFrom('[REDACTED_EMAIL_1]', '[REDACTED_API_KEY_2]', '[REDACTED_PLACEHOLDER_1]'), {
          maxLength: 3,
        }),
        fc.boolean(),
        async (secrets, given, forged, stream) => {
          const system = `Secrets: ${secrets.join(', ')}`;
          const typed = `Mine: ${given.join(' ')} ${forged.join(' ')}`;
          // A model that repeats every placeholder it saw, plus guesses of other calls' shapes.
          const answer = (req: ReadonlyModelRequest) =>
            `${placeholdersIn(req).join(' | ')} ${forged.join(' ')} [REDACTED_EMAIL_1_0000000000]`;
          const model = scriptedExecutor([answer], { chunkSize: 7 });
          const app = pipeline(model).use(redactPii({ restore: true, restoreToolInputs: true }));
          const req = request({ role: 'system', content: system }, user(typed));
          const text = stream ? await app.stream(req).text() : ((await app.generate(req)).message.content as string);
          for (const secret of secrets) {
            // A secret that is part of a value the user typed (sk-abc inside sk-abcdef) shows up
            // inside that value; only a secret the user never typed must be absent.
            if (given.some((mine) => mine.includes(secret))) continue;
            assert.ok(!text.includes(secret), `${secret} leaked into ${text}`);
          }
          for (const mine of given) assert.ok(text.includes(mine), `${mine} not restored in ${text}`);
        },
      ),
      { numRuns: 80 },
    );
  });
});

/** An executor that streams exactly the given parts and answers generate() with their assembly. */
function partsExecutor(parts: readonly StreamPart[], response: ModelResponse): Executor {
  return {
    name: 'parts',
    generate: async () => response,
    async *stream() {
      yield* parts;
    },
  };
}

function chunk(text: string, cuts: readonly number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(text.slice(at, p));
    at = Math.max(at, p);
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

describe('redactPii security: streamed redaction equals unstreamed redaction', () => {
  // Fragments that build values, near-misses and values split across any boundary.
  const fragment = fc.constantFrom(
    'jane.doe@example.com',
    'a@b.co',
    'x@y',
    '@',
    '.',
    'com',
    ' ',
    '\n',
    'sk-',
    'abcdefghijklmnopqrstuvwxyz',
    '4111 1111 1111 1111',
    '4111',
    '10.0.0.12',
    '255.',
    '+1 (555) 123-4567',
    '555',
    '-',
    'AKIAIOSFODNN7EXAMPLE',
    'hello',
    '[REDACTED_EMAIL_1]',
  );
  const text = fc.array(fragment, { maxLength: 60 }).map((f) => f.join(''));
  const cuts = fc.array(fc.nat({ max: 2000 }), { maxLength: 40 });
  const options: RedactPiiOptions = { scope: ['response'] };

  async function unstreamed(content: ModelResponse['message']['content']): Promise<ModelResponse> {
    const response: ModelResponse = { message: { role: 'assistant', content }, finishReason: 'stop' };
    return pipeline(partsExecutor([], response))
      .use(redactPii(options))
      .generate(request(user('hi')));
  }

  test('property: text, reasoning and tool-argument deltas under random chunkings', async () => {
    await fc.assert(
      fc.asyncProperty(
        text,
        text,
        text,
        cuts,
        cuts,
        cuts,
        fc.array(fc.boolean(), { maxLength: 80 }),
        async (reasoning, answer, args, rCuts, tCuts, aCuts, order) => {
          // Reasoning first, then text deltas with the tool's argument deltas interleaved at random.
          const parts: StreamPart[] = chunk(reasoning, rCuts).map((t) => ({ type: 'reasoning-delta', text: t }));
          const textParts = chunk(answer, tCuts).map((t): StreamPart => ({ type: 'text-delta', text: t }));
          const argParts = chunk(args, aCuts).map(
            (t): StreamPart => ({ type: 'tool-call-delta', toolCallId: 'c1', toolName: 'f', inputDelta: t }),
          );
          let i = 0;
          while (textParts.length || argParts.length) {
            const takeText = argParts.length === 0 || (textParts.length > 0 && order[i++ % (order.length || 1)]);
            parts.push((takeText ? textParts.shift() : argParts.shift()) as StreamPart);
          }
          parts.push({ type: 'finish', finishReason: 'stop' });
          const app = pipeline(
            partsExecutor(parts, { message: { role: 'assistant', content: '' }, finishReason: 'stop' }),
          ).use(redactPii(options));
          const got = { reasoning: '', text: '', args: '' };
          for await (const part of app.stream(request(user('hi')))) {
            if (part.type === 'reasoning-delta') got.reasoning += part.text;
            else if (part.type === 'text-delta') got.text += part.text;
            else if (part.type === 'tool-call-delta') got.args += part.inputDelta;
          }
          const content: Exclude<ModelResponse['message']['content'], string> = [];
          if (reasoning) content.push({ type: 'reasoning', text: reasoning });
          if (answer) content.push({ type: 'text', text: answer });
          const want = (await unstreamed(content.length ? content : '')).message.content;
          const wantParts = typeof want === 'string' ? [] : want;
          const of = (type: string) =>
            (wantParts.find((p) => p.type === type) as { text?: string } | undefined)?.text ?? '';
          assert.equal(got.reasoning, of('reasoning'));
          assert.equal(got.text, of('text'));
          assert.equal(got.args, (await unstreamed(args)).message.content);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('property: restore, streamed under random chunkings, equals restore unstreamed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fragment, fc.constant('#P')), { maxLength: 40 }),
        cuts,
        async (fragments, cut) => {
          const answerFor = (req: ReadonlyModelRequest) => {
            const [p] = placeholdersIn(req);
            return fragments.map((f) => (f === '#P' ? (p ?? '') : f)).join('');
          };
          const question = request(user('I am ann@x.io, my card 4111 1111 1111 1111'));
          const generated = await pipeline(scriptedExecutor([answerFor]))
            .use(redactPii({ restore: true }))
            .generate(question);
          const streaming: Executor = {
            name: 'chunked',
            generate: async () => {
              throw new Error('stream only');
            },
            async *stream(req) {
              for (const t of chunk(answerFor(req), cut)) yield { type: 'text-delta', text: t };
              yield { type: 'finish', finishReason: 'stop' };
            },
          };
          const streamed = await pipeline(streaming)
            .use(redactPii({ restore: true }))
            .stream(question)
            .text();
          assert.equal(streamed, generated.message.content);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('redactPii security: what observers see', () => {
  test("'chunk' events carry the executor's raw parts; 'completed' and a layer outside see what the caller saw", async () => {
    const app = pipeline(scriptedExecutor(['Reach bot@corp.example now.'], { chunkSize: 4 }));
    const tapped: string[] = [];
    app.use(async function observer(ctx, next) {
      await next();
      await ctx.tapStream({ onPart: (part) => void (part.type === 'text-delta' && tapped.push(part.text)) });
    });
    app.use(redactPii({ scope: ['response'] }));
    const chunks: string[] = [];
    let completed = '';
    app.on('chunk', (e) => void (e.part.type === 'text-delta' && chunks.push(e.part.text)));
    app.on('completed', (e) => void (completed = e.response.message.content as string));
    const text = await app.stream(request(user('hi'))).text();
    assert.equal(text, 'Reach [REDACTED_EMAIL] now.');
    assert.equal(tapped.join(''), text);
    assert.equal(completed, text);
    assert.equal(chunks.join(''), 'Reach bot@corp.example now.');
  });
});
