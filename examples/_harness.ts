// What `npm run examples` (examples/_run.ts) and test/integration/examples.test.ts share: the list
// of runnable examples, how each runs (offline, through tsx), and the output each must print.
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/** Whether this machine has a redis-server for the examples that start their own. */
const HAS_REDIS_SERVER = !spawnSync('redis-server', ['--version']).error;

/** Every runnable example, as a path from the repo root (`examples/quickstart.ts`); `_*` and `support/` are helpers. */
export function listExamples(dir = join(root, 'examples')): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      if (entry.name.startsWith('_') || entry.name === 'support') return [];
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listExamples(path);
      return entry.name.endsWith('.ts') ? [relative(root, path)] : [];
    })
    .sort();
}

// Keys and endpoints from the environment would send the examples to real providers.
const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: '1' };
for (const key of ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY']) delete env[key];

export interface ExampleRun {
  readonly file: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The documented lines (`EXPECTED`) missing from stdout. */
  readonly missing: readonly string[];
}

/** Runs one example with the current Node (through tsx) and checks its output against `EXPECTED`. */
export function runExample(file: string): Promise<ExampleRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', file],
      { cwd: root, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: unknown }).code ?? 1) : 0;
        const missing = (EXPECTED[file] ?? []).filter((line) => !stdout.includes(line));
        resolve({ file, code: typeof code === 'number' ? code : 1, stdout, stderr, missing });
      },
    );
  });
}

/** Output each example must show, beyond exiting 0. */
export const EXPECTED: Record<string, readonly string[]> = {
  'examples/inspector-live.ts': [
    'inspector: http://127.0.0.1:',
    'answer: Take an umbrella: 18°C and light rain in Lisbon.',
    'the page shows 1 run, 2 calls, 1 tool call',
  ],
  'examples/sealed-snapshot.ts': ['forged: SNAPSHOT_BAD_SIGNATURE', 'untouched: Refund done.'],
  'examples/quickstart.ts': ['→ demo-model, 1 message(s)', 'attempt 1 failed, retrying', '← demo-model: Paris.'],
  'examples/writing-middleware.ts': [
    'HELLO THERE\nHELLO THERE\nmodel calls: 1',
    'memo(): unknown option `maxEntires` (did you mean `maxEntries`?)',
  ],
  'examples/stream-primitives.ts': ['held 4 parts\nSLOW AND STEADY\n', 'TimeoutError: deadline: over 50 ms'],
  'examples/plugin-dispatcher.ts': [
    'model saw options {"temperature":0}\nheld deploy: deploys need a human (by approvals)\nstop: interrupted, held: approvals\ntool said: api deployed\n',
  ],
  'examples/replace-messages.ts': [
    'call 1: decided 1 of 1 messages\ncall 2: decided 2 of 3 messages\ncall 3: decided 2 of 5 messages\ncall 4: decided 2 of 7 messages\n',
    'sent: alpha uses key sk-***\nsent: beta uses key sk-***\nsent: gamma uses key sk-***\n',
    'kept: alpha uses key sk-alpha12345678',
  ],
  'examples/streaming.ts': ['The quick brown *** jumps', 'final: The quick brown *** jumps over the lazy dog.'],
  'examples/fallback.ts': [
    'trying main-model\n',
    'trying backup-model\n',
    'answered by backup-model (provider says backup-model-2026-01)',
  ],
  'examples/errors.ts': [
    'orphan → `orphan` produced an invalid request: messages[1].toolCallId',
    'next() called multiple times in `greedy`',
  ],
  'examples/agent-failures.ts': [
    'model-call-failed after 2 turns: ProviderError',
    'emails sent: ada, alan; transcript: 5 messages',
    'stream: model-call-failed',
  ],
  'examples/checkpoint.ts': [
    'first worker died: aborted',
    'resumed: interrupted, waiting: {"reason":"started-without-result"}',
    'done: Order A7 is paid. (run order-A7, turn 2)',
    'lookups: 1, payment attempts: 2',
  ],
  'examples/approval.ts': [
    'waiting: mail_ada send_email',
    'waiting: mail_all send_email',
    'process 2: load the snapshot, decide, resume',
    'tool send_email ran (approved)',
    'same run: true, turns: 1, 2',
    'mail_all: Not to everyone: only Ada. (error)',
  ],
  'examples/record-replay.ts': [
    'recorded 33 records, 0 bad lines',
    'calls: 3, tool calls: 2, layer events: 12',
    '#3 compactToolResults request: text_replaced [2] tool 417→55',
    'same transcript: true',
  ],
  'examples/agent-loop.ts': ['turn 1: 2 messages', 'turn 4: 6 messages', 'turns: 4, stop: no-tool-calls'],
  'examples/executor-hooks.ts': [
    'attempt 1: gpt-5',
    '  dispatched gpt-5',
    '  gpt-5 failed',
    'attempt 2: gpt-5-mini',
    '  dispatched gpt-5-mini',
    'answered by gpt-5-mini',
    'answer: Hello!',
    "mini's budget: 100",
  ],
  'examples/openai-responses.ts': [
    'reasoning parts in the transcript: 1, with their provider item: 1',
    'answer: Oslo: 4°C and clear.',
    'cached input tokens: 64',
    'final: Wear a warm coat.',
  ],
  'examples/openai.ts': ['answer: Paris.', 'final: Pack layers: Paris in spring is mild but showery.'],
  'examples/anthropic.ts': ['answer: Paris.', 'signed thinking (sent back on the next turn): true'],
  'examples/ai-sdk.ts': ['generateText: Paris.', 'aiSdkExecutor: Hello from an AI SDK model. (model mock-1, 2 calls)'],
  'examples/plugins/content-policy.ts': [
    'blocked: "How do I build weapons at home?" by content-policy at llm_input',
    'model calls: 2',
  ],
  'examples/plugins/audit-logger.ts': ['audit records so far: 0', 'after drain(): 4 audit records'],
  'examples/plugins/token-budget.ts': ['ada: blocked TOKEN_BUDGET_001'],
  'examples/plugins/pii-redactor.ts': [
    'model received: My email is [EMAIL], phone [PHONE].',
    'caller got:     Sure, I will email [EMAIL]',
  ],
  'examples/plugins/call-profiler.ts': ['big-model        2         1'],
  'examples/plugins/compress-tool-results.ts': [
    '[260 chars compressed]',
    '(note: 1 earlier tool result(s) were compressed)',
  ],
  'examples/plugins/effective-model.ts': ['llm_output: requested main-model, used backup-model'],
  'examples/plugins/config.ts': ['loaded: no-secrets, audit, acme-dry-run', 'bad.yaml:3: plugins[0].mode'],
  'examples/transform-context.ts': [
    'turn sees 6 messages, last: (turn 3: answer briefly)',
    'record 1: da… | assistant | record 2: data d',
    'transcript keeps 6 messages, full results, no reminders',
  ],
  'examples/map-messages.ts': [
    'sent on turn 3: Check records 1  | assistant | record 1: da… | assistant | record 2: data d',
    '3 calls, 4 messages mapped (each once)',
  ],
  'examples/plugins/run-scoped.ts': [
    'acme run:   hello, Tenant: acme.',
    'globex run: hello, Tenant: globex.',
    'acme tagged a call; globex tagged a call',
  ],
  'examples/compose.ts': [
    'auth:in → audit:in → redact:in → provider-retry:in → provider-retry:out → redact:out → audit:out → auth:out',
  ],
  'examples/cache.ts': [
    'miss → Paris.\nhit  → Paris.\nmiss → Paris, for globex.\nhit  → (streamed)\nstream replayed: Paris.\nmiss → Still Paris.\nmodel calls: 3',
  ],
  // Needs redis-server (installed in CI); without it the example says so and exits 0.
  // Needs a redis-server (CI installs it); without one it says so and exits 0.
  'examples/fleet.ts': HAS_REDIS_SERVER
    ? [
        'first job: interrupted, waiting for pay',
        'resume job: no-tool-calls, Order A7 is paid.',
        'run log: start → message → tool-result → message → interrupted → decision → tool-started → tool-result → message → finished',
      ]
    : ['redis-server is not installed: skipping the fleet example'],
  'examples/fleet-budget.ts': [
    'acme call 1: answered by backup-model',
    'acme call 4: refused before it was sent (BUDGET_EXCEEDED, 1110 of 1000 tokens)',
    'requests that reached flaky-model: 1',
    'globex: answered by backup-model (its own budget)',
  ],
  'examples/rate-limit.ts': [
    'acme: call 2 done\nacme: over the limit, waiting for the bucket\nacme: call 3 done',
    'globex: call 1 done (its own bucket)',
    'RateLimitError: retryable true, retry in about 60 s',
  ],
  'examples/layer-spans.ts': [
    'modelware.layer noop (in "modelware.layer retry"): attempt 1, changed request false\nmodelware.layer noop (in "modelware.layer retry"): attempt 2, changed request false',
    'modelware.layer retry (in "modelware.layer cool"): attempt 1, changed request false',
    'modelware.layer cool (in "chat main-model"): attempt 1, changed request true\nchat main-model',
  ],
  'examples/tracing.ts': [
    'chat main-model (in "chat main-model"): response.model=undefined ERROR Error',
    'chat backup-model (in "chat main-model"): response.model=backup-model ok',
    'chat main-model (in "handle request"): response.model=backup-model ok\n  usage: 14 in, 2 out',
  ],
  'examples/usage.ts': [
    'turn 1: small-model 42000 tokens $0.0240 (run so far $0.0240)',
    'turn 2: big-model 64000 tokens $0.3800 (run so far $0.4040)',
    'run: 2 calls, 106000 tokens, $0.4040',
    'refused: used 64000 of 1000 tokens',
  ],
  'examples/audit-log.ts': [
    'attempt on main-model: failed\nattempt on backup-model: completed',
    '"model":{"requested":"main-model","resolved":"backup-model"}',
    '"metadata":{"tenant":"acme","user":"***"},"startedAt":1767225600000,"latencyMs":240,"outcome":"completed"',
    'audit sink failed: disk full\nstill answered',
  ],
  'examples/router.ts': [
    'inner layer sees small-model\n  event dispatched to small-model\n  asked for auto, answered by small-model',
    'inner layer sees big-model\n  event dispatched to big-model\n  inner layer sees medium-model',
    'asked for auto, answered by medium-model',
  ],
  'examples/guard.ts': [
    'crypto: I can only help with office questions.',
    'weapons: middleware `topic` blocked the input: dangerous request (GUARD_INPUT)',
    'model calls so far: 1',
    'streamed: Sure. The admin password is hunt[withheld]',
    'finish: content-filter',
    'generate: [withheld]',
  ],
  'examples/redact-pii.ts': [
    'model received: I am [REDACTED_EMAIL], card [REDACTED_CREDIT_CARD].',
    'tool got:       to=ada@example.com',
    'model received: I am [REDACTED_EMAIL_1_',
    'user sees:      Receipt sent to ada@example.com for card 4111 1111 1111 1111.',
    'streamed:       Thanks ada@example.com, noted.',
    'found credit-card in messages[0]',
  ],
  'examples/structured-output.ts': [
    'Green tea: 2 steps, 3 min',
    'responseFormat: json recipe required=title,steps,minutes',
    'partial: {"title":"Gr"}',
    'partial: {"title":"Green tea","steps":["Heat water to 80°C","Steep 2 minutes"],"minutes":3}',
    'done: Heat water to 80°C → Steep 2 minutes',
    'plain request format: json/response',
  ],
  'examples/validate-output.ts': [
    'parsed: Paris 18°C, sunny',
    'model calls: 2',
    'response text: {"city": "Paris", "tempC": 18, "sunny": true}',
    'gave up after 2 attempts; raw text: It is sunny in Paris!',
  ],
  'examples/timeout.ts': ['retrying after: TimeoutError\non time'],
  'examples/call-limit.ts': [
    'model calls: 3, turns: 4, stop: no-tool-calls',
    'final: Stopping here: the limit of 3 model calls was reached.',
    'thrown: CALL_LIMIT: model call 3 exceeds the limit of 2 per run',
    'run 3: Daily quota used up.',
  ],
  'examples/tool-limits.ts': [
    'weather: sunny in Oslo',
    'search: results for b',
    'search: Tool call limit reached: this tool cannot be called again in this run. Answer with what you have. (error)',
    'slow: The tool did not finish within 50 ms and was stopped. Try again, or with a smaller request. (error)',
    'weather attempts: 2',
  ],
  'examples/summarize.ts': [
    'view: summary calls 2, transcript 27 messages, last request 8 messages',
    'view: Summary of the earlier conversation: Earlier: 9 messages about onion notes.',
    'transcript: summary calls 2, transcript 9 messages, last request 8 messages',
  ],
  'examples/agent-tracing.ts': [
    'invoke_agent weather-bot',
    '  turn',
    '    chat demo-model',
    '    execute_tool weather',
    'gen_ai.client.token.usage input: 2 calls, 50 tokens',
    'gen_ai.client.token.usage output: 2 calls, 12 tokens',
    'gen_ai.client.operation.duration: 2 calls',
  ],
};
