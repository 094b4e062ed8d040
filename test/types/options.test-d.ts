// Every options object accepts an explicit `undefined` for an optional field under
// exactOptionalPropertyTypes (an options object forwarded from a caller often carries one).
import { PluginManager, pipeline } from 'modelware';
import { compactToolResults, fallback, plugins, retry, tokenBudget, transformContext } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const maybe = <T>(value: T): T | undefined => value;

pipeline({ executor: scriptedExecutor([]), validate: maybe(true), inspect: maybe(false), name: maybe('x') });
retry({ retries: maybe(2), initialDelayMs: maybe(1), onRetry: undefined });
fallback({ models: ['b'], shouldFallback: undefined });
compactToolResults({ keepLast: maybe(2), minChars: maybe(10), replaceWith: maybe('x'), name: maybe('c') });
tokenBudget({ maxInputTokens: 100, reserveOutputTokens: maybe(10), strategy: maybe('drop-oldest'), name: undefined });
transformContext(() => {}, { name: maybe('t') });
plugins(new PluginManager(), { maxRepairs: maybe(0) });

// Required fields stay required.
// @ts-expect-error maxInputTokens is required
tokenBudget({ reserveOutputTokens: 10 });
// @ts-expect-error models is required
fallback({});
