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
 * A loopback server speaking OpenAI Chat Completions (`POST /v1/chat/completions`): JSON
 * completions, SSE chunks ending in `data: [DONE]` with usage in a last chunk when
 * `stream_options.include_usage` is set, and `{ error: { message, type, code } }` error bodies.
 *
 * @example
 * const server = await startOpenAIServer(['Hello!']);
 * const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'test', maxRetries: 0 });
 */
export function startOpenAIServer(script: readonly FakeStep[], options?: FakeServerOptions): Promise<FakeServer> {
  return startFakeServer(OPENAI_WIRE, script, options);
}

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_exceeded',
};

const OPENAI_WIRE: WireFormat = {
  basePath: '/v1',
  endpoint: '/v1/chat/completions',
  notFound: (path) => errorReply(404, 'not_found_error', `Unknown path ${path}`),
  answer(step, body, index): WireReply {
    if (typeof step === 'object' && isHang(step)) return { kind: 'hang' };
    if (typeof step === 'object' && isError(step)) {
      const { status, type, message, headers } = step.error;
      return errorReply(
        status,
        type ?? ERROR_TYPES[status] ?? 'server_error',
        message ?? `Fake error ${status}`,
        headers,
      );
    }
    const turn: FakeTurn = typeof step === 'string' ? { text: step } : step;
    const model = turn.model ?? body?.model ?? 'fake-model';
    const id = `chatcmpl-${index + 1}`;
    const calls = (turn.toolCalls ?? []).map((call, i) => ({
      id: call.id ?? `call_${index + 1}_${i + 1}`,
      type: 'function' as const,
      function: { name: call.name, arguments: JSON.stringify(call.input ?? {}) },
    }));
    const finish = turn.finishReason ?? (calls.length > 0 ? 'tool_calls' : 'stop');
    const completionTokens = Math.ceil(((turn.text?.length ?? 0) + JSON.stringify(calls).length) / 4);
    const usage = {
      prompt_tokens: 10,
      completion_tokens: completionTokens,
      total_tokens: 10 + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
      ...turn.usage,
    };
    if (body?.stream !== true) {
      const message: Record<string, unknown> = { role: 'assistant', content: turn.text ?? null, refusal: null };
      if (turn.reasoning) message.reasoning_content = turn.reasoning;
      if (calls.length > 0) message.tool_calls = calls;
      return {
        kind: 'json',
        status: 200,
        body: {
          id,
          object: 'chat.completion',
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
          usage,
        },
      };
    }
    const size = turn.chunkSize ?? 4;
    const chunk = (delta: object, finishReason: string | null = null) =>
      JSON.stringify({
        id,
        object: 'chat.completion.chunk',
        created: 1_700_000_000,
        model,
        choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
      });
    const events: { data: string }[] = [{ data: chunk({ role: 'assistant', content: '', refusal: null }) }];
    if (turn.reasoning)
      for (const piece of pieces(turn.reasoning, size)) events.push({ data: chunk({ reasoning_content: piece }) });
    if (turn.text) for (const piece of pieces(turn.text, size)) events.push({ data: chunk({ content: piece }) });
    calls.forEach((call, i) => {
      events.push({
        data: chunk({
          tool_calls: [
            { index: i, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
          ],
        }),
      });
      for (const piece of pieces(call.function.arguments, size)) {
        events.push({ data: chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }) });
      }
    });
    events.push({ data: chunk({}, finish) });
    if (body?.stream_options?.include_usage) {
      events.push({
        data: JSON.stringify({
          id,
          object: 'chat.completion.chunk',
          created: 1_700_000_000,
          model,
          choices: [],
          usage,
        }),
      });
    }
    events.push({ data: '[DONE]' });
    return sseReply(turn, events, (type, message) => ({
      data: JSON.stringify({ error: { message, type, param: null, code: type } }),
    }));
  },
};

function errorReply(
  status: number,
  type: string,
  message: string,
  headers?: Readonly<Record<string, string>>,
): WireReply {
  const base = { kind: 'json' as const, status, body: { error: { message, type, param: null, code: type } } };
  return { ...base, headers: { 'x-request-id': 'req_fake', ...headers } };
}
