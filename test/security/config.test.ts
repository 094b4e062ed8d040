// Issue 9, items 10 and 12: plugin config errors never echo the file's values, and the parser's own
// limits (an alias bomb, a legitimate file past the alias limit) surface as PluginConfigError
// naming the file, never as a raw ReferenceError.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { PluginConfigError, type PluginFactories, definePlugin, parsePluginConfig, pluginFactory } from 'modelware';

const CANARY = 'sk-CANARY-7f3a9';
const FACTORIES: PluginFactories = {
  tag: pluginFactory(z.strictObject({ tag: z.string().max(3) }), ({ tag }) => definePlugin({ name: tag, hooks: {} })),
};

async function configError(text: string, format: 'json' | 'yaml'): Promise<PluginConfigError> {
  try {
    await parsePluginConfig(text, { file: `plugins.${format}`, format, factories: FACTORIES });
  } catch (error) {
    assert.ok(PluginConfigError.isInstance(error), `expected PluginConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('the config was accepted');
}

describe('config errors name the file, the line and the field, never the value', () => {
  const CASES: [string, 'json' | 'yaml', string][] = [
    ['a bad mode', 'yaml', `plugins:\n  - plugin: tag\n    mode: ${CANARY}\n    options: { tag: a }\n`],
    ['a bad priority', 'yaml', `plugins:\n  - plugin: tag\n    priority: ${CANARY}\n`],
    ['an unknown plugin', 'yaml', `plugins:\n  - plugin: ${CANARY}\n`],
    ['a factory option out of range', 'yaml', `plugins:\n  - plugin: tag\n    options: { tag: ${CANARY} }\n`],
    ['a bad `when`', 'yaml', `plugins:\n  - plugin: tag\n    when: { models: ${CANARY} }\n`],
    ['a YAML syntax error', 'yaml', `plugins: [{ plugin: tag, options: { tag: "${CANARY}" }`],
    ['a bad mode in JSON', 'json', JSON.stringify({ plugins: [{ plugin: 'tag', mode: CANARY }] })],
    ['a JSON syntax error before the canary', 'json', `{"plugins": [x, "${CANARY}"]}`],
    ['a JSON syntax error after it', 'json', `{"plugins": ["${CANARY}",,]}`],
    ['an unterminated JSON string', 'json', `{"plugins": ["${CANARY}`],
    ['text after the JSON value', 'json', `{"plugins": []} ${CANARY}`],
  ];
  for (const [label, format, text] of CASES) {
    test(label, async () => {
      const error = await configError(text, format);
      assert.ok(error.message.startsWith(`plugins.${format}`), error.message);
      assert.ok(!error.message.includes('CANARY'), error.message);
      assert.ok(!String(error.stack).includes('CANARY'), 'the stack repeats the message');
    });
  }

  test('a JSON syntax error names the line', async () => {
    const error = await configError('{\n  "plugins": [\n    1,,\n  ]\n}', 'json');
    assert.equal(error.line, 3);
    assert.match(error.message, /^plugins\.json:3: invalid JSON: /);
  });
});

describe('the YAML parser limits are config errors', () => {
  test('an alias bomb is a PluginConfigError naming the file and the limit', async () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
      'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
      'plugins: []',
    ].join('\n');
    const error = await configError(bomb, 'yaml');
    assert.equal(error.file, 'plugins.yaml');
    assert.match(error.message, /^plugins\.yaml: invalid YAML: its aliases .* expand to more than 50 times/);
    assert.ok(error.cause instanceof ReferenceError);
  });

  test('a legitimate file past the alias limit gets the same error, with how to fix it', async () => {
    const entries = Array.from({ length: 60 }, () => '  - { plugin: tag, options: *opts }');
    const error = await configError(['defaults: &opts { tag: a }', 'plugins:', ...entries].join('\n'), 'yaml');
    assert.match(error.message, /Repeat the values instead of aliasing them, or split the file\.$/);
  });

  test('nesting past the parser stack is a PluginConfigError with its line', async () => {
    const deep = `plugins:\n  - ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    const error = await configError(deep, 'yaml');
    assert.equal(error.line, 2);
    assert.match(error.message, /^plugins\.yaml:2: invalid YAML: /);
  });
});
