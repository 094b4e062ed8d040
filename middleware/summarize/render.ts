import type { Immutable } from 'immer';
import type { Message } from '../../lib/core/messages.js';

/** The messages to summarise as plain text, one block per message, for the summary call's prompt. */
export function render(messages: readonly Immutable<Message>[]): string {
  const blocks: string[] = [];
  for (const message of messages) {
    if (message.role === 'tool') {
      blocks.push(`[tool result ${message.toolName}${message.isError ? ', error' : ''}]\n${message.content}`);
      continue;
    }
    if (typeof message.content === 'string') {
      blocks.push(`[${message.role}]\n${message.content}`);
      continue;
    }
    const parts: string[] = [];
    for (const part of message.content) {
      if (part.type === 'text') parts.push(part.text);
      else if (part.type === 'tool-call') parts.push(`(calls ${part.toolName} with ${JSON.stringify(part.input)})`);
      else if (part.type === 'image') parts.push('(an image)');
    }
    blocks.push(`[${message.role}]\n${parts.join('\n')}`);
  }
  return blocks.join('\n\n');
}
