import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type HookHandler,
  PluginError,
  PolicyViolationError,
  TimeoutError,
  block,
  definePlugin,
  pluginSet,
  withSettings,
} from 'modelware';
import type { PluginMode } from 'modelware';
import { PAYLOAD, deferred, describeEvent, managerWithEvents, probe, untilAborted } from '../../fixtures/plugins.js';

type Outcome = 'continue' | 'modify' | 'block' | 'throw' | 'timeout';

const HANDLERS: Record<Outcome, HookHandler<'test_probe'>> = {
  continue: () => undefined,
  modify: (p) => void (p.text = 'changed'),
  block: () => block('no', 'CODE_1', { why: 'test' }),
  throw: () => {
    throw new Error('kaput');
  },
  timeout: (_p, ctx) => untilAborted(ctx.signal),
};

/** What a dispatch did: its result, what it threw, and the events logged (after draining). */
interface Seen {
  text?: string;
  threw?: string;
  events: string[];
  calls: number;
}

async function run(mode: PluginMode, outcome: Outcome): Promise<Seen> {
  const { manager, events } = managerWithEvents();
  let calls = 0;
  const handler = HANDLERS[outcome];
  manager.register(
    definePlugin({
      name: 'p',
      mode,
      timeoutMs: 5,
      hooks: {
        test_probe: (payload, ctx) => {
          calls++;
          return handler(payload, ctx);
        },
      },
    }),
  );
  const seen: Seen = { events: [], calls: 0 };
  try {
    seen.text = (await manager.dispatch(probe, PAYLOAD)).text;
  } catch (error) {
    seen.threw = PolicyViolationError.isInstance(error)
      ? `PolicyViolation:${error.violation.plugin}@${error.violation.hook}:${error.violation.code}`
      : PluginError.isInstance(error)
        ? `PluginError:${error.failure}`
        : String(error);
  }
  await manager.drain();
  seen.events = events.map(describeEvent);
  seen.calls = calls;
  return seen;
}

// Every mode × outcome, with onError: 'fail' (the default). `calls` proves whether the handler ran.
const TABLE: [PluginMode, Outcome, Seen][] = [
  ['sequential', 'continue', { text: 'base', events: [], calls: 1 }],
  ['sequential', 'modify', { text: 'changed', events: [], calls: 1 }],
  ['sequential', 'block', { threw: 'PolicyViolation:p@test_probe:CODE_1', events: [], calls: 1 }],
  ['sequential', 'throw', { threw: 'PluginError:threw', events: [], calls: 1 }],
  ['sequential', 'timeout', { threw: 'PluginError:timeout', events: [], calls: 1 }],
  ['transform', 'continue', { text: 'base', events: [], calls: 1 }],
  ['transform', 'modify', { text: 'changed', events: [], calls: 1 }],
  ['transform', 'block', { text: 'base', events: ['violation:p:CODE_1'], calls: 1 }],
  ['transform', 'throw', { threw: 'PluginError:threw', events: [], calls: 1 }],
  ['transform', 'timeout', { threw: 'PluginError:timeout', events: [], calls: 1 }],
  ['audit', 'continue', { text: 'base', events: [], calls: 1 }],
  ['audit', 'modify', { text: 'base', events: [], calls: 1 }],
  ['audit', 'block', { text: 'base', events: ['violation:p:CODE_1'], calls: 1 }],
  ['audit', 'throw', { threw: 'PluginError:threw', events: [], calls: 1 }],
  ['audit', 'timeout', { threw: 'PluginError:timeout', events: [], calls: 1 }],
  ['concurrent', 'continue', { text: 'base', events: [], calls: 1 }],
  ['concurrent', 'modify', { threw: 'PluginError:read-only', events: [], calls: 1 }],
  ['concurrent', 'block', { threw: 'PolicyViolation:p@test_probe:CODE_1', events: [], calls: 1 }],
  ['concurrent', 'throw', { threw: 'PluginError:threw', events: [], calls: 1 }],
  ['concurrent', 'timeout', { threw: 'PluginError:timeout', events: [], calls: 1 }],
  ['fire_and_forget', 'continue', { text: 'base', events: [], calls: 1 }],
  ['fire_and_forget', 'modify', { text: 'base', events: [], calls: 1 }],
  ['fire_and_forget', 'block', { text: 'base', events: ['violation:p:CODE_1'], calls: 1 }],
  ['fire_and_forget', 'throw', { text: 'base', events: ['error:p:threw:fail'], calls: 1 }],
  ['fire_and_forget', 'timeout', { text: 'base', events: ['error:p:timeout:fail'], calls: 1 }],
  ['disabled', 'continue', { text: 'base', events: [], calls: 0 }],
  ['disabled', 'modify', { text: 'base', events: [], calls: 0 }],
  ['disabled', 'block', { text: 'base', events: [], calls: 0 }],
  ['disabled', 'throw', { text: 'base', events: [], calls: 0 }],
  ['disabled', 'timeout', { text: 'base', events: [], calls: 0 }],
];

describe('modes × outcomes', () => {
  for (const [mode, outcome, expected] of TABLE) {
    test(`${mode} + ${outcome}`, async () => {
      assert.deepEqual(await run(mode, outcome), expected);
    });
  }
});

describe('error policy', () => {
  const ERRORS: [PluginMode, 'ignore' | 'disable', string[]][] = [
    ['sequential', 'ignore', ['error:p:threw:ignore']],
    ['sequential', 'disable', ['error:p:threw:disable', 'disabled:p']],
    ['concurrent', 'ignore', ['error:p:threw:ignore']],
    ['audit', 'disable', ['error:p:threw:disable', 'disabled:p']],
  ];
  for (const [mode, onError, expected] of ERRORS) {
    test(`${mode} + onError: ${onError} logs the failure and carries on`, async () => {
      const { manager, events } = managerWithEvents();
      let calls = 0;
      manager.register(
        definePlugin({
          name: 'p',
          mode,
          onError,
          hooks: {
            test_probe: () => {
              calls++;
              throw new Error('kaput');
            },
          },
        }),
      );
      assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base');
      await manager.dispatch(probe, PAYLOAD);
      assert.deepEqual(events.map(describeEvent), onError === 'ignore' ? [...expected, ...expected] : expected);
      assert.equal(calls, onError === 'ignore' ? 2 : 1);
      assert.equal(manager.status('p')?.disabled, onError === 'disable');
    });
  }

  test('reset() turns a disabled plugin back on', async () => {
    const { manager } = managerWithEvents();
    let calls = 0;
    manager.register(
      definePlugin({
        name: 'p',
        onError: 'disable',
        hooks: {
          test_probe: () => {
            calls++;
            throw new Error('kaput');
          },
        },
      }),
    );
    await manager.dispatch(probe, PAYLOAD);
    await manager.dispatch(probe, PAYLOAD);
    manager.reset('p');
    await manager.dispatch(probe, PAYLOAD);
    assert.equal(calls, 2);
  });

  test('a handler that ignores its signal cannot stall the dispatch beyond its timeout', async () => {
    const { manager, events } = managerWithEvents();
    let signal: AbortSignal | undefined;
    manager.register(
      definePlugin({
        name: 'stuck',
        onError: 'ignore',
        timeoutMs: 5,
        hooks: {
          test_probe: (_p, ctx) => {
            signal = ctx.signal;
            return new Promise<void>(() => {});
          },
        },
      }),
      definePlugin({ name: 'after', priority: 200, hooks: { test_probe: (p) => void (p.text += '+after') } }),
    );
    const out = await manager.dispatch(probe, PAYLOAD);
    assert.equal(out.text, 'base+after');
    assert.equal(signal?.aborted, true);
    assert.ok(TimeoutError.isInstance(signal?.reason));
    assert.deepEqual(events.map(describeEvent), ['error:stuck:timeout:ignore']);
  });

  test('a PluginError names the plugin, the hook and the cause', async () => {
    const { manager } = managerWithEvents();
    manager.register(definePlugin({ name: 'p', hooks: { test_probe: HANDLERS.throw } }));
    const error = await manager.dispatch(probe, PAYLOAD).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(PluginError.isInstance(error));
    assert.equal(error.plugin, 'p');
    assert.equal(error.hook, 'test_probe');
    assert.equal((error.cause as Error).message, 'kaput');
    assert.match(error.message, /plugin `p` at hook `test_probe` threw: kaput/);
  });

  test('a handler returning anything but nothing or a block breaks the contract', async () => {
    const { manager } = managerWithEvents();
    manager.register(definePlugin({ name: 'p', hooks: { test_probe: (() => ({ text: 'x' })) as never } }));
    await assert.rejects(manager.dispatch(probe, PAYLOAD), (e: unknown) => {
      assert.ok(PluginError.isInstance(e));
      assert.equal(e.failure, 'contract');
      return true;
    });
  });
});

describe('order', () => {
  test('lower priority runs first; ties keep registration order', async () => {
    const { manager } = managerWithEvents();
    const step = (name: string, priority: number) =>
      definePlugin({ name, priority, hooks: { test_probe: (p) => void (p.text += `+${name}`) } });
    manager.register(step('a', 20), step('b', 10), step('c', 10), step('d', 20), step('e', 5));
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base+e+b+c+a+d');
    assert.deepEqual(manager.plugins, ['e', 'b', 'c', 'a', 'd']);
  });

  test('sets sort among their siblings by the set priority, members within the set; sets nest', async () => {
    const { manager } = managerWithEvents();
    const step = (name: string, priority?: number) =>
      definePlugin({
        name,
        ...(priority === undefined ? {} : { priority }),
        hooks: { test_probe: (p) => void (p.text += `+${name}`) },
      });
    const inner = pluginSet({ name: 'inner', priority: 1, plugins: [step('i2', 9), step('i1', 1)] });
    const outer = pluginSet({ name: 'outer', priority: 5, plugins: [step('x', 50), inner, step('y', 0)] });
    manager.register(step('z', 6), outer, step('w', 5));
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base+y+i1+i2+x+w+z');
  });

  test('phases run sequential → transform → audit → concurrent → fire_and_forget, whatever the priorities', async () => {
    const { manager } = managerWithEvents();
    const log: string[] = [];
    const modes: PluginMode[] = ['fire_and_forget', 'concurrent', 'audit', 'transform', 'sequential'];
    manager.register(
      ...modes.map((mode, i) =>
        definePlugin({
          name: mode,
          mode,
          priority: i,
          hooks: { test_probe: (_p, ctx) => void log.push(`${mode}:${ctx.original.text}`) },
        }),
      ),
      definePlugin({
        name: 'edit',
        mode: 'transform',
        priority: 99,
        hooks: { test_probe: (p) => void (p.text = 'edited') },
      }),
    );
    await manager.dispatch(probe, PAYLOAD);
    await manager.drain();
    assert.deepEqual(log, [
      'sequential:base',
      'transform:base',
      'audit:edited',
      'concurrent:edited',
      'fire_and_forget:edited',
    ]);
  });
});

describe('modification', () => {
  test('changes chain: each handler sees what the previous ones produced, as draft and as original', async () => {
    const { manager } = managerWithEvents();
    const seen: string[] = [];
    manager.register(
      definePlugin({ name: 'a', hooks: { test_probe: (p) => void (p.text = `${p.text}>a`) } }),
      definePlugin({
        name: 'b',
        mode: 'transform',
        hooks: {
          test_probe: (p, ctx) => {
            seen.push(ctx.original.text);
            p.nested.open = `${ctx.original.text}|b`;
          },
        },
      }),
      definePlugin({ name: 'c', hooks: { test_probe: (p) => void (p.text = `${p.text}>c(${p.nested.open})`) } }),
    );
    const out = await manager.dispatch(probe, PAYLOAD);
    assert.equal(out.text, 'base>a>c(o)');
    assert.equal(out.nested.open, 'base>a>c(o)|b');
    assert.deepEqual(seen, ['base>a>c(o)']);
    assert.equal(PAYLOAD.text, 'base', 'the caller payload is untouched');
  });

  test('an unchanged payload keeps its identity; untouched branches keep theirs', async () => {
    const { manager } = managerWithEvents();
    manager.register(definePlugin({ name: 'a', hooks: { test_probe: (p) => void p.nested.open } }));
    assert.equal(await manager.dispatch(probe, PAYLOAD), PAYLOAD);
    manager.register(definePlugin({ name: 'b', hooks: { test_probe: (p) => void (p.text = 'x') } }));
    const out = await manager.dispatch(probe, PAYLOAD);
    assert.notEqual(out, PAYLOAD);
    assert.equal(out.nested, PAYLOAD.nested);
  });

  const READ_ONLY: [string, HookHandler<'test_probe'>, string][] = [
    ['a read-only top-level field', (p) => void ((p as { locked: string }).locked = 'x'), 'locked'],
    ['a read-only nested field', (p) => void ((p.nested as { shut: string }).shut = 'x'), 'nested.shut'],
    ['a new field', (p) => void ((p as Record<string, unknown>).extra = 1), 'extra'],
  ];
  for (const [what, handler, field] of READ_ONLY) {
    test(`a change to ${what} is refused with an error naming \`${field}\``, async () => {
      const { manager } = managerWithEvents();
      manager.register(definePlugin({ name: 'p', hooks: { test_probe: handler } }));
      await assert.rejects(manager.dispatch(probe, PAYLOAD), (e: unknown) => {
        assert.ok(PluginError.isInstance(e));
        assert.equal(e.failure, 'read-only');
        assert.equal(e.field, field);
        assert.match(e.message, new RegExp(`changed read-only field \`${field.replace('.', '\\.')}\``));
        assert.match(e.message, /writable here: text, nested\.open/);
        return true;
      });
    });
  }

  test('under onError: ignore a refused change is discarded and the next handler sees the payload without it', async () => {
    const { manager, events } = managerWithEvents();
    manager.register(
      definePlugin({
        name: 'bad',
        onError: 'ignore',
        hooks: {
          test_probe: (p) => {
            p.text = 'bad was here';
            (p as { locked: string }).locked = 'x';
          },
        },
      }),
      definePlugin({ name: 'good', priority: 200, hooks: { test_probe: (p) => void (p.text += '+good') } }),
    );
    const out = await manager.dispatch(probe, PAYLOAD);
    assert.deepEqual([out.text, out.locked], ['base+good', 'L']);
    assert.deepEqual(events.map(describeEvent), ['error:bad:read-only:ignore']);
  });

  test('a writable field set to a value its schema rejects is refused as invalid, naming the field', async () => {
    const { manager } = managerWithEvents();
    manager.register(
      definePlugin({ name: 'p', hooks: { test_probe: (p) => void ((p as { text: unknown }).text = 42) } }),
    );
    await assert.rejects(manager.dispatch(probe, PAYLOAD), (e: unknown) => {
      assert.ok(PluginError.isInstance(e));
      assert.deepEqual([e.failure, e.field], ['invalid', 'text']);
      return true;
    });
  });

  test('readOnly dispatch option refuses every change, with its reason', async () => {
    const { manager } = managerWithEvents();
    manager.register(definePlugin({ name: 'p', hooks: { test_probe: HANDLERS.modify } }));
    await assert.rejects(
      manager.dispatch(probe, PAYLOAD, { readOnly: 'already sent' }),
      /changed read-only field `text` \(already sent\)/,
    );
  });
});

describe('concurrent', () => {
  test('the first block aborts the other handlers and rejects at once', async () => {
    const { manager } = managerWithEvents();
    const gate = deferred();
    let sibling: AbortSignal | undefined;
    manager.register(
      definePlugin({
        name: 'slow',
        mode: 'concurrent',
        timeoutMs: 0,
        hooks: {
          test_probe: (_p, ctx) => {
            sibling = ctx.signal;
            return untilAborted(ctx.signal);
          },
        },
      }),
      definePlugin({
        name: 'blocker',
        mode: 'concurrent',
        hooks: {
          test_probe: async () => {
            await gate.promise;
            return block('stop', 'C_1');
          },
        },
      }),
    );
    const pending = manager.dispatch(probe, PAYLOAD);
    gate.resolve();
    await assert.rejects(
      pending,
      (e: unknown) => PolicyViolationError.isInstance(e) && e.violation.plugin === 'blocker',
    );
    assert.equal(sibling?.aborted, true);
  });

  test('handlers run in parallel: all start before any finishes', async () => {
    const { manager } = managerWithEvents();
    const log: string[] = [];
    const gate = deferred();
    const make = (name: string) =>
      definePlugin({
        name,
        mode: 'concurrent',
        hooks: {
          test_probe: async () => {
            log.push(`${name}:start`);
            await gate.promise;
            log.push(`${name}:end`);
          },
        },
      });
    manager.register(make('a'), make('b'));
    const pending = manager.dispatch(probe, PAYLOAD);
    await new Promise((r) => setImmediate(r));
    gate.resolve();
    await pending;
    assert.deepEqual(log, ['a:start', 'b:start', 'a:end', 'b:end']);
  });
});

describe('fire_and_forget', () => {
  test('returns before the handler finishes; drain() waits for it; the handler saw a snapshot', async () => {
    const { manager } = managerWithEvents();
    const gate = deferred();
    const log: string[] = [];
    manager.register(
      definePlugin({
        name: 'bg',
        mode: 'fire_and_forget',
        hooks: {
          test_probe: async (p, ctx) => {
            await gate.promise;
            p.text = 'ignored';
            log.push(`bg:${ctx.original.text}`);
          },
        },
      }),
      definePlugin({ name: 'edit', hooks: { test_probe: (p) => void (p.text = 'edited') } }),
    );
    const out = await manager.dispatch(probe, PAYLOAD);
    log.push(`dispatched:${out.text}`);
    let drained = false;
    const draining = manager.drain().then(() => void (drained = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, false);
    gate.resolve();
    await draining;
    assert.deepEqual(log, ['dispatched:edited', 'bg:edited']);
  });

  test('the call signal does not abort background handlers', async () => {
    const { manager } = managerWithEvents();
    let aborted: boolean | undefined;
    const gate = deferred();
    manager.register(
      definePlugin({
        name: 'bg',
        mode: 'fire_and_forget',
        hooks: {
          test_probe: async (_p, ctx) => {
            await gate.promise;
            aborted = ctx.signal.aborted;
          },
        },
      }),
    );
    const controller = new AbortController();
    await manager.dispatch(probe, PAYLOAD, { signal: controller.signal });
    controller.abort();
    gate.resolve();
    await manager.drain();
    assert.equal(aborted, false);
  });
});

describe('init and shutdown', () => {
  test('handlers wait for init; shutdown runs on unregister', async () => {
    const { manager } = managerWithEvents();
    const log: string[] = [];
    const gate = deferred();
    manager.register(
      definePlugin({
        name: 'p',
        init: async () => {
          await gate.promise;
          log.push('init');
        },
        shutdown: () => void log.push('shutdown'),
        hooks: { test_probe: () => void log.push('handler') },
      }),
    );
    const pending = manager.dispatch(probe, PAYLOAD);
    await new Promise((r) => setImmediate(r));
    log.push('before init');
    gate.resolve();
    await pending;
    await manager.unregister('p');
    assert.deepEqual(log, ['before init', 'init', 'handler', 'shutdown']);
    assert.deepEqual(manager.plugins, []);
  });

  test('a failed init is a failure under the plugin policy, and ready() rejects with it', async () => {
    const { manager } = managerWithEvents();
    manager.register(
      definePlugin({
        name: 'p',
        init: () => {
          throw new Error('no config');
        },
        hooks: { test_probe: HANDLERS.modify },
      }),
    );
    await assert.rejects(manager.ready(), /no config/);
    await assert.rejects(
      manager.dispatch(probe, PAYLOAD),
      /plugin `p` at hook `test_probe` its init\(\) failed: no config/,
    );
  });
});

describe('plugins', () => {
  test('class plugins register their on_<hook> methods, bound, with init and shutdown', async () => {
    const { manager } = managerWithEvents();
    const log: string[] = [];
    class Tagger {
      readonly name: string = 'tagger';
      readonly priority = 1;
      tag = '#';
      init() {
        log.push('init');
      }
      shutdown() {
        log.push('shutdown');
      }
      on_test_probe: HookHandler<'test_probe'> = (p) => void (p.text += this.tag);
    }
    class Suffix extends Tagger {
      override readonly name = 'suffix';
      override tag = '!';
    }
    manager.register(new Tagger(), new Suffix());
    await manager.ready();
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base#!');
    await manager.shutdown();
    assert.deepEqual(log, ['init', 'init', 'shutdown', 'shutdown']);
  });

  test('prototype methods are found too', async () => {
    const { manager } = managerWithEvents();
    class Upper {
      readonly name = 'upper';
      on_test_probe(p: { text: string }) {
        p.text = p.text.toUpperCase();
      }
    }
    manager.register(new Upper());
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'BASE');
  });

  test('an on_ method naming no hook is rejected with its name', () => {
    const { manager } = managerWithEvents();
    class Typo {
      readonly name = 'typo';
      on_llm_inptu() {}
    }
    assert.throws(() => manager.register(new Typo() as never), /`on_llm_inptu` names no hook `llm_inptu`/);
  });

  test('definePlugin validates its options, naming the field', () => {
    assert.throws(
      () => definePlugin({ name: 'p', mode: 'paralel' as never, hooks: {} }),
      /definePlugin\(`p`\): `mode`/,
    );
    assert.throws(() => definePlugin({ name: 'p', timeoutMs: -1, hooks: {} }), /`timeoutMs`/);
    assert.throws(
      () => definePlugin({ name: 'p', hooks: { nope: () => {} } as never }),
      /`hooks\.nope` names no hook `nope`/,
    );
  });

  test('two plugins with one name are refused', () => {
    const { manager } = managerWithEvents();
    const p = definePlugin({ name: 'p', hooks: { test_probe: HANDLERS.continue } });
    manager.register(p);
    assert.throws(() => manager.register(withSettings(p, { priority: 1 })), /a plugin named `p` is already registered/);
    manager.register(withSettings(p, { name: 'p2' }));
    assert.deepEqual(manager.plugins, ['p', 'p2']);
  });
});

describe('conditions', () => {
  const CASES: [string, object, Record<string, unknown>, boolean][] = [
    ['model glob matches', { models: ['gpt-5*'] }, { model: 'gpt-5-mini' }, true],
    ['model glob misses', { models: ['gpt-5*'] }, { model: 'claude-haiku' }, false],
    ['model regexp', { models: [/haiku/] }, { model: 'claude-haiku' }, true],
    ['tool name', { tools: ['search'] }, { toolName: 'search' }, true],
    ['other tool', { tools: ['search'] }, { toolName: 'shell' }, false],
    ['no tool on this hook: the tool condition is ignored', { tools: ['search'] }, {}, true],
    ['metadata tenant', { metadata: { tenant: 'acme' } }, { metadata: { tenant: 'acme', user: 'u' } }, true],
    ['metadata other tenant', { metadata: { tenant: 'acme' } }, { metadata: { tenant: 'globex' } }, false],
    ['metadata one of', { metadata: { user: ['a', 'b'] } }, { metadata: { user: 'b' } }, true],
    ['predicate', { test: (s: { model?: string }) => s.model === 'x' }, { model: 'x' }, true],
  ];
  for (const [name, when, fields, runs] of CASES) {
    test(name, async () => {
      const { manager } = managerWithEvents();
      manager.register(definePlugin({ name: 'p', when: when as never, hooks: { test_probe: HANDLERS.modify } }));
      const out = await manager.dispatch(probe, { ...PAYLOAD, ...fields });
      assert.equal(out.text, runs ? 'changed' : 'base');
    });
  }

  test('a predicate `when` receives the hook name', async () => {
    const { manager } = managerWithEvents();
    const hooks: string[] = [];
    manager.register(
      definePlugin({
        name: 'p',
        when: (s) => {
          hooks.push(s.hook);
          return false;
        },
        hooks: { test_probe: HANDLERS.modify },
      }),
    );
    assert.equal((await manager.dispatch(probe, PAYLOAD)).text, 'base');
    assert.deepEqual(hooks, ['test_probe']);
  });
});

test('wants() is false for a hook nobody handles, so callers build no payload', () => {
  const { manager } = managerWithEvents();
  assert.equal(manager.wants('test_probe'), false);
  manager.register(definePlugin({ name: 'p', hooks: { test_probe: HANDLERS.continue } }));
  assert.equal(manager.wants('test_probe'), true);
  assert.equal(manager.wants('llm_input'), false);
});
