import { inspectorClient } from './client.js';

// esbuild (tsx, tsup) may wrap named functions in `__name(fn, "name")` to keep their names; the
// page has no such helper, so the script defines a no-op one before the client's source.
const SCRIPT = `var __name = (target) => target;\n(${inspectorClient.toString()})();\n`;

const STYLE = `
:root { --fg: #1d2330; --muted: #667085; --line: #e3e6ec; --bg: #fff; --side: #f6f7f9; --accent: #3b6fd8;
  --inner: #bcd0f5; --fail: #c62828; --fail-bg: #fdecea; --tool: #2e8b57; --out: #f2a33a; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 12px; align-items: baseline; padding: 10px 16px; border-bottom: 1px solid var(--line); }
h1 { font-size: 16px; margin: 0; }
h2 { font-size: 15px; margin: 16px 0 6px; }
h3 { font-size: 13px; margin: 18px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
h4 { font-size: 13px; margin: 10px 0 4px; }
h5 { font-size: 12px; margin: 6px 0 2px; color: var(--muted); }
.source { color: var(--muted); }
.stats { margin-left: auto; color: var(--muted); }
.live { background: var(--tool); color: #fff; border-radius: 8px; padding: 0 8px; font-size: 11px; }
.banner { margin: 8px 16px; padding: 8px 12px; border-radius: 6px; border: 1px solid; }
.banner.version-error, .banner.problems { background: var(--fail-bg); border-color: var(--fail); }
.banner.dropped { background: #fff8e1; border-color: var(--out); }
.banner ul { margin: 4px 0 0; padding-left: 20px; }
.layout { display: grid; grid-template-columns: 300px 1fr; min-height: calc(100vh - 44px); }
nav { background: var(--side); border-right: 1px solid var(--line); padding: 8px; overflow: auto; max-height: calc(100vh - 44px); }
main { padding: 0 20px 40px; overflow: auto; max-height: calc(100vh - 44px); }
button { font: inherit; color: inherit; cursor: pointer; }
.run-item { display: block; width: 100%; text-align: left; font-weight: 600; background: none; border: 0; padding: 6px 4px; }
ol.calls { list-style: none; margin: 0 0 8px; padding: 0 0 0 8px; }
.call-item { display: block; width: 100%; text-align: left; background: none; border: 0; border-left: 3px solid transparent; padding: 3px 6px; }
.call-item.selected { background: #e7eefb; border-left-color: var(--accent); }
.call-item.failed, .run-item.failed { color: var(--fail); }
.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr max-content 1fr; gap: 2px 10px; margin: 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.error, .layer-error { color: var(--fail); font-weight: 600; }
.timeline .turn-row { display: grid; grid-template-columns: 70px 1fr; align-items: center; border-bottom: 1px dashed var(--line); }
.timeline .turn-row.failed .turn-label { color: var(--fail); }
.track, .lane { position: relative; height: 22px; }
.bar { position: absolute; top: 3px; height: 16px; border-radius: 3px; font-size: 11px; line-height: 16px; white-space: nowrap;
  overflow: hidden; padding: 0 4px; border: 0; color: #fff; }
.bar.call { background: var(--accent); }
.bar.tool { background: var(--tool); }
.bar.failed, .layer.failed .layer-bar { background: var(--fail); }
.onion .layer { display: grid; grid-template-columns: 170px minmax(200px, 1fr) 360px; gap: 8px; align-items: center;
  border-bottom: 1px solid var(--line); }
.onion .layer.failed { background: var(--fail-bg); }
.onion .layer.passed-error .layer-error { color: var(--muted); font-weight: 400; }
.call-item.recovered, .bar.call.recovered { border-left-color: var(--out); }
.bar.call.recovered { background: var(--out); }
.recovered { color: #9a5b00; font-weight: 600; }
.onion .layer .layer-error { grid-column: 1 / -1; padding: 0 0 4px; }
.layer-name { font-family: ui-monospace, monospace; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.layer-bar { background: var(--accent); }
.layer-bar .inner { position: absolute; top: 0; bottom: 0; background: var(--inner); }
.executor-bar { background: var(--out); }
.timing { color: var(--muted); font-variant-numeric: tabular-nums; }
.changes .layer-changes { border-left: 3px solid var(--accent); padding: 0 0 4px 10px; margin: 6px 0; }
.change { list-style: none; font-family: ui-monospace, monospace; }
.change.message_added .sign { color: var(--tool); }
.change.message_removed .sign { color: var(--fail); }
.changes ul { padding-left: 8px; margin: 0; }
pre { white-space: pre-wrap; word-break: break-word; background: var(--side); padding: 4px 6px; margin: 2px 0; max-height: 160px; overflow: auto; }
pre.before { border-left: 3px solid var(--fail); }
pre.after { border-left: 3px solid var(--tool); }
table.tools { border-collapse: collapse; width: 100%; }
table.tools th, table.tools td { border-bottom: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
table.tools tr.failed td { color: var(--fail); }
.chart-box { margin: 0; }
.chart { width: 100%; max-width: 680px; height: auto; }
.chart .input { fill: var(--accent); }
.chart .output { fill: var(--out); }
.chart .axis { stroke: var(--muted); }
.chart .label { font-size: 10px; fill: var(--muted); }
.chart .cost-line { fill: none; stroke: var(--fail); stroke-width: 2; }
.legend .key { margin-right: 12px; }
.legend .key::before { content: ""; display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: middle; }
.legend .key.input::before { background: var(--accent); }
.legend .key.output::before { background: var(--out); }
.legend .key.cost::before { background: var(--fail); height: 2px; }
.empty { color: var(--muted); }
/* A 1,000-call recording: rows off screen are neither laid out nor painted. */
ol.calls > li, .timeline .turn-row { content-visibility: auto; contain-intrinsic-size: auto 24px; }
`;

/**
 * The inspector's one page: markup, style and script inline (no CDN, no external fetch). `nonce`
 * is the page's CSP nonce: only the inline script and style carrying it run.
 */
export function renderInspectorPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>modelware inspector</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<div id="app" data-ready="false"><p class="empty">Loading the recording…</p></div>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
