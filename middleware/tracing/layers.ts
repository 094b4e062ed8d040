import type { Context as OtelContext, Span, Tracer } from '@opentelemetry/api';
import type { CallObserver } from '../../lib/index.js';
import { STATUS_ERROR, errorType } from './semconv.js';

/** What `layerSpans` needs from `@opentelemetry/api`: explicit parent contexts, not the active one. */
export interface ContextApi {
  readonly trace: { setSpan(context: OtelContext, span: Span): OtelContext };
  readonly context: { active(): OtelContext };
}

interface Frame {
  readonly layer: string;
  readonly index: number;
  readonly span: Span;
  readonly context: OtelContext;
  /** The attempt this layer's inner layers run in: the enclosing one's, or its own replays' (1 at first). */
  inner: number;
  changedRequest: boolean;
  changedResponse: boolean;
  /** What this layer's `next()` rejected with: an exit with the same error only passed it on. */
  passed: unknown;
}

const NONE = Symbol('none');

/**
 * An observer that opens a span `modelware.layer {name}` per inner layer per attempt, children of
 * `callSpan` and nested as the onion nests. Returns the observer and a function that ends what is
 * still open (a layer left running when the call settled).
 */
export function layerSpanObserver(
  tracer: Tracer,
  otel: ContextApi,
  callSpan: Span,
): { observer: CallObserver; close: () => void } {
  const root = otel.trace.setSpan(otel.context.active(), callSpan);
  const stack: Frame[] = [];
  const top = () => stack[stack.length - 1];
  const find = (index: number) => {
    for (let i = stack.length - 1; i >= 0; i--) if (stack[i]?.index === index) return i;
    return -1;
  };
  const finish = (frame: Frame, error: unknown) => {
    frame.span.setAttributes({
      'modelware.layer.changed_request': frame.changedRequest,
      'modelware.layer.changed_response': frame.changedResponse,
    });
    // The error status goes where the error started, not on every layer it passed through; only
    // the error's class, never its message (which may echo content; the call span has it).
    if (error !== NONE && error !== frame.passed) {
      frame.span.setAttribute('error.type', errorType(error));
      frame.span.setStatus({ code: STATUS_ERROR });
    }
    frame.span.end();
  };
  const observer: CallObserver = {
    onLayer(event) {
      if (event.phase === 'enter') {
        const parent = top();
        const attempt = parent?.inner ?? 1;
        const span = tracer.startSpan(
          `modelware.layer ${event.layer}`,
          { attributes: { 'modelware.layer.name': event.layer, 'modelware.layer.attempt': attempt } },
          parent?.context ?? root,
        );
        stack.push({
          layer: event.layer,
          index: event.index,
          span,
          context: otel.trace.setSpan(parent?.context ?? root, span),
          inner: attempt,
          changedRequest: false,
          changedResponse: false,
          passed: NONE,
        });
        return;
      }
      const at = find(event.index);
      if (at < 0) return;
      const frame = stack[at] as Frame;
      if (event.phase === 'next') frame.passed = NONE;
      else if (event.phase === 'back') frame.passed = 'error' in event ? event.error : NONE;
      else {
        // Inner layers still open (a stream layer's generator, say) end with it.
        while (stack.length > at + 1) finish(stack.pop() as Frame, NONE);
        stack.pop();
        finish(frame, 'error' in event ? event.error : NONE);
      }
    },
    onAttempt(event) {
      const frame = top();
      if (frame !== undefined) frame.inner = event.attempt;
    },
    onUpdate(event) {
      for (let i = stack.length - 1; i >= 0; i--) {
        const frame = stack[i] as Frame;
        if (frame.layer !== event.layer) continue;
        if (event.target === 'request') frame.changedRequest = true;
        else frame.changedResponse = true;
        return;
      }
    },
  };
  return {
    observer,
    close: () => {
      while (stack.length > 0) finish(stack.pop() as Frame, NONE);
    },
  };
}
