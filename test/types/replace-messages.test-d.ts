// Type tests for ctx.replaceMessages() (and compactToolResults, written on it): checked by
// `npx tsc --noEmit`. Nothing here runs; each `@ts-expect-error` fails the type check if the misuse
// it marks ever compiles.
import {
  type Message,
  type MessageReplacements,
  type ReadonlyModelRequest,
  type ReplaceMessagesOptions,
  defineMiddleware,
} from 'modelware';
import { messagesChangedSince, sealMessage } from 'modelware/kit';
import { type CompactToolResultsOptions, compactToolResults } from 'modelware/middleware';

const system: Message = { role: 'system', content: 'Be brief.' };

export const layer = defineMiddleware({
  name: 'types',
  call(ctx, next) {
    // A Map, an array literal of pairs, or pairs whose message comes from the (read-only) request.
    const a: ReadonlyModelRequest['messages'] = ctx.replaceMessages(new Map([[0, system]]));
    ctx.replaceMessages([[0, system]]);
    ctx.replaceMessages([[1, ctx.request.messages[0] ?? system]]);
    const first = ctx.request.messages[0];
    if (first?.role === 'tool') ctx.replaceMessages([[0, sealMessage({ ...first, content: '[old]' })]]);
    // The result is what `previous` takes, and what messagesChangedSince compares.
    ctx.replaceMessages([], { previous: a });
    const changed: readonly number[] | undefined = messagesChangedSince(ctx.request.messages, a);
    void changed;
    const options: ReplaceMessagesOptions = { previous: undefined };
    const changes: MessageReplacements = new Map<number, Message>();
    ctx.replaceMessages(changes, options);

    // @ts-expect-error the result is read-only: a replacement goes through the core
    a[0] = system;
    // @ts-expect-error an index is a number
    ctx.replaceMessages([['0', system]]);
    // @ts-expect-error a replacement is a message
    ctx.replaceMessages([[0, { role: 'system' }]]);
    // @ts-expect-error unknown option
    ctx.replaceMessages([], { previuos: a });
    // @ts-expect-error previous is an array of messages
    ctx.replaceMessages([], { previous: 'a' });
    return next();
  },
});

export const compact = compactToolResults({ keepLast: 2, replaceWith: (m) => `[${m.toolName}]` });
// @ts-expect-error unknown option
compactToolResults({ keeplast: 2 });
export const compactOptions: CompactToolResultsOptions = { minChars: 10 };
