// Loopback servers that speak the providers' wire formats, for tests, benchmarks and offline
// examples that run the real SDK clients. Node-only (node:http): never imported by `modelware`.
export { startAnthropicServer } from './anthropic-server.js';
export { startOpenAIServer } from './openai-server.js';

export type {
  FakeError,
  FakeServer,
  FakeServerOptions,
  FakeStep,
  FakeToolCall,
  FakeTurn,
  RecordedRequest,
} from './fake-server.js';
