/**
 * `modelware/kit`: the building blocks modelware's own built-ins are written with, public so a
 * third party can write `timeout`, `guard` or `redactPii` as well as we did. Nothing here holds
 * state of the core; each piece is documented in the README's "Writing middleware" section.
 *
 * - Option checks that throw one kind of `TypeError` everywhere, printing values without content.
 * - Timers and signals: an abortable sleep of any length, linking and racing signals.
 * - Streams: collecting parts into a response, counting a part's characters, replaying a response
 *   as parts.
 * - Tokens: the default tokenizer, and synchronous counts memoised per message object.
 * - Messages: sealing a message a layer builds (checked once, frozen), and asking which messages
 *   changed between two versions of a request without comparing every element.
 * - Tool results: the tool message a result is stored as, and a tool output as its text.
 */
import { messagesChangedSince } from './internal/provenance.js';

export {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkKeys,
  checkMs,
  checkNumber,
  checkOneOf,
  checkString,
  describeValue,
  failOption,
  optionNames,
  type MsRule,
  type NumberRule,
  type StringRule,
} from './internal/options.js';
export { abortable, linkSignals, setLongTimeout, sleep } from './internal/signals.js';
export { ResponseAssembler, partChars, responseToParts } from './core/stream.js';
export { sealMessage } from './core/validate.js';
export { toolContent } from './core/messages.js';
export { toolMessage } from './agent/tool-context.js';
export { defaultTokenizer, messageTokens, messagesTokens } from './core/tokens.js';
export { messagesChangedSince };
