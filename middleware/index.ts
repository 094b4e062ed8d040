export { fallback } from './fallback.js';
export { retry } from './retry.js';
export { timeout } from './timeout.js';
export type { FallbackOptions } from './fallback.js';
export type { RetryOptions } from './retry.js';
export type { TimeoutOptions } from './timeout.js';
