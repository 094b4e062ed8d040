// biome-ignore-all lint/performance/useDomNodeTextContent: these are playwright Locator.innerText() calls (rendered text), not DOM nodes
// The inspector page in a real browser: playwright-core driving Debian's chromium (/usr/bin/chromium,
// installed by .ci/run). Skipped, with the reason, only when chromium is missing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readRecordingText, startInspector } from 'modelware/inspector';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { syntheticRecords, toNdjson } from '../fixtures/inspector.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `chromium is not installed at ${CHROMIUM} (CI installs Debian's chromium)`;
const root = fileURLToPath(new URL('../..', import.meta.url));
const artifacts = join(root, 'test-artifacts');
const FIXTURE = join(root, 'test/fixtures/recordings/agent-loop.ndjson');

/** Launches chromium with a fresh profile; `launch` flags as the brief of issue 13 lists them. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'modelware-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

describe('inspector page in chromium', { skip, concurrency: 1 }, () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  const pageErrors: string[] = [];

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  async function open(text: string, source = 'test.ndjson'): Promise<{ page: Page; close: () => Promise<void> }> {
    const inspector = await startInspector({ port: 0, recording: readRecordingText(text, source) });
    const page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      pageErrors.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(inspector.url);
    await page.waitForSelector('#app[data-ready="true"]');
    return {
      page,
      close: async () => {
        await page.close();
        await inspector.close();
      },
    };
  }

  test('the agent-loop recording: runs, calls, the onion with timings, a diff; screenshot', async () => {
    const { page, close } = await open(readFileSync(FIXTURE, 'utf8'), 'agent-loop.ndjson');
    try {
      const calls = page.locator('.call-item');
      assert.ok((await calls.count()) >= 4, 'one entry per model call');
      assert.match(await calls.first().innerText(), /^turn 1 · demo-model · [\d.]+ m?s$/);
      await calls.nth(3).click(); // turn 4: compactToolResults stubs a result, tokenBudget drops a turn
      const layers = await page.locator('.onion .layer .layer-name').allInnerTexts();
      for (const name of ['retry', 'compactToolResults', 'tokenBudget']) assert.ok(layers.includes(name), name);
      assert.ok(layers.some((name) => name.startsWith('executor → demo-model')));
      const timing = await page.locator('.onion .layer[data-layer="tokenBudget"] .timing').first().innerText();
      assert.match(timing, /^in [\d.]+ m?s · inside [\d.]+ m?s · out [\d.]+ m?s · total [\d.]+ m?s$/);
      const diff = await page.locator('.changes').innerText();
      assert.match(diff, /compactToolResults changed the request\s+message 3\s+~ tool text replaced: 1457 → 56 chars/);
      assert.match(
        diff,
        /tokenBudget changed the request\s+message 2\s+− removed assistant, 18 chars \[text, tool-call\]/,
      );
      assert.equal(await page.locator('.timeline .turn-row').count(), await calls.count());
      assert.ok((await page.locator('svg.chart rect.input').count()) >= 4, 'the token chart has a bar per turn');
      await page.screenshot({ path: join(artifacts, 'inspector-agent-loop.png'), fullPage: true });
      assert.deepEqual(pageErrors, []);
    } finally {
      await close();
    }
  });

  test('the agent-loop recording: the retried provider error is shown on the executor of attempt 1', async () => {
    const { page, close } = await open(readFileSync(FIXTURE, 'utf8'), 'agent-loop.ndjson');
    try {
      const recovered = page.locator('.call-item.recovered');
      assert.equal(await recovered.count(), 1);
      await recovered.click();
      assert.match(await page.locator('.call-detail .recovered').innerText(), /recovered: 2 attempts/);
      const first = page.locator('.onion .attempt[data-attempt="1"]');
      assert.match(
        await first.locator('.layer.failed').innerText(),
        /executor → demo-model[\s\S]*failed here: ProviderError/,
      );
      assert.equal(await first.locator('.layer.failed').count(), 1, 'only where it started');
      assert.match(
        await first.locator('.layer.passed-error[data-layer="tokenBudget"]').innerText(),
        /passed on: ProviderError/,
      );
      assert.equal(await page.locator('.onion .attempt[data-attempt="2"] .layer.failed').count(), 0);
      assert.match(await page.locator('.attempts').innerText(), /attempt 2 by retry at [\d.]+ m?s after ProviderError/);
      await page.screenshot({ path: join(artifacts, 'inspector-retried-call.png'), fullPage: true });
    } finally {
      await close();
    }
  });

  test('an error is shown on the layer that failed', async () => {
    const text = toNdjson(syntheticRecords({ calls: 3, failAt: { call: 2, layer: 'tokenBudget' } }));
    const { page, close } = await open(text);
    try {
      const failed = page.locator('.call-item.failed');
      assert.equal(await failed.count(), 1);
      await failed.click();
      const failedLayers = await page
        .locator('.onion .layer.failed')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-layer')));
      assert.deepEqual(failedLayers, ['tokenBudget']);
      assert.match(
        await page.locator('.onion .layer.failed .layer-error').innerText(),
        /BudgetExceededError \[BUDGET\]/,
      );
      assert.match(await page.locator('.call-detail > .error').innerText(), /failed in layer tokenBudget/);
      await page.screenshot({ path: join(artifacts, 'inspector-error.png'), fullPage: true });
    } finally {
      await close();
    }
  });

  test('a corrupt and truncated recording: the bad line numbers, and the rest shown', async () => {
    const lines = toNdjson(syntheticRecords({ calls: 2 })).split('\n');
    lines[5] = '{"type":"layer","t":1,"callId":"call-1"'; // corrupt
    const text = `${lines.join('\n')}{"type":"run_end","t":`; // truncated
    const { page, close } = await open(text);
    try {
      const banner = await page.locator('.banner.problems').innerText();
      assert.match(banner, /2 line\(s\) of the recording could not be read; showing the rest\./);
      assert.match(banner, /line 6: not valid JSON/);
      assert.match(banner, new RegExp(`line ${lines.length}: not valid JSON`));
      assert.equal(await page.locator('.call-item').count(), 2);
    } finally {
      await close();
    }
  });

  test('an unknown format version: a clear message instead of the records', async () => {
    const text = toNdjson(syntheticRecords({ calls: 1 })).replace('"version":1', '"version":3');
    const { page, close } = await open(text, 'future.ndjson');
    try {
      assert.match(
        await page.locator('.banner.version-error').innerText(),
        /future\.ndjson is a recording in format version 3; this modelware reads version 1\./,
      );
      assert.equal(await page.locator('.call-item').count(), 0);
    } finally {
      await close();
    }
  });

  test('a hostile recording cannot inject markup or script', async () => {
    const evil = '</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
    const records = syntheticRecords({ calls: 2, layers: [evil, 'tokenBudget'], text: evil });
    const { page, close } = await open(toNdjson(records), evil);
    try {
      await page.locator('.call-item').first().click();
      assert.equal(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned), undefined);
      assert.equal(await page.locator('#app img, #app script').count(), 0);
      const layers = await page.locator('.onion .layer .layer-name').allInnerTexts();
      assert.ok(layers.includes(evil), 'the layer name is shown as text');
      assert.ok((await page.locator('.changes').innerText()).includes(evil), 'captured content is shown as text');
      assert.ok((await page.locator('.source').innerText()).includes(evil));
      assert.deepEqual(pageErrors, []);
    } finally {
      await close();
    }
  });

  test('live: records written to the inspector appear on an open page', async () => {
    const inspector = await startInspector({ port: 0 });
    const page = await browser.context.newPage();
    try {
      const [header, ...rest] = syntheticRecords({ calls: 2 });
      inspector.write(header as never);
      await page.goto(inspector.url);
      await page.waitForSelector('#app[data-ready="true"]');
      assert.match(await page.locator('header .live').innerText(), /live/);
      for (const record of rest) inspector.write(record as never);
      await page.waitForSelector('.call-item >> nth=1');
      assert.equal(await page.locator('.call-item').count(), 2);
    } finally {
      await page.close();
      await inspector.close();
    }
  });

  test('opens a 1,000-call recording (time printed, target < 2 s, not asserted)', async () => {
    const text = toNdjson(syntheticRecords({ calls: 1000 }));
    const inspector = await startInspector({ port: 0, recording: readRecordingText(text, '1000-calls.ndjson') });
    const page = await browser.context.newPage();
    try {
      const start = performance.now();
      await page.goto(inspector.url);
      await page.waitForSelector('#app[data-ready="true"]');
      const ms = performance.now() - start;
      const inPage = await page.locator('#app').getAttribute('data-timings');
      console.log(
        `# inspector: 1,000-call recording (${(text.length / 1024 / 1024).toFixed(1)} MB) open in ${ms.toFixed(0)} ms ` +
          `(in the page, ms since navigation: ${inPage}; target < 2000 ms; load average ${loadavg()[0]?.toFixed(1)})`,
      );
      assert.equal(await page.locator('.call-item').count(), 1000);
      assert.equal(await page.locator('svg.chart polygon').count(), 2, 'past 100 turns the chart draws areas');
    } finally {
      await page.close();
      await inspector.close();
    }
  });
});
