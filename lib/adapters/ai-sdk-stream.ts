import type { LanguageModelV4FinishReason, LanguageModelV4StreamPart, LanguageModelV4Usage } from '@ai-sdk/provider';
import type { FinishReason, StreamPart, Usage } from '../core/messages.js';

/**
 * Turns modelware stream parts into AI SDK v4 stream parts. The v4 protocol brackets text and
 * reasoning in start/end parts with ids, and tool input in tool-input-start/end; modelware parts
 * are flat deltas, so the translator opens and closes the blocks as the part types change.
 */
export class StreamTranslator {
  readonly #provider: string;
  #blocks = 0;
  #text: string | undefined;
  #reasoning: { id: string; signature: string | undefined } | undefined;
  readonly #toolInputs = new Set<string>();

  constructor(provider: string) {
    this.#provider = provider;
  }

  translate(part: StreamPart): LanguageModelV4StreamPart[] {
    const out: LanguageModelV4StreamPart[] = [];
    switch (part.type) {
      case 'text-delta':
        this.#closeReasoning(out);
        if (this.#text === undefined) out.push({ type: 'text-start', id: (this.#text = this.#nextId('text')) });
        if (part.text) out.push({ type: 'text-delta', id: this.#text, delta: part.text });
        return out;
      case 'reasoning-delta':
        this.#closeText(out);
        if (this.#reasoning === undefined) {
          this.#reasoning = { id: this.#nextId('reasoning'), signature: undefined };
          out.push({ type: 'reasoning-start', id: this.#reasoning.id });
        }
        if (part.text) out.push({ type: 'reasoning-delta', id: this.#reasoning.id, delta: part.text });
        if (part.signature !== undefined) this.#reasoning.signature = part.signature;
        return out;
      case 'tool-call-delta':
        this.#closeText(out);
        this.#closeReasoning(out);
        if (!this.#toolInputs.has(part.toolCallId)) {
          this.#toolInputs.add(part.toolCallId);
          out.push({ type: 'tool-input-start', id: part.toolCallId, toolName: part.toolName ?? '' });
        }
        if (part.inputDelta) out.push({ type: 'tool-input-delta', id: part.toolCallId, delta: part.inputDelta });
        return out;
      case 'tool-call':
        this.#closeText(out);
        this.#closeReasoning(out);
        if (this.#toolInputs.delete(part.toolCallId)) out.push({ type: 'tool-input-end', id: part.toolCallId });
        out.push({
          type: 'tool-call',
          toolCallId: part.toolCallId,
          toolName: part.toolName,
          input: stringifyInput(part.input),
        });
        return out;
      case 'finish':
        this.#closeText(out);
        this.#closeReasoning(out);
        for (const id of this.#toolInputs) out.push({ type: 'tool-input-end', id });
        this.#toolInputs.clear();
        if (part.model !== undefined) out.push({ type: 'response-metadata', modelId: part.model });
        out.push({ type: 'finish', finishReason: toV4FinishReason(part.finishReason), usage: toV4Usage(part.usage) });
        return out;
      default:
        return out;
    }
  }

  #nextId(kind: string): string {
    return `${kind}-${this.#blocks++}`;
  }

  #closeText(out: LanguageModelV4StreamPart[]): void {
    if (this.#text === undefined) return;
    out.push({ type: 'text-end', id: this.#text });
    this.#text = undefined;
  }

  #closeReasoning(out: LanguageModelV4StreamPart[]): void {
    const open = this.#reasoning;
    if (open === undefined) return;
    out.push(
      open.signature === undefined
        ? { type: 'reasoning-end', id: open.id }
        : { type: 'reasoning-end', id: open.id, providerMetadata: { [this.#provider]: { signature: open.signature } } },
    );
    this.#reasoning = undefined;
  }
}

/** AI SDK tool-call input is JSON text; a raw string is input that never parsed, passed on as it was. */
export function stringifyInput(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input ?? {});
}

export function toV4FinishReason(reason: FinishReason): LanguageModelV4FinishReason {
  return { unified: reason, raw: reason };
}

/** modelware's input count includes cached tokens, as v4's `inputTokens.total` does. */
export function toV4Usage(usage: Usage | undefined): LanguageModelV4Usage {
  const cached = usage?.cachedInputTokens;
  const written = usage?.cacheWriteTokens;
  const reasoning = usage?.reasoningTokens;
  return {
    inputTokens: {
      total: usage?.inputTokens,
      noCache:
        usage && (cached !== undefined || written !== undefined)
          ? usage.inputTokens - (cached ?? 0) - (written ?? 0)
          : undefined,
      cacheRead: cached,
      cacheWrite: written,
    },
    outputTokens: {
      total: usage?.outputTokens,
      text: usage && reasoning !== undefined ? usage.outputTokens - reasoning : undefined,
      reasoning,
    },
  };
}
