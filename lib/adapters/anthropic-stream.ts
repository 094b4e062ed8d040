import type { RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import type { FinishReason, StreamPart } from '../core/messages.js';
import { type WireUsage, toFinishReason, toUsage } from './anthropic-wire.js';
import { parseToolInput } from './content.js';

interface OpenBlock {
  readonly type: string;
  readonly id: string;
  readonly name: string;
  json: string;
}

/** Turns the Messages stream events into stream parts, keeping usage across message_start and message_delta. */
export class MessageEventMapper {
  finishReason: FinishReason | undefined;
  model: string | undefined;
  stopped = false;
  readonly #usage: WireUsage = {};
  readonly #blocks: (OpenBlock | undefined)[] = [];

  map(event: RawMessageStreamEvent, out: StreamPart[]): void {
    switch (event.type) {
      case 'message_start':
        this.model = event.message.model;
        this.#mergeUsage(event.message.usage);
        return;
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'tool_use') {
          this.#blocks[event.index] = { type: block.type, id: block.id, name: block.name, json: '' };
          out.push({ type: 'tool-call-delta', toolCallId: block.id, toolName: block.name, inputDelta: '' });
          return;
        }
        this.#blocks[event.index] = { type: block.type, id: '', name: '', json: '' };
        if (block.type === 'text' && block.text) out.push({ type: 'text-delta', text: block.text });
        if (block.type === 'thinking' && block.thinking) out.push({ type: 'reasoning-delta', text: block.thinking });
        return;
      }
      case 'content_block_delta': {
        const { delta } = event;
        if (delta.type === 'text_delta') out.push({ type: 'text-delta', text: delta.text });
        else if (delta.type === 'thinking_delta') out.push({ type: 'reasoning-delta', text: delta.thinking });
        else if (delta.type === 'signature_delta')
          out.push({ type: 'reasoning-delta', text: '', signature: delta.signature });
        else if (delta.type === 'input_json_delta') {
          const block = this.#blocks[event.index];
          if (block?.type !== 'tool_use') return;
          block.json += delta.partial_json;
          out.push({ type: 'tool-call-delta', toolCallId: block.id, inputDelta: delta.partial_json });
        }
        return;
      }
      case 'content_block_stop': {
        const block = this.#blocks[event.index];
        if (block?.type === 'tool_use') {
          out.push({
            type: 'tool-call',
            toolCallId: block.id,
            toolName: block.name,
            input: parseToolInput(block.json),
          });
        }
        this.#blocks[event.index] = undefined;
        return;
      }
      case 'message_delta':
        this.finishReason = toFinishReason(event.delta.stop_reason);
        this.#mergeUsage(event.usage);
        return;
      case 'message_stop':
        this.stopped = true;
        return;
    }
  }

  finish(): StreamPart {
    const part: StreamPart = {
      type: 'finish',
      finishReason: this.finishReason ?? 'other',
      usage: toUsage(this.#usage),
    };
    if (this.model !== undefined) part.model = this.model;
    return part;
  }

  // message_delta carries cumulative counts; null means "unchanged since message_start".
  #mergeUsage(usage: WireUsage): void {
    for (const [key, value] of Object.entries(usage)) {
      if (value !== null && value !== undefined) (this.#usage as Record<string, unknown>)[key] = value;
    }
  }
}
