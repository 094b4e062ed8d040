import type { Attributes, Histogram, Meter } from '@opentelemetry/api';
import type { Context } from '../../lib/core/context.js';
import type { ModelResponse } from '../../lib/core/messages.js';
import { errorType } from './semconv.js';

// The bucket boundaries the GenAI semantic conventions advise for their client metrics.
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** `gen_ai.client.token.usage` and `gen_ai.client.operation.duration`, made once per `tracing()` layer. */
export class ClientMetrics {
  readonly #tokens: Histogram;
  readonly #duration: Histogram;

  constructor(
    meter: Meter,
    readonly provider: string | undefined,
  ) {
    this.#tokens = meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Number of input and output tokens used.',
      unit: '{token}',
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    });
    this.#duration = meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'GenAI operation duration.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
  }

  #base(ctx: Context): Attributes {
    const attributes: Attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': ctx.request.model };
    if (this.provider) attributes['gen_ai.provider.name'] = this.provider;
    if (ctx.internal) attributes['modelware.internal'] = true;
    return attributes;
  }

  /** A call that answered: its duration and, when the provider reported it, its tokens. */
  completed(ctx: Context, response: ModelResponse, seconds: number): void {
    const attributes = { ...this.#base(ctx), 'gen_ai.response.model': ctx.model.resolved };
    this.#duration.record(seconds, attributes);
    const usage = response.usage;
    if (!usage) return;
    this.#tokens.record(usage.inputTokens, { ...attributes, 'gen_ai.token.type': 'input' });
    this.#tokens.record(usage.outputTokens, { ...attributes, 'gen_ai.token.type': 'output' });
  }

  failed(ctx: Context, error: unknown, seconds: number): void {
    this.#duration.record(seconds, { ...this.#base(ctx), 'error.type': errorType(error) });
  }
}
