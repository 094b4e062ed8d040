import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecordingFormatError, ReplayError, parseRecording, pipeline } from 'modelware';
import { memorySink, recorder } from 'modelware/middleware';
import { assertLayerChanges, layerChanges, replayExecutor, scriptedExecutor } from 'modelware/testing';
import { agentLoopModel, runAgentLoop } from '../../fixtures/agent-loop-recording.js';

async function recordAgentLoop() {
  const sink = memorySink();
  const result = await runAgentLoop(agentLoopModel(), sink);
  return { sink, result };
}

const EXPECTED_CHANGES = [
  '#3 compactToolResults request: text_replaced [3] tool 1457→56',
  '#4 compactToolResults request: text_replaced [3] tool 1457→56',
  '#4 compactToolResults request: text_replaced [5] tool 1457→56',
  '#4 tokenBudget request: message_removed [2] assistant(18)',
  '#4 tokenBudget request: message_removed [3] tool(56)',
];

describe('replayExecutor', () => {
  test('record → replay gives an identical transcript, offline (the agent-loop example, with a retried error)', async () => {
    const { sink, result } = await recordAgentLoop();
    const replay = replayExecutor(sink.toNDJSON());
    assert.equal(replay.total, 5, 'four answers and one failed attempt');
    const again = await runAgentLoop(replay);
    assert.deepEqual(again.transcript, result.transcript);
    assert.deepEqual(again.usage, result.usage);
    assert.equal(again.stopReason, result.stopReason);
    assert.equal(replay.calls, 5);
  });

  test('the replayed run records the same layer changes', async () => {
    const { sink } = await recordAgentLoop();
    const second = memorySink();
    await runAgentLoop(replayExecutor(sink.records), second);
    assert.deepEqual(layerChanges(second), layerChanges(sink));
  });

  test('a divergence names the call, the first differing message by index and role, and the field, never content', async () => {
    const { sink } = await recordAgentLoop();
    const app = pipeline(replayExecutor(sink));
    const changed = 'How does a pipeline work?';
    await assert.rejects(
      app.generate({
        model: 'demo-model',
        messages: [
          { role: 'system', content: 'Answer from the notes.' },
          { role: 'user', content: changed },
        ],
        tools: [],
      }),
      (e: unknown) =>
        ReplayError.isInstance(e) &&
        e.code === 'REPLAY_DIVERGED' &&
        e.call === 0 &&
        e.index === 1 &&
        e.role === 'user' &&
        e.field === 'content' &&
        /call #0 diverged from the recording: message 1 \(user\) differs in `content`/.test(e.message) &&
        !e.message.includes(changed),
    );
  });

  test('an extra message, and options that differ, are named too', async () => {
    const sink = memorySink();
    const REQUEST = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], options: { temperature: 0 } };
    await pipeline(scriptedExecutor(['a', 'b']))
      .use(recorder({ sink, captureContent: true }))
      .generate(REQUEST);
    await assert.rejects(
      pipeline(replayExecutor(sink)).generate({
        ...REQUEST,
        messages: [...REQUEST.messages, { role: 'user', content: 'x' }],
      }),
      (e: unknown) => ReplayError.isInstance(e) && e.field === 'messages.length' && e.index === 1 && e.role === 'user',
    );
    await assert.rejects(
      pipeline(replayExecutor(sink)).generate({ ...REQUEST, options: { temperature: 1 } }),
      (e: unknown) => ReplayError.isInstance(e) && e.field === 'options' && e.index === undefined,
    );
  });

  test('more calls than recorded: REPLAY_EXHAUSTED; recorded without content: REPLAY_NO_RESPONSE', async () => {
    const REQUEST = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
    const withContent = memorySink();
    await pipeline(scriptedExecutor(['a']))
      .use(recorder({ sink: withContent, captureContent: true }))
      .generate(REQUEST);
    const replay = pipeline(replayExecutor(withContent));
    assert.equal((await replay.generate(REQUEST)).message.content, 'a');
    await assert.rejects(
      replay.generate(REQUEST),
      (e: unknown) => ReplayError.isInstance(e) && e.code === 'REPLAY_EXHAUSTED',
    );
    const without = memorySink();
    await pipeline(scriptedExecutor(['a']))
      .use(recorder({ sink: without }))
      .generate(REQUEST);
    await assert.rejects(
      pipeline(replayExecutor(without)).generate(REQUEST),
      (e: unknown) =>
        ReplayError.isInstance(e) && e.code === 'REPLAY_NO_RESPONSE' && /captureContent: true/.test(e.message),
    );
  });

  test('streams replay the recorded parts', async () => {
    const REQUEST = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };
    const sink = memorySink();
    await pipeline(scriptedExecutor(['streamed answer']))
      .use(recorder({ sink, captureContent: true }))
      .stream(REQUEST).response;
    const replayed = await pipeline(replayExecutor(sink)).stream(REQUEST).response;
    assert.equal(replayed.message.content, 'streamed answer');
  });

  test('a corrupt recording is refused with the bad line numbers', async () => {
    const { sink } = await recordAgentLoop();
    const lines = sink.toNDJSON().split('\n');
    lines[3] = (lines[3] as string).slice(0, 20);
    assert.throws(
      () => replayExecutor(lines.join('\n')),
      (e: unknown) => RecordingFormatError.isInstance(e) && e.code === 'RECORDING_CORRUPT' && /line 4/.test(e.message),
    );
  });
});

describe('layerChanges / assertLayerChanges', () => {
  test('one line per change, per call, naming the layer: a snapshot of what each layer did', async () => {
    const { sink } = await recordAgentLoop();
    assert.deepEqual(layerChanges(sink), EXPECTED_CHANGES);
    assertLayerChanges(parseRecording(sink.toNDJSON()), EXPECTED_CHANGES);
  });

  test('assertLayerChanges names the first differing line', async () => {
    const { sink } = await recordAgentLoop();
    const wrong = [...EXPECTED_CHANGES];
    wrong[3] = '#4 tokenBudget request: message_removed [1] user(25)';
    assert.throws(
      () => assertLayerChanges(sink, wrong),
      /line 4 differs\.\n {2}expected: #4 tokenBudget request: message_removed \[1\] user\(25\)\n {2}actual: {3}#4 tokenBudget request: message_removed \[2\] assistant\(18\)/,
    );
  });
});
