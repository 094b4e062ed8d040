import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BudgetExceededError,
  InvalidRequestError,
  type Message,
  countTokens,
  isRetryable,
  pipeline,
  runAgent,
} from 'modelware';
import { tokenBudget } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';
import { checkToolPairing } from '../../lib/core/validate.js';
import {
  USER,
  add,
  newestUser,
  quarterTokenizer,
  recordingExecutor,
  summary,
  transcriptArb,
} from '../fixtures/agent.js';

/** One token per character plus the 4 framing tokens per message: easy to count by hand. */
const chars = (text: string) => text.length;

const call = (id: string): Message => ({
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: id, toolName: 't', input: {} }],
});
const result = (id: string, content: string): Message => ({ role: 'tool', toolCallId: id, toolName: 't', content });

// A history where dropping the first user message and the c1 call with its result saves 20+ tokens.
const HISTORY: Message[] = [
  { role: 'system', content: 'system' },
  { role: 'user', content: 'first' },
  call('c1'),
  result('c1', 'x'.repeat(100)),
  { role: 'assistant', content: 'noted' },
  { role: 'user', content: 'second' },
  call('c2'),
  result('c2', 'y'.repeat(50)),
];

async function send(messages: readonly Message[], ...budget: Parameters<typeof tokenBudget>) {
  const executor = recordingExecutor();
  await pipeline(executor)
    .use(tokenBudget(...budget))
    .generate({ model: 'm', messages });
  return executor.requests[0]?.messages as readonly Message[];
}

async function total(messages: readonly Message[]) {
  return countTokens(messages, { tokenizer: chars });
}

describe('tokenBudget', () => {
  test('under budget the messages pass untouched (the same message objects, none dropped)', async () => {
    const sent = await send(HISTORY, { maxInputTokens: 1000, tokenizer: chars });
    // The pipeline's entry copy of the caller's array, holding the caller's own message objects.
    assert.equal(sent.length, HISTORY.length);
    for (const [i, message] of sent.entries()) assert.equal(message, HISTORY[i]);
  });

  test('drop-oldest drops the oldest messages, a tool call always with its results, and keeps system and newest user', async () => {
    const full = await total(HISTORY);
    const sent = await send(HISTORY, { maxInputTokens: full - 20, tokenizer: chars });
    assert.deepEqual(summary(sent), [
      'system:system',
      'assistant:noted',
      'user:second',
      'assistant:call(c2)',
      'tool(c2):' + 'y'.repeat(50),
    ]);
    assert.ok((await total(sent)) <= full - 20);
  });

  test('truncate-tool-results cuts the oldest tool results and drops nothing', async () => {
    const long: Message[] = [
      USER,
      call('c1'),
      result('c1', 'a'.repeat(2000)),
      call('c2'),
      result('c2', 'b'.repeat(2000)),
    ];
    const full = await total(long);
    const sent = await send(long, { maxInputTokens: full - 1000, strategy: 'truncate-tool-results', tokenizer: chars });
    assert.equal(sent.length, long.length);
    assert.match(String(sent[2]?.content), /^a{256}\n…\[truncated by tokenBudget: 2006 tokens in full\]$/);
    assert.equal(sent[4], long[4]);
  });

  test('a custom strategy decides; one that orphans a tool result is rejected naming the layer', async () => {
    const keepLastTwo = (messages: readonly unknown[]) => messages.slice(-2) as Message[];
    const sent = await send(HISTORY, { maxInputTokens: 80, strategy: keepLastTwo, tokenizer: chars });
    assert.deepEqual(summary(sent), ['assistant:call(c2)', `tool(c2):${'y'.repeat(50)}`]);
    const orphaning = (messages: readonly unknown[]) => messages.slice(-1) as Message[];
    const error = await send(HISTORY, { maxInputTokens: 80, strategy: orphaning, tokenizer: chars }).catch((e) => e);
    assert.ok(InvalidRequestError.isInstance(error));
    assert.equal(error.layer, 'tokenBudget');
  });

  test('a single message larger than the budget is a BudgetExceededError with the numbers', async () => {
    const huge: Message[] = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'z'.repeat(500) },
    ];
    const error = await send(huge, { maxInputTokens: 300, reserveOutputTokens: 100, tokenizer: chars }).catch((e) => e);
    assert.ok(BudgetExceededError.isInstance(error));
    assert.equal(error.budget, 200);
    assert.equal(error.counted, 4 + 8 + 4 + 500);
    assert.equal(error.layer, 'tokenBudget');
    assert.equal(isRetryable(error), false);
    assert.match(
      error.message,
      /needs 516 tokens after `drop-oldest` but the budget is 200 \(maxInputTokens 300 - reserveOutputTokens 100\)/,
    );
  });

  test('the tool definitions count against the budget', async () => {
    const executor = recordingExecutor();
    const app = pipeline(executor).use(tokenBudget({ maxInputTokens: 40, tokenizer: chars }));
    const tools = [{ name: 'big', description: 'd'.repeat(100), inputSchema: { type: 'object' } }];
    const error = await app.generate({ model: 'm', messages: [USER], tools }).catch((e) => e);
    assert.ok(BudgetExceededError.isInstance(error));
    assert.match(error.message, /of which the tool definitions take \d+/);
  });

  test('counts each message once over a whole run: turn N pays only for new messages', async () => {
    const texts: string[] = [];
    const counting = (text: string) => {
      texts.push(text);
      return text.length;
    };
    const turns = 20;
    const script = Array.from({ length: turns - 1 }, (_, i) => ({
      toolCalls: [{ name: 'add', input: { a: i, b: 1 } }],
    }));
    const model = scriptedExecutor([...script, 'done']);
    const app = pipeline(model).use(tokenBudget({ maxInputTokens: 1_000_000, tokenizer: counting }));
    const run = await runAgent({ model: app, modelId: 'test-model', messages: [USER], tools: [add] });
    // Every message but the final answer was sent at least once; plus the tool definitions, once.
    assert.equal(texts.length, run.transcript.length - 1 + 1);
  });

  test('the default tokenizer is gpt-tokenizer (o200k_base), loaded on first use', async () => {
    assert.equal(await countTokens('hello world'), 2);
    assert.equal(await countTokens({ role: 'user', content: 'hello world' }), 2 + 4);
    // Text that looks like a special token is counted, not rejected.
    assert.ok((await countTokens('<|endoftext|>')) > 0);
  });

  test('property (drop-oldest): fits or throws exactly when the protected messages alone do not fit', async () => {
    await fc.assert(
      fc.asyncProperty(transcriptArb, fc.integer({ min: 1, max: 20_000 }), async (messages, maxInputTokens) => {
        const count = (m: readonly Message[]) => countTokens(m, { tokenizer: quarterTokenizer });
        const user = newestUser(messages);
        const protectedTokens = await count(messages.filter((m, i) => m.role === 'system' || i === user));
        const outcome = await send(messages, { maxInputTokens, tokenizer: quarterTokenizer }).catch((e) => e);
        if (BudgetExceededError.isInstance(outcome)) {
          assert.ok(protectedTokens > maxInputTokens);
          assert.equal(outcome.counted, protectedTokens);
          return;
        }
        const sent = outcome as readonly Message[];
        assert.ok(protectedTokens <= maxInputTokens);
        assert.ok((await count(sent)) <= maxInputTokens);
        assert.equal(checkToolPairing(sent), undefined);
        // Every call keeps all its results: the assistant tool-call messages sent have every result sent.
        const sentIds = new Set(sent.flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : [])));
        for (const m of sent) {
          if (m.role === 'assistant' && Array.isArray(m.content)) {
            for (const p of m.content) if (p.type === 'tool-call') assert.ok(sentIds.has(p.toolCallId));
          }
        }
        // A subsequence of the original, same objects, system messages and newest user kept.
        let j = 0;
        for (const m of sent) {
          while (messages[j] !== m) j++;
          assert.ok(j < messages.length);
        }
        messages.forEach((m, i) => {
          if (m.role === 'system' || i === user) assert.ok(sent.includes(m));
        });
      }),
      { numRuns: 1000 },
    );
  });

  test('property (truncate-tool-results): same messages in place, pairing intact, within budget or throws', async () => {
    await fc.assert(
      fc.asyncProperty(transcriptArb, fc.integer({ min: 1, max: 20_000 }), async (messages, maxInputTokens) => {
        const outcome = await send(messages, {
          maxInputTokens,
          strategy: 'truncate-tool-results',
          tokenizer: quarterTokenizer,
        }).catch((e) => e);
        if (BudgetExceededError.isInstance(outcome)) {
          assert.ok(outcome.counted > maxInputTokens);
          return;
        }
        const sent = outcome as readonly Message[];
        assert.equal(sent.length, messages.length);
        assert.equal(checkToolPairing(sent), undefined);
        assert.ok((await countTokens(sent, { tokenizer: quarterTokenizer })) <= maxInputTokens);
        messages.forEach((m, i) => {
          if (m.role !== 'tool') assert.equal(sent[i], m);
        });
      }),
      { numRuns: 1000 },
    );
  });

  const cases: { label: string; options: Record<string, unknown>; says: RegExp }[] = [
    { label: 'maxInputTokens', options: {}, says: /`maxInputTokens` to be a positive integer, got `undefined`/ },
    {
      label: 'reserveOutputTokens',
      options: { maxInputTokens: 10, reserveOutputTokens: 10 },
      says: /`reserveOutputTokens`.*below maxInputTokens \(10\), got number `10`/,
    },
    {
      label: 'strategy',
      options: { maxInputTokens: 10, strategy: 'newest' },
      says: /`strategy` to be 'drop-oldest', 'truncate-tool-results' or a function, got string `newest`/,
    },
    { label: 'tokenizer', options: { maxInputTokens: 10, tokenizer: 'o200k' }, says: /`tokenizer` to be a function/ },
  ];
  for (const { label, options, says } of cases) {
    test(`rejects a bad ${label} at factory time`, () => {
      assert.throws(() => tokenBudget(options as never), { name: 'TypeError', message: says });
    });
  }
});
