import {
  type FakeServer,
  type FakeServerOptions,
  type FakeStep,
  type FakeTurn,
  type WireFormat,
  type WireReply,
  isError,
  isHang,
  pieces,
  sseReply,
  startFakeServer,
} from './fake-server.js';

/**
 * A loopback server speaking the Anthropic Messages API (`POST /v1/messages`): JSON messages, the
 * SSE event sequence (message_start, ping, content_block_start/delta/stop, message_delta,
 * message_stop) and `{ type: 'error', error: { type, message } }` error bodies. Thinking blocks
 * stream as thinking_delta then signature_delta; tool input as input_json_delta.
 *
 * @example
 * const server = await startAnthropicServer([{ reasoning: 'Think', text: 'Hi' }]);
 * const client = new Anthropic({ baseURL: server.baseURL, apiKey: 'test', maxRetries: 0 });
 */
export function startAnthropicServer(script: readonly FakeStep[], options?: FakeServerOptions): Promise<FakeServer> {
  return startFakeServer(ANTHROPIC_WIRE, script, options);
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

type Block =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string; citations: null }
  | { type: 'tool_use'; id: string; name: string; input: unknown; caller: { type: 'direct' } };

const ANTHROPIC_WIRE: WireFormat = {
  basePath: '',
  endpoint: '/v1/messages',
  notFound: (path) => errorReply(404, 'not_found_error', `Unknown path ${path}`),
  answer(step, body, index): WireReply {
    if (typeof step === 'object' && isHang(step)) return { kind: 'hang' };
    if (typeof step === 'object' && isError(step)) {
      const { status, type, message, headers } = step.error;
      return errorReply(status, type ?? ERROR_TYPES[status] ?? 'api_error', message ?? `Fake error ${status}`, headers);
    }
    const turn: FakeTurn = typeof step === 'string' ? { text: step } : step;
    const model = turn.model ?? body?.model ?? 'fake-model';
    const id = `msg_${index + 1}`;
    const blocks: Block[] = [];
    if (turn.reasoning)
      blocks.push({ type: 'thinking', thinking: turn.reasoning, signature: turn.signature ?? `sig_${index + 1}` });
    if (turn.text) blocks.push({ type: 'text', text: turn.text, citations: null });
    (turn.toolCalls ?? []).forEach((call, i) => {
      blocks.push({
        type: 'tool_use',
        id: call.id ?? `toolu_${index + 1}_${i + 1}`,
        name: call.name,
        input: call.input ?? {},
        caller: { type: 'direct' },
      });
    });
    const stop = turn.finishReason ?? (turn.toolCalls?.length ? 'tool_use' : 'end_turn');
    const outputTokens = Math.ceil(JSON.stringify(blocks).length / 8);
    const usage = {
      input_tokens: 10,
      output_tokens: outputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: null,
      inference_geo: null,
      output_tokens_details: null,
      server_tool_use: null,
      service_tier: 'standard',
      speed: null,
      ...turn.usage,
    };
    const message = {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: blocks,
      stop_reason: stop,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage,
    };
    if (body?.stream !== true) return { kind: 'json', status: 200, body: message };

    const size = turn.chunkSize ?? 4;
    const events: { event: string; data: string }[] = [];
    const emit = (event: string, data: object) =>
      events.push({ event, data: JSON.stringify({ type: event, ...data }) });
    emit('message_start', {
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    });
    emit('ping', {});
    blocks.forEach((block, i) => {
      if (block.type === 'thinking') {
        emit('content_block_start', { index: i, content_block: { type: 'thinking', thinking: '', signature: '' } });
        for (const piece of pieces(block.thinking, size)) {
          emit('content_block_delta', { index: i, delta: { type: 'thinking_delta', thinking: piece } });
        }
        emit('content_block_delta', { index: i, delta: { type: 'signature_delta', signature: block.signature } });
      } else if (block.type === 'text') {
        emit('content_block_start', { index: i, content_block: { type: 'text', text: '', citations: null } });
        for (const piece of pieces(block.text, size)) {
          emit('content_block_delta', { index: i, delta: { type: 'text_delta', text: piece } });
        }
      } else {
        emit('content_block_start', { index: i, content_block: { ...block, input: {} } });
        for (const piece of pieces(JSON.stringify(block.input), size)) {
          emit('content_block_delta', { index: i, delta: { type: 'input_json_delta', partial_json: piece } });
        }
      }
      emit('content_block_stop', { index: i });
    });
    emit('message_delta', {
      delta: { stop_reason: stop, stop_sequence: null, stop_details: null, container: null },
      usage: {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens,
        cache_read_input_tokens: usage.cache_read_input_tokens,
        output_tokens_details: usage.output_tokens_details,
        server_tool_use: null,
      },
    });
    emit('message_stop', {});
    return sseReply(turn, events, (type, message) => ({
      event: 'error',
      data: JSON.stringify({ type: 'error', error: { type, message } }),
    }));
  },
};

function errorReply(
  status: number,
  type: string,
  message: string,
  headers?: Readonly<Record<string, string>>,
): WireReply {
  const base = {
    kind: 'json' as const,
    status,
    body: { type: 'error', error: { type, message }, request_id: 'req_fake' },
  };
  return { ...base, headers: { 'request-id': 'req_fake', ...headers } };
}
