// Writes docs/inspector.png, the README's picture of the inspector: the recorder's fixture recording
// of examples/agent-loop.ts (test/fixtures/recordings/agent-loop.ndjson) in headless chromium, on
// turn 4, where compactToolResults stubs a tool result and tokenBudget drops the oldest turn.
//   node --import tsx scripts/inspector-screenshot.ts
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRecordingText, startInspector } from 'modelware/inspector';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(root, 'test/fixtures/recordings/agent-loop.ndjson');
const out = join(root, 'docs/inspector.png');

const inspector = await startInspector({ port: 0, recording: readRecordingText(readFileSync(fixture, 'utf8'), 'agent-loop.ndjson') });
const profile = mkdtempSync(join(tmpdir(), 'modelware-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
});
try {
  const page = await context.newPage();
  await page.goto(inspector.url);
  await page.waitForSelector('#app[data-ready="true"]');
  await page.locator('.call-item').nth(3).click();
  await page.locator('.call-detail h3', { hasText: 'Onion' }).scrollIntoViewIfNeeded();
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await context.close();
  await inspector.close();
  rmSync(profile, { recursive: true, force: true });
}
