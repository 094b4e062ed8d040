import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError, InvalidResponseError, type Message, type ModelRequest, pipeline } from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import {
  checkToolPairing,
  findRequestProblem,
  findUpdateProblem,
  formatPath,
  requestError,
  validateResponse,
} from '../../../lib/core/validate.js';
import { BASE_REQUEST } from '../../fixtures/core.js';

const call = (id: string, name: string): Message => ({
  role: 'assistant',
  content: [{ type: 'tool-call', toolCallId: id, toolName: name, input: {} }],
});
const result = (id: string, name: string): Message => ({ role: 'tool', toolCallId: id, toolName: name, content: 'r' });
const request = (...messages: Message[]): ModelRequest => ({ model: 'm', messages });

describe('findRequestProblem', () => {
  const valid: readonly [string, unknown][] = [
    ['the base request', BASE_REQUEST],
    ['an empty transcript', { model: 'm', messages: [] }],
    ['a tool call and its result', request(call('c1', 't'), result('c1', 't'))],
    [
      'text, image, reasoning and tool-call parts',
      request(
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'image', image: 'data:x' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'reasoning', text: 'r', signature: 's' },
            { type: 'text', text: 'a' },
          ],
        },
      ),
    ],
    [
      'provider fields under their provider key of options',
      {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        options: {
          openai: { service_tier: 'flex' },
          anthropic: { service_tier: 'auto' },
          providerOptions: { openai: { user: 'u' } },
        },
      },
    ],
    [
      'tools, options and metadata',
      {
        ...BASE_REQUEST,
        tools: [{ name: 't', inputSchema: {} }],
        options: { temperature: 1, toolChoice: 'auto' },
        metadata: { a: 1 },
      },
    ],
  ];
  for (const [label, value] of valid) {
    test(`accepts ${label}`, () => {
      assert.equal(findRequestProblem(value as ModelRequest), undefined);
    });
  }

  const invalid: readonly [string, unknown, readonly PropertyKey[]][] = [
    ['null', null, []],
    ['an array', [], []],
    ['a missing model', { messages: [] }, ['model']],
    ['a non-array messages', { model: 'm', messages: {} }, ['messages']],
    ['an unknown role', { model: 'm', messages: [{ role: 'robot', content: 'x' }] }, ['messages', 0, 'role']],
    [
      'a tool name with spaces',
      { model: 'm', messages: [], tools: [{ name: 'a b', inputSchema: {} }] },
      ['tools', 0, 'name'],
    ],
    ['a bad toolChoice', { model: 'm', messages: [], options: { toolChoice: 'sometimes' } }, ['options', 'toolChoice']],
    ['metadata that is an array', { model: 'm', messages: [], metadata: [] }, ['metadata']],
    ['an unknown request key', { model: 'm', messages: [], modle: 'x' }, []],
    [
      'an unknown message key',
      { model: 'm', messages: [{ role: 'user', contnet: 'x', content: 'y' }] },
      ['messages', 0],
    ],
    [
      'an unknown tool-result key',
      request(call('c1', 't'), { ...result('c1', 't'), extra: 1 } as unknown as Message),
      ['messages', 1],
    ],
    [
      'an unknown part key',
      { model: 'm', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'a', cache: true }] }] },
      ['messages', 0, 'content', 0],
    ],
    ['an unknown option', { model: 'm', messages: [], options: { maxTokens: 50 } }, ['options']],
    [
      'an unknown tool spec key',
      { model: 'm', messages: [], tools: [{ name: 't', inputSchema: {}, strict: true }] },
      ['tools', 0],
    ],
    ['a result without a call', request(result('c1', 't')), ['messages', 0, 'toolCallId']],
    ['a result before its call', request(result('c1', 't'), call('c1', 't')), ['messages', 0, 'toolCallId']],
    ['a result naming another tool', request(call('c1', 't'), result('c1', 'u')), ['messages', 1, 'toolName']],
    [
      'a call answered twice',
      request(call('c1', 't'), result('c1', 't'), result('c1', 't')),
      ['messages', 2, 'toolCallId'],
    ],
  ];
  for (const [label, value, path] of invalid) {
    test(`rejects ${label} at ${formatPath(path)}`, () => {
      const problem = findRequestProblem(value as ModelRequest);
      assert.deepEqual(problem?.path, path);
      assert.ok((problem?.issues.length ?? 0) > 0);
    });
  }
});

describe('checkToolPairing', () => {
  test('a later call with the same id decides the expected tool name', () => {
    const problem = checkToolPairing([call('c1', 't'), call('c1', 'u'), result('c1', 'u')]);
    assert.equal(problem, undefined);
  });

  test('the issue message names the id', () => {
    const problem = checkToolPairing([result('orphan', 't')]);
    assert.match(problem?.issues[0]?.message ?? '', /`orphan` has no matching tool call/);
  });
});

describe('findUpdateProblem', () => {
  test('the same object is not checked at all', () => {
    const broken = { model: '', messages: 'x' } as unknown as ModelRequest;
    assert.equal(findUpdateProblem(broken, broken), undefined);
  });

  test('only changed parts are checked: an unchanged message keeps its identity and is skipped', () => {
    // `before` is trusted: it was validated when it was created. Its bad message is not re-checked.
    const bad = { role: 'robot', content: 'x' } as unknown as Message;
    const before = request(bad);
    const after = { ...before, model: 'other' };
    assert.equal(findUpdateProblem(before, after), undefined);
  });

  test('a changed message is checked', () => {
    const before = request({ role: 'user', content: 'a' });
    const after = request({ role: 'robot', content: 'x' } as unknown as Message);
    assert.deepEqual(findUpdateProblem(before, after)?.path, ['messages', 0, 'role']);
  });

  const notObjects: readonly [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a string', 'hello'],
  ];
  for (const [label, value] of notObjects) {
    test(`${label} in place of a message is reported as a problem, not a crash`, () => {
      const before = request({ role: 'user', content: 'a' }, { role: 'user', content: 'b' });
      const replaced = { ...before, messages: [before.messages[0], value] as Message[] };
      const inserted = { ...before, messages: [value, ...before.messages] as Message[] };
      assert.deepEqual(findUpdateProblem(before, replaced)?.path.slice(0, 2), ['messages', 1]);
      assert.deepEqual(findUpdateProblem(before, inserted)?.path.slice(0, 2), ['messages', 0]);
      assert.deepEqual(findRequestProblem(inserted)?.path.slice(0, 2), ['messages', 0]);
    });
  }

  test('a changed model is checked', () => {
    assert.deepEqual(findUpdateProblem(BASE_REQUEST, { ...BASE_REQUEST, model: '' })?.path, ['model']);
  });

  test('an unchanged invalid model is not re-checked', () => {
    const before = { ...BASE_REQUEST, model: '' };
    assert.equal(findUpdateProblem(before, { ...before, messages: [...before.messages] }), undefined);
  });

  test('redacting the text of a tool result keeps pairing valid', () => {
    const before = request(call('c1', 't'), result('c1', 't'));
    const after = request(before.messages[0] as Message, { ...(before.messages[1] as Message), content: '[redacted]' });
    assert.equal(findUpdateProblem(before, after), undefined);
  });

  // Ids and names may contain ':'; a signature made by joining them with ':' made these collide,
  // so the pairing pass was skipped and the broken pairing went through.
  test('a tool result whose id and name move across a ":" is re-paired (a + b:a vs a:b + a)', () => {
    const before = request(call('a', 'b:a'), result('a', 'b:a'));
    const after = request(before.messages[0] as Message, result('a:b', 'a'));
    assert.deepEqual(findRequestProblem(structuredClone(after))?.path, ['messages', 1, 'toolCallId']);
    assert.deepEqual(findUpdateProblem(before, after)?.path, ['messages', 1, 'toolCallId']);
  });

  test('a tool call whose id and name move across a ":" is re-paired', () => {
    const before = request(call('a', 'b:a'), result('a', 'b:a'));
    const after = request(call('a:b', 'a'), before.messages[1] as Message);
    assert.deepEqual(findUpdateProblem(before, after)?.path, ['messages', 1, 'toolCallId']);
  });

  test('two calls do not read as one call with a joined name', () => {
    const twoCalls: Message = {
      role: 'assistant',
      content: [
        { type: 'tool-call', toolCallId: 'a', toolName: 'b', input: {} },
        { type: 'tool-call', toolCallId: 'c', toolName: 'd', input: {} },
      ],
    };
    const before = request(twoCalls, result('c', 'd'));
    const after = request(call('a', 'b:c:d'), before.messages[1] as Message);
    assert.deepEqual(findUpdateProblem(before, after)?.path, ['messages', 1, 'toolCallId']);
  });
});

describe('errors from validation', () => {
  test('requestError for the caller says to fix the request', () => {
    const problem = findRequestProblem({ model: '', messages: [] }) as NonNullable<
      ReturnType<typeof findRequestProblem>
    >;
    const error = requestError(problem, 'caller');
    assert.ok(error instanceof InvalidRequestError);
    assert.equal(error.layer, 'caller');
    assert.match(
      error.message,
      /^Invalid request: model: .*Fix the request before calling generate\(\) or stream\(\)\.$/,
    );
  });

  test('requestError for a layer names it and says the request was kept', () => {
    const problem = findRequestProblem(request(result('x', 't'))) as NonNullable<ReturnType<typeof findRequestProblem>>;
    const error = requestError(problem, 'compactor');
    assert.equal(
      error.message,
      '`compactor` produced an invalid request: messages[0].toolCallId: tool result `x` has no matching tool call in an earlier assistant message. The request was left as it was before this update.',
    );
  });

  test('several zod issues are counted in the message', () => {
    const problem = findRequestProblem({ model: 'm', messages: [{ role: 'user' }] } as unknown as ModelRequest);
    assert.ok(problem);
    const error = requestError(problem, 'l');
    assert.equal(error.issues.length >= 1, true);
    assert.match(error.message, /messages\[0\]/);
  });

  test('validateResponse accepts a valid response and names the source of an invalid one', () => {
    validateResponse({ message: { role: 'assistant', content: 'x' }, finishReason: 'stop' }, 'provider');
    assert.throws(
      () => validateResponse({ message: { role: 'assistant', content: 'x' } }, 'provider'),
      (error: unknown) => {
        assert.ok(InvalidResponseError.isInstance(error));
        assert.equal(error.source, 'provider');
        assert.deepEqual(error.path, ['finishReason']);
        assert.match(error.message, /^`provider` returned an invalid response: finishReason: /);
        return true;
      },
    );
  });

  const paths: readonly [readonly PropertyKey[], string][] = [
    [[], '(root)'],
    [['model'], 'model'],
    [['messages', 3, 'toolCallId'], 'messages[3].toolCallId'],
    [['options', 'toolChoice', 'type'], 'options.toolChoice.type'],
  ];
  for (const [path, shown] of paths) {
    test(`formatPath(${JSON.stringify(path)}) is ${shown}`, () => {
      assert.equal(formatPath(path), shown);
    });
  }
});

describe('the validation cache and callers who edit messages in place', () => {
  test('a message edited in place between calls is checked again', async () => {
    const model = scriptedExecutor(['ok'], { whenDone: 'repeat-last' });
    const app = pipeline(model);
    const message: { role: string; content: unknown } = { role: 'user', content: 'hi' };
    const request = { model: 'm', messages: [message] } as unknown as ModelRequest;
    await app.generate(request);
    message.role = 'bogus';
    await assert.rejects(
      app.generate(request),
      (e: unknown) => InvalidRequestError.isInstance(e) && e.layer === 'caller',
    );
    message.role = 'user';
    message.content = 42;
    await assert.rejects(app.generate(request), (e: unknown) => InvalidRequestError.isInstance(e));
    assert.equal(model.calls.length, 1);
  });
});
