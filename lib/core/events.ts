import type { InternalCall, ReadonlyModelRequest } from './executor.js';
import type { ModelResponse, StreamPart } from './messages.js';
import { describeValue } from '../internal/options.js';

/** The model a call asked for, and the one it was actually sent to after routing or fallback. */
export interface EffectiveModel {
  readonly requested: string;
  readonly resolved: string;
}

interface EventBase {
  readonly callId: string;
  readonly parentId: string | undefined;
  readonly mode: 'generate' | 'stream';
  readonly model: EffectiveModel;
  /** Present when a layer made this call for itself (`ctx.callModel()`): not the caller's traffic. */
  readonly internal?: InternalCall;
}

/** Lifecycle of one call: `requested → dispatched (once per attempt) → completed | failed`, plus `chunk`. */
export type ModelEvent =
  | (EventBase & { readonly type: 'requested'; readonly request: ReadonlyModelRequest })
  | (EventBase & { readonly type: 'dispatched'; readonly request: ReadonlyModelRequest; readonly attempt: number })
  | (EventBase & { readonly type: 'chunk'; readonly part: StreamPart })
  | (EventBase & { readonly type: 'completed'; readonly response: ModelResponse; readonly durationMs: number })
  | (EventBase & { readonly type: 'failed'; readonly error: unknown; readonly durationMs: number });

export type ModelEventType = ModelEvent['type'];
export type ModelEventOf<T extends ModelEventType> = Extract<ModelEvent, { type: T }>;
export type ModelEventListener<T extends ModelEventType> = (event: ModelEventOf<T>) => void;

/**
 * A tiny typed emitter. Emitting checks a count first, so an event with no listeners builds no
 * payload. Listeners are observers: one that throws is reported as a process warning and never
 * breaks the call.
 */
export class EventHub {
  private readonly listeners: { [T in ModelEventType]?: ModelEventListener<T>[] } = {};
  /** Number of listeners over all event types; 0 means every emit is skipped. */
  count = 0;

  on<T extends ModelEventType>(type: T, listener: ModelEventListener<T>): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`on('${type}'): expected a listener function, got ${describeValue(listener)}.`);
    }
    const list = (this.listeners[type] ??= []) as ModelEventListener<T>[];
    list.push(listener);
    this.count++;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      list.splice(list.indexOf(listener), 1);
      this.count--;
    };
  }

  has(type: ModelEventType): boolean {
    return this.count > 0 && (this.listeners[type]?.length ?? 0) > 0;
  }

  emit<T extends ModelEventType>(event: ModelEventOf<T>): void {
    const list = this.listeners[event.type as T] as ModelEventListener<T>[] | undefined;
    if (!list) return;
    for (const listener of [...list]) {
      try {
        listener(event);
      } catch (error) {
        process.emitWarning(`modelware: a '${event.type}' event listener threw: ${String(error)}`, {
          code: 'MODELWARE_LISTENER_ERROR',
        });
      }
    }
  }
}
