import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  PluginConfigError,
  type PluginFactories,
  definePlugin,
  loadPluginConfig,
  parsePluginConfig,
  pluginFactory,
} from 'modelware';
import { PAYLOAD, managerWithEvents, probe } from '../../fixtures/plugins.js';

const DIR = fileURLToPath(new URL('../../fixtures/plugin-config/', import.meta.url));
const file = (name: string) => join(DIR, name);

const created: string[] = [];
const FACTORIES: PluginFactories = {
  tag: pluginFactory(z.strictObject({ tag: z.string() }), ({ tag }) => {
    created.push(tag);
    return definePlugin({ name: `tag-${tag}`, hooks: { test_probe: (p) => void (p.text += `+${tag}`) } });
  }),
};

describe('loading', () => {
  test('a YAML file builds a plugin set with every setting, nested sets and conditions', async () => {
    const set = await loadPluginConfig(file('valid.yaml'), FACTORIES);
    assert.equal(set.name, 'production');
    const { manager } = managerWithEvents();
    manager.register(set);
    assert.deepEqual(manager.plugins, ['first', 'acme-only', 'audit']);
    assert.equal((await manager.dispatch(probe, { ...PAYLOAD, metadata: { tenant: 'acme' } })).text, 'base+one+acme');
    assert.equal((await manager.dispatch(probe, { ...PAYLOAD, metadata: { tenant: 'globex' } })).text, 'base+one');
    const audit = set.plugins.flatMap((p) => ('plugins' in p ? p.plugins : [p])).find((p) => p.name === 'audit');
    assert.ok(audit && !('plugins' in audit));
    assert.deepEqual(
      [audit.mode, audit.timeoutMs, audit.onError, audit.breaker],
      ['audit', 250, 'ignore', { failures: 3, windowMs: 1000, cooldownMs: 500 }],
    );
  });

  test('a JSON file works the same, with model conditions', async () => {
    const { manager } = managerWithEvents();
    manager.register(await loadPluginConfig(file('valid.json'), FACTORIES));
    assert.deepEqual(manager.plugins, ['b', 'a']);
    assert.equal((await manager.dispatch(probe, { ...PAYLOAD, model: 'gpt-5' })).text, 'base+b+a');
    assert.equal((await manager.dispatch(probe, { ...PAYLOAD, model: 'claude' })).text, 'base+a');
  });

  test('parsePluginConfig takes text and a format', async () => {
    const set = await parsePluginConfig('plugins: []', { file: 'inline', format: 'yaml', factories: FACTORIES });
    assert.deepEqual(set.plugins, []);
  });
});

describe('errors name the file and the path', () => {
  const CASES: [string, RegExp, readonly PropertyKey[], number | undefined][] = [
    ['bad-syntax.yaml', /bad-syntax\.yaml:4: invalid YAML: Flow sequence/, [], 4],
    [
      'unknown-plugin.yaml',
      /unknown-plugin\.yaml:4: plugins\[1\]\.plugin: no plugin factory has this name\. Registered: tag\./,
      ['plugins', 1, 'plugin'],
      4,
    ],
    [
      'bad-mode.yaml',
      /bad-mode\.yaml:8: plugins\[0\]\.plugins\[1\]\.mode: .*expected one of .*\(got a string\)\.$/,
      ['plugins', 0, 'plugins', 1, 'mode'],
      8,
    ],
    [
      'bad-type.json',
      /bad-type\.json: plugins\[0\]\.priority: .*expected number, received string\.$/,
      ['plugins', 0, 'priority'],
      undefined,
    ],
    [
      'bad-options.yaml',
      /bad-options\.yaml:4: plugins\[0\]\.options\.tag: .*expected string, received number\.$/,
      ['plugins', 0, 'options', 'tag'],
      4,
    ],
    ['typo.yaml', /typo\.yaml:2: plugins\[0\]: Unrecognized key: "priorty"/, ['plugins', 0], 2],
    ['missing.yaml', /missing\.yaml: cannot read the file/, [], undefined],
  ];
  for (const [name, message, path, line] of CASES) {
    test(name, async () => {
      await assert.rejects(loadPluginConfig(file(name), FACTORIES), (e: unknown) => {
        assert.ok(PluginConfigError.isInstance(e), String(e));
        assert.match(e.message, message);
        assert.equal(e.file, file(name));
        assert.deepEqual(e.path, path);
        assert.equal(e.line, line);
        return true;
      });
    });
  }

  test('an unknown extension is refused', async () => {
    await assert.rejects(
      loadPluginConfig(file('valid.toml'), FACTORIES),
      /unknown config format; use a \.json, \.yaml or \.yml file/,
    );
  });
});

test('loading never evaluates code: a YAML tag is refused and the factory never runs', async () => {
  created.length = 0;
  await assert.rejects(loadPluginConfig(file('code.yaml'), FACTORIES), (e: unknown) => {
    assert.ok(PluginConfigError.isInstance(e));
    assert.match(e.message, /code\.yaml:4: invalid YAML: Unresolved tag/);
    return true;
  });
  assert.equal((globalThis as { pwned?: unknown }).pwned, undefined);
  assert.deepEqual(created, []);
});

test('a factory that throws is reported at its entry', async () => {
  const factories: PluginFactories = {
    tag: {
      create: () => {
        throw new Error('needs an API key');
      },
    },
  };
  await assert.rejects(
    parsePluginConfig('{"plugins":[{"plugin":"tag"}]}', { file: 'x.json', factories }),
    /x\.json: plugins\[0\]: plugin `tag` could not be built: needs an API key/,
  );
});
