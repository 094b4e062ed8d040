import type { Immutable } from 'immer';
import type { Middleware } from '../lib/compose.js';
import type { ToolMessage } from '../lib/messages.js';
import { transformContext } from './transform-context.js';

export interface CompactToolResultsOptions {
  /** Tool results kept intact, counting from the newest. @default 3 */
  readonly keepLast?: number;
  /**
   * The content an older tool result is sent with instead of its own: a string, or a function of
   * the message.
   * @default (m) => `[${m.toolName} result omitted to save context: ${m.content.length} characters]`
   */
  readonly replaceWith?: string | ((message: Immutable<ToolMessage>) => string);
  /** Results shorter than this many characters are sent as they are. @default 200 */
  readonly minChars?: number;
  /** Names the layer. @default 'compactToolResults' */
  readonly name?: string;
}

/**
 * Sends older tool results as short stubs, keeping the newest `keepLast` intact. Only the content
 * changes, in place: every tool result stays paired with its call. The transcript keeps the full
 * results; only what each call sends shrinks.
 *
 * @example
 * app.use(compactToolResults({ keepLast: 2, minChars: 500 }));
 */
export function compactToolResults(options: CompactToolResultsOptions = {}): Middleware {
  const { keepLast = 3, replaceWith = defaultStub, minChars = 200, name = 'compactToolResults' } = options ?? {};
  if (!Number.isInteger(keepLast) || keepLast < 0) {
    throw new TypeError(
      `compactToolResults(): expected \`keepLast\` to be a non-negative integer, got \`${String(keepLast)}\`.`,
    );
  }
  if (typeof minChars !== 'number' || Number.isNaN(minChars) || minChars < 0) {
    throw new TypeError(
      `compactToolResults(): expected \`minChars\` to be a non-negative number, got \`${String(minChars)}\`.`,
    );
  }
  if (typeof replaceWith !== 'string' && typeof replaceWith !== 'function') {
    throw new TypeError(
      `compactToolResults(): expected \`replaceWith\` to be a string or a function (message) => string, got ${typeof replaceWith}.`,
    );
  }
  // One stub per original message, reused every turn: its identity keeps the validator's and the
  // token counter's caches warm. `null` marks a message sent as it is.
  const stubs = new WeakMap<object, ToolMessage | null>();
  const stubOf = (message: Immutable<ToolMessage>): ToolMessage | null => {
    let stub = stubs.get(message);
    if (stub === undefined) {
      const content = message.content.length < minChars ? message.content : replacement(message);
      stub = content === message.content ? null : Object.freeze({ ...(message as ToolMessage), content });
      stubs.set(message, stub);
    }
    return stub;
  };
  const replacement = (message: Immutable<ToolMessage>): string => {
    const content = typeof replaceWith === 'string' ? replaceWith : replaceWith(message);
    if (typeof content !== 'string') {
      throw new TypeError(`compactToolResults(): \`replaceWith\` returned ${typeof content}; it must return a string.`);
    }
    return content;
  };

  return transformContext(
    function compactToolResults(draft, { original }) {
      let kept = 0;
      for (let i = original.length - 1; i >= 0; i--) {
        const message = original[i] as Immutable<ToolMessage>;
        if (message.role !== 'tool' || ++kept <= keepLast) continue;
        const stub = stubOf(message);
        if (stub) draft[i] = stub;
      }
    },
    { name },
  );
}

function defaultStub(message: Immutable<ToolMessage>): string {
  return `[${message.toolName} result omitted to save context: ${message.content.length} characters]`;
}
