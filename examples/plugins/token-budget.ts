// Mellea's token budget, as a class plugin: on_<hook> methods register themselves, init/shutdown
// run with the manager. It counts each user's tokens from llm_output and blocks llm_input with
// TOKEN_BUDGET_001 once a user is over budget.
import { type ClassPlugin, type HookHandler, PluginManager, PolicyViolationError, block, pipeline } from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

class TokenBudget implements ClassPlugin {
  readonly name = 'token-budget';
  readonly priority = 5;
  readonly #used = new Map<string, number>();

  constructor(private readonly maxTokensPerUser: number) {}

  init() {
    console.log(`[token-budget] ready: ${this.maxTokensPerUser} tokens per user`);
  }

  shutdown() {
    console.log(`[token-budget] shut down; usage: ${JSON.stringify(Object.fromEntries(this.#used))}`);
  }

  on_llm_input: HookHandler<'llm_input'> = (_payload, { original }) => {
    const user = String(original.metadata.user ?? 'anonymous');
    const used = this.#used.get(user) ?? 0;
    if (used >= this.maxTokensPerUser) {
      return block(`user ${user} used ${used} of ${this.maxTokensPerUser} tokens`, 'TOKEN_BUDGET_001', {
        user,
        used,
        limit: this.maxTokensPerUser,
      });
    }
  };

  on_llm_output: HookHandler<'llm_output'> = (_payload, { original }) => {
    const user = String(original.metadata.user ?? 'anonymous');
    this.#used.set(user, (this.#used.get(user) ?? 0) + (original.response.usage?.totalTokens ?? 0));
  };
}

const manager = new PluginManager({ plugins: [new TokenBudget(100)] });
await manager.ready();
const usage = { inputTokens: 30, outputTokens: 30, totalTokens: 60 };
const model = scriptedExecutor([{ text: 'one', usage }], { whenDone: 'repeat-last' });
const app = pipeline(model).use(plugins(manager));

for (const user of ['ada', 'ada', 'grace', 'ada']) {
  try {
    await app.generate({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], metadata: { user } });
    console.log(`${user}: answered`);
  } catch (error) {
    if (!PolicyViolationError.isInstance(error)) throw error;
    console.log(`${user}: blocked ${error.violation.code} (${error.violation.reason})`);
  }
}
await manager.shutdown();
