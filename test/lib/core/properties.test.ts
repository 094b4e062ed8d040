// Property tests (fast-check, 1000 runs each): chained updates equal hand-applied transforms, and
// incremental validation agrees with a full check.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  InvalidRequestError,
  type Message,
  type ModelRequest,
  type ReadonlyModelRequest,
  type RequestRecipe,
  defineMiddleware,
  pipeline,
} from 'modelware';
import { scriptedExecutor } from 'modelware/testing';
import { findRequestProblem, findUpdateProblem } from '../../../lib/core/validate.js';

const RUNS = { numRuns: 1000 } as const;

// ---- (a) chaining ----

type Transform =
  | { readonly kind: 'append'; readonly text: string }
  | { readonly kind: 'replaceText'; readonly index: number; readonly text: string }
  | { readonly kind: 'model'; readonly model: string }
  | { readonly kind: 'option'; readonly temperature: number };

const transformArb: fc.Arbitrary<Transform> = fc.oneof(
  fc.record({ kind: fc.constant('append' as const), text: fc.string() }),
  fc.record({ kind: fc.constant('replaceText' as const), index: fc.nat(), text: fc.string() }),
  fc.record({ kind: fc.constant('model' as const), model: fc.string({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('option' as const), temperature: fc.integer({ min: 0, max: 20 }).map((t) => t / 10) }),
);

type PlainRequest = {
  model: string;
  messages: { role: 'user' | 'system'; content: string }[];
  options?: { temperature?: number };
};

const startArb: fc.Arbitrary<PlainRequest> = fc
  .record({
    model: fc.string({ minLength: 1, maxLength: 8 }),
    messages: fc.array(
      fc.record({ role: fc.constantFrom('user' as const, 'system' as const), content: fc.string({ maxLength: 10 }) }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  // Plain objects, like a caller's (fast-check's records have a null prototype).
  .map((request) => structuredClone(request));

/** The transform written by hand, immutably. */
function applyByHand(request: PlainRequest, t: Transform): PlainRequest {
  switch (t.kind) {
    case 'append':
      return { ...request, messages: [...request.messages, { role: 'user', content: t.text }] };
    case 'replaceText': {
      const i = t.index % request.messages.length;
      const messages = request.messages.slice();
      messages[i] = { ...(messages[i] as PlainRequest['messages'][number]), content: t.text };
      return { ...request, messages };
    }
    case 'model':
      return { ...request, model: t.model };
    case 'option':
      return { ...request, options: { ...request.options, temperature: t.temperature } };
  }
}

/** The same transform as an Immer recipe. */
function recipeFor(t: Transform): RequestRecipe {
  return (draft) => {
    switch (t.kind) {
      case 'append':
        draft.messages.push({ role: 'user', content: t.text });
        return;
      case 'replaceText':
        (draft.messages[t.index % draft.messages.length] as { content: string }).content = t.text;
        return;
      case 'model':
        draft.model = t.model;
        return;
      case 'option':
        draft.options = { ...draft.options, temperature: t.temperature };
        return;
    }
  };
}

describe('property: chained updates', () => {
  test('N layers of random transforms equal the transforms applied in sequence by hand', async () => {
    await fc.assert(
      fc.asyncProperty(startArb, fc.array(transformArb, { maxLength: 8 }), async (start, transforms) => {
        const seen: ReadonlyModelRequest[] = [];
        const model = scriptedExecutor(['ok']);
        const app = pipeline(model).use(
          ...transforms.map((t, i) =>
            defineMiddleware({
              name: `t${i}`,
              call(ctx, next) {
                seen.push(ctx.request);
                ctx.update(recipeFor(t));
                return next();
              },
            }),
          ),
        );
        const expected: PlainRequest[] = [start];
        for (const t of transforms) expected.push(applyByHand(expected.at(-1) as PlainRequest, t));
        await app.generate(start);
        assert.deepEqual(seen, expected.slice(0, transforms.length));
        assert.deepEqual(model.calls[0]?.request, expected.at(-1));
      }),
      RUNS,
    );
  });
});

// ---- (b) incremental validation agrees with the full check ----

// Tiny alphabets with ':' so that tool-call ids and names collide in interesting ways.
const idArb = fc.constantFrom('a', 'b', 'a:b', 'b:a');
const nameArb = idArb;

interface Call {
  readonly id: string;
  readonly name: string;
}

function assistant(calls: readonly Call[], text = ''): Message {
  if (calls.length === 0) return { role: 'assistant', content: text || 'answer' };
  return {
    role: 'assistant',
    content: calls.map((c) => ({ type: 'tool-call' as const, toolCallId: c.id, toolName: c.name, input: {} })),
  };
}

function toolResult(call: Call): Message {
  return { role: 'tool', toolCallId: call.id, toolName: call.name, content: 'result' };
}

const callsArb = fc.array(fc.record({ id: idArb, name: nameArb }), { maxLength: 3 });

/** A valid transcript: turns of user → assistant (maybe with calls) → results right after, each id answered once. */
const transcriptArb: fc.Arbitrary<Message[]> = fc
  .array(fc.tuple(fc.string({ maxLength: 4 }), callsArb, fc.array(fc.boolean(), { minLength: 3, maxLength: 3 })), {
    minLength: 1,
    maxLength: 5,
  })
  .map((turns) => {
    const messages: Message[] = [{ role: 'system', content: 'sys' }];
    const answered = new Set<string>();
    for (const [question, calls, answer] of turns) {
      messages.push({ role: 'user', content: question });
      messages.push(assistant(calls));
      // The pairing map keeps the last call of an id, so answer each id by its last call in this message.
      const last = new Map(calls.map((c) => [c.id, c]));
      [...last.values()].forEach((call, i) => {
        if (answer[i] && !answered.has(call.id)) {
          answered.add(call.id);
          messages.push(toolResult(call));
        }
      });
    }
    return messages;
  });

const validMessageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.string({ maxLength: 4 }).map((content): Message => ({ role: 'user', content })),
  fc.string({ maxLength: 4 }).map((content): Message => ({ role: 'system', content })),
  callsArb.map((calls) => assistant(calls)),
  fc.record({ id: idArb, name: nameArb }).map(toolResult),
);

const invalidMessageArb: fc.Arbitrary<unknown> = fc.constantFrom(
  { role: 'robot', content: 'x' },
  { role: 'user', content: 42 },
  { role: 'tool', toolCallId: '', toolName: 't', content: 'x' },
  { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'a', input: {} }] },
  { role: 'user', content: [{ type: 'image' }] },
  null,
);

type Edit =
  | { readonly kind: 'replace' | 'insert'; readonly index: number; readonly message: unknown }
  | { readonly kind: 'delete'; readonly index: number }
  | { readonly kind: 'model'; readonly model: string };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), index: fc.nat(), message: validMessageArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), index: fc.nat(), message: invalidMessageArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('insert' as const), index: fc.nat(), message: validMessageArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('insert' as const), index: fc.nat(), message: invalidMessageArb }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), index: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('model' as const), model: fc.constantFrom('', 'other') }) },
);

/** The edit applied with structural sharing, as Immer would: untouched messages keep their identity. */
function applyEdit(request: ModelRequest, edit: Edit): ModelRequest {
  if (edit.kind === 'model') return { ...request, model: edit.model };
  const messages = request.messages.slice();
  const i = edit.index % (messages.length + (edit.kind === 'insert' ? 1 : 0));
  if (edit.kind === 'replace') messages[i] = edit.message as Message;
  else if (edit.kind === 'insert') messages.splice(i, 0, edit.message as Message);
  else messages.splice(i, 1);
  return { ...request, messages };
}

const isValidFully = (request: ModelRequest) => findRequestProblem(structuredClone(request)) === undefined;

describe('property: incremental validation', () => {
  test('the generated transcripts are valid', () => {
    fc.assert(
      fc.property(transcriptArb, (messages) => isValidFully({ model: 'm', messages })),
      RUNS,
    );
  });

  test('findUpdateProblem agrees with a full check of a fresh copy on valid vs invalid', () => {
    fc.assert(
      fc.property(transcriptArb, editArb, (messages, edit) => {
        const before: ModelRequest = { model: 'm', messages };
        const after = applyEdit(before, edit);
        const incremental = findUpdateProblem(before, after) === undefined;
        assert.equal(incremental, isValidFully(after));
      }),
      RUNS,
    );
  });

  test('ctx.update accepts exactly the edits that a full check accepts', async () => {
    await fc.assert(
      fc.asyncProperty(transcriptArb, editArb, async (messages, edit) => {
        const before: ModelRequest = { model: 'm', messages };
        const model = scriptedExecutor(['ok']);
        const app = pipeline(model).use(
          defineMiddleware({
            name: 'edit',
            call(ctx, next) {
              ctx.update((draft) => {
                if (edit.kind === 'model') draft.model = edit.model;
                else if (edit.kind === 'replace')
                  draft.messages[edit.index % draft.messages.length] = edit.message as never;
                else if (edit.kind === 'insert') {
                  draft.messages.splice(edit.index % (draft.messages.length + 1), 0, edit.message as never);
                } else draft.messages.splice(edit.index % draft.messages.length, 1);
              });
              return next();
            },
          }),
        );
        const accepted = await app.generate(before).then(
          () => true,
          (error: unknown) => {
            if (InvalidRequestError.isInstance(error) && error.layer === 'edit') return false;
            throw error;
          },
        );
        assert.equal(accepted, isValidFully(applyEdit(before, edit)));
      }),
      RUNS,
    );
  });
});
