// Type tests for budget(), circuitBreaker() and ledger stores: checked by `npx tsc --noEmit`.
// Nothing here runs; each `@ts-expect-error` fails the type check if the misuse it marks compiles.
import {
  BudgetExceededError,
  CircuitOpenError,
  type LedgerStore,
  type ReserveResult,
  type Store,
  isLedgerStore,
  memoryStore,
  pipeline,
} from 'modelware';
import { type CircuitState, budget, circuitBreaker, fallback, router } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

declare const store: Store;
const app = pipeline(scriptedExecutor(['ok']));

app.use(
  budget({
    store: memoryStore(),
    limit: { tokens: 10_000, costUsd: 1 },
    key: (ctx) => `tenant:${String(ctx.request.metadata?.tenant)}`,
    estimate: async () => ({ tokens: 100 }),
    onStoreError: (error) => (error.retryable ? 'fail-open' : 'fail-closed'),
    windowMs: 60_000,
  }),
);
// @ts-expect-error `key` is required: a budget names its owner
budget({ store, limit: { tokens: 1 } });
// @ts-expect-error onStoreError is 'fail-open' or 'fail-closed'
budget({ store, limit: { tokens: 1 }, key: () => 'k', onStoreError: 'ignore' });

// A memoryStore keeps ledgers; a plain Store is narrowed by the guard.
const ledgers: LedgerStore = memoryStore();
if (isLedgerStore(store)) {
  const result: Promise<ReserveResult> = store.reserve('k', { amounts: { tokens: 1 }, limits: { tokens: 2 } });
  void result;
}
// @ts-expect-error a plain Store has no reserve() until the guard says so
store.reserve('k', { amounts: {}, limits: {} });
void ledgers;

const breaker = circuitBreaker({ store, failureThreshold: 3, cooldownMs: 30_000 });
app.use(fallback(['backup'])).use(breaker);
app.use(router({ routes: [{ when: () => true, model: 'a' }], breaker }));
const state: Promise<CircuitState> = breaker.state('a');
void state;
// @ts-expect-error failureThreshold is a number
circuitBreaker({ failureThreshold: '3' });

declare const error: unknown;
if (CircuitOpenError.isInstance(error)) {
  const fields: [string, number, 'CIRCUIT_OPEN'] = [error.model, error.retryAfterMs, error.code];
  void fields;
}
if (BudgetExceededError.isInstance(error)) {
  const fields: ['tokens' | 'costUsd' | undefined, string | undefined] = [error.limit, error.key];
  void fields;
}
