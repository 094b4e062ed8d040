/**
 * The inspector page's script. It runs in the browser, not in Node: `page.ts` inlines its source
 * (`inspectorClient.toString()`), so it must stay one self-contained function that reads nothing
 * from this module's scope. Type-checked against the DOM lib like the rest of the code.
 *
 * Every recorded string reaches the page through `textContent` or an attribute set by
 * `setAttribute` on an element that does not run it: the page never parses recorded text as HTML,
 * so a hostile recording cannot inject markup or script (and the CSP allows only this script).
 */
export function inspectorClient(): void {
  type Rec = Record<string, any>;
  interface Call {
    id: string;
    start: Rec | undefined;
    end: Rec | undefined;
    layers: Rec[];
    changes: Rec[];
    attempts: Rec[];
    dispatches: Rec[];
    streams: Rec[];
    plugins: Rec[];
  }
  interface Turn {
    turn: number;
    start: number | undefined;
    end: number | undefined;
    error: Rec | undefined;
  }
  interface Run {
    id: string;
    start: Rec | undefined;
    end: Rec | undefined;
    turns: Map<number, Turn>;
    calls: string[];
    callSet: Set<string>;
    tools: Rec[];
    plugins: Rec[];
  }
  const NO_RUN = '';
  const state = {
    source: '',
    live: false,
    versionError: null as string | null,
    problems: [] as { line: number; message: string }[],
    problemCount: 0,
    dropped: 0,
    header: undefined as Rec | undefined,
    runs: new Map<string, Run>(),
    calls: new Map<string, Call>(),
    selectedCall: undefined as string | undefined,
    selectedRun: undefined as string | undefined,
    records: 0,
  };

  // ---------------------------------------------------------------- model
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

  function run(id: unknown): Run {
    const key = str(id) ?? NO_RUN;
    let r = state.runs.get(key);
    if (!r) {
      r = {
        id: key,
        start: undefined,
        end: undefined,
        turns: new Map(),
        calls: [],
        callSet: new Set(),
        tools: [],
        plugins: [],
      };
      state.runs.set(key, r);
    }
    return r;
  }
  function turn(r: Run, n: unknown): Turn {
    const k = num(n) ?? 0;
    let t = r.turns.get(k);
    if (!t) {
      t = { turn: k, start: undefined, end: undefined, error: undefined };
      r.turns.set(k, t);
    }
    return t;
  }
  function call(id: unknown): Call | undefined {
    const key = str(id);
    if (key === undefined) return undefined;
    let c = state.calls.get(key);
    if (!c) {
      c = {
        id: key,
        start: undefined,
        end: undefined,
        layers: [],
        changes: [],
        attempts: [],
        dispatches: [],
        streams: [],
        plugins: [],
      };
      state.calls.set(key, c);
    }
    return c;
  }

  function ingest(rec: Rec): void {
    if (typeof rec !== 'object' || rec === null) return;
    state.records++;
    switch (rec.type) {
      case 'header':
        state.header = rec;
        break;
      case 'run_start':
        run(rec.runId).start = rec;
        break;
      case 'run_end':
        run(rec.runId).end = rec;
        break;
      case 'turn_start':
        turn(run(rec.runId), rec.turn).start = num(rec.t);
        break;
      case 'turn_end': {
        const t = turn(run(rec.runId), rec.turn);
        t.end = num(rec.t);
        t.error = rec.error;
        break;
      }
      case 'call_start': {
        const c = call(rec.callId);
        if (!c) return;
        c.start = rec;
        const r = run(rec.runId);
        if (!r.callSet.has(c.id)) {
          r.calls.push(c.id);
          r.callSet.add(c.id);
        }
        break;
      }
      case 'layer':
        call(rec.callId)?.layers.push(rec);
        break;
      case 'change':
        call(rec.callId)?.changes.push(rec);
        break;
      case 'attempt':
        call(rec.callId)?.attempts.push(rec);
        break;
      case 'dispatch':
        call(rec.callId)?.dispatches.push(rec);
        break;
      case 'stream':
        call(rec.callId)?.streams.push(rec);
        break;
      case 'plugin':
        if (str(rec.callId) !== undefined) call(rec.callId)?.plugins.push(rec);
        else run(rec.runId).plugins.push(rec);
        break;
      case 'tool':
        run(rec.runId).tools.push(rec);
        break;
      case 'call_end': {
        const c = call(rec.callId);
        if (!c) return;
        c.end = rec;
        if (!c.start) {
          const r = run(undefined);
          if (!r.callSet.has(c.id)) {
            r.calls.push(c.id);
            r.callSet.add(c.id);
          }
        }
        break;
      }
      case 'dropped':
        state.dropped++;
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- DOM helpers
  function h(tag: string, attrs?: Record<string, string> | null, ...children: (Node | string | null | undefined)[]) {
    const el = document.createElement(tag);
    if (attrs) for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      el.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return el;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function s(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }
  const ms = (v: unknown): string => {
    const n = num(v);
    if (n === undefined) return '–';
    return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 2 : 1)} ms`;
  };
  const usd = (v: unknown): string => {
    const n = num(v);
    return n === undefined ? '–' : `$${n < 0.01 ? n.toFixed(6) : n.toFixed(4)}`;
  };
  const show = (v: unknown): string => {
    if (v === undefined) return '(absent)';
    if (typeof v === 'string') return JSON.stringify(v);
    try {
      return JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  };
  function errorText(e: Rec | undefined): string {
    if (!e || typeof e !== 'object') return '';
    const parts = [str(e.name) ?? 'Error'];
    if (str(e.code)) parts.push(`[${e.code}]`);
    if (str(e.message)) parts.push(`: ${e.message}`);
    return parts.join(' ');
  }
  function tokens(u: Rec | undefined): number {
    if (!u || typeof u !== 'object') return 0;
    return num(u.totalTokens) ?? (num(u.inputTokens) ?? 0) + (num(u.outputTokens) ?? 0);
  }

  // ---------------------------------------------------------------- rendering
  const root = document.getElementById('app')!;
  let scheduled = false;
  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      render();
    }, 50);
  }

  function render(): void {
    const t0 = performance.now();
    if (state.selectedCall === undefined) {
      const firstRun = [...state.runs.values()].find((r) => r.calls.length > 0);
      state.selectedCall = firstRun?.calls[0];
      state.selectedRun = firstRun?.id;
    }
    const body = h(
      'div',
      { class: 'layout' },
      h('nav', { id: 'sidebar', 'aria-label': 'runs and calls' }, renderSidebar()),
      h('main', { id: 'detail' }, renderDetail()),
    );
    root.replaceChildren(renderHeader(), ...renderBanners(), body);
    root.setAttribute('data-ready', 'true');
    root.setAttribute('data-render-ms', (performance.now() - t0).toFixed(1));
  }

  function renderHeader(): HTMLElement {
    let calls = 0;
    let total = 0;
    let cost: number | undefined;
    for (const c of state.calls.values()) {
      calls++;
      total += tokens(c.end?.usage);
      const callCost = num(c.end?.costUsd);
      if (callCost !== undefined) cost = (cost ?? 0) + callCost;
    }
    const runs = [...state.runs.keys()].filter((k) => k !== NO_RUN).length;
    return h(
      'header',
      null,
      h('h1', null, 'modelware inspector'),
      h('span', { class: 'source' }, state.source),
      state.live ? h('span', { class: 'live' }, 'live') : null,
      h(
        'span',
        { class: 'stats', id: 'stats' },
        `${runs} run(s) · ${calls} call(s) · ${total} tokens${cost === undefined ? '' : ` · ${usd(cost)}`}`,
        state.header?.captureContent ? ' · content captured' : ' · no content (shapes and sizes only)',
      ),
    );
  }

  function renderBanners(): HTMLElement[] {
    const out: HTMLElement[] = [];
    if (state.versionError) {
      out.push(h('div', { class: 'banner version-error', role: 'alert' }, state.versionError));
    }
    if (state.problemCount > 0) {
      const more = state.problemCount - state.problems.length;
      out.push(
        h(
          'div',
          { class: 'banner problems', role: 'alert' },
          h('strong', null, `${state.problemCount} line(s) of the recording could not be read; showing the rest.`),
          h('ul', null, ...state.problems.map((p) => h('li', null, `line ${p.line}: ${p.message}`))),
          more > 0 ? h('p', null, `… and ${more} more`) : null,
        ),
      );
    }
    if (state.dropped > 0) {
      out.push(h('div', { class: 'banner dropped' }, `${state.dropped} gap(s): records were dropped while recording.`));
    }
    return out;
  }

  function callLabel(c: Call): string {
    const t = num(c.start?.turn);
    const model = str(c.end?.resolvedModel) ?? str(c.start?.model) ?? '?';
    return `${t === undefined ? 'call' : `turn ${t}`} · ${model} · ${ms(c.end?.durationMs)}`;
  }
  function callFailed(c: Call): boolean {
    return Boolean(c.end?.error);
  }
  /** Failed on an attempt and recovered (a retry or a fallback answered). */
  function callRecovered(c: Call): boolean {
    return !c.end?.error && (c.attempts.some((a) => a.error) || c.dispatches.some((d) => d.error));
  }
  function callClass(c: Call): string {
    return callFailed(c) ? ' failed' : callRecovered(c) ? ' recovered' : '';
  }
  /**
   * Where an attempt's error started: the layer an error names, else the executor when its
   * dispatch failed, else the innermost layer that exited with the error (the outer ones only
   * passed it on).
   */
  function errorOrigin(c: Call, attempt: number): string | undefined {
    const inAttempt = (r: Rec) => (num(r.attempt) ?? 1) === attempt;
    const named = [...c.layers.filter(inAttempt), ...c.dispatches.filter(inAttempt)].find((r) => str(r.error?.layer));
    if (named) return str(named.error.layer);
    if (c.dispatches.some((d) => inAttempt(d) && d.error)) return 'executor';
    let origin: Rec | undefined;
    for (const l of c.layers) {
      if (inAttempt(l) && l.error && (origin === undefined || (num(l.index) ?? 0) > (num(origin.index) ?? 0)))
        origin = l;
    }
    return str(origin?.layer);
  }

  function renderSidebar(): DocumentFragment {
    const frag = document.createDocumentFragment();
    if (state.runs.size === 0)
      frag.append(h('p', { class: 'empty' }, state.live ? 'Waiting for records…' : 'No calls.'));
    for (const r of state.runs.values()) {
      if (r.calls.length === 0 && !r.start) continue;
      const title =
        r.id === NO_RUN
          ? 'Calls outside runs'
          : `run ${r.id} · ${num(r.end?.turns) ?? r.turns.size} turn(s)${str(r.end?.stopReason) ? ` · ${r.end?.stopReason}` : ''}`;
      const runButton = h('button', { class: `run-item${r.end?.error ? ' failed' : ''}`, type: 'button' }, title);
      runButton.addEventListener('click', () => {
        state.selectedRun = r.id;
        state.selectedCall = r.calls[0];
        render();
      });
      const list = h('ol', { class: 'calls' });
      for (const id of r.calls) {
        const c = state.calls.get(id)!;
        const item = h(
          'button',
          {
            type: 'button',
            class: `call-item${callClass(c)}${id === state.selectedCall ? ' selected' : ''}`,
            'data-call-id': id,
          },
          callLabel(c),
        );
        item.addEventListener('click', () => {
          state.selectedCall = id;
          state.selectedRun = r.id;
          render();
        });
        list.append(h('li', null, item));
      }
      frag.append(h('section', { class: 'run', 'data-run-id': r.id }, runButton, list));
    }
    return frag;
  }

  function renderDetail(): DocumentFragment {
    const frag = document.createDocumentFragment();
    const r = state.selectedRun === undefined ? undefined : state.runs.get(state.selectedRun);
    if (r && r.id !== NO_RUN) frag.append(renderRun(r));
    const c = state.selectedCall === undefined ? undefined : state.calls.get(state.selectedCall);
    if (c) frag.append(renderCall(c, r));
    return frag;
  }

  // ------------------------------------------------------------ a run: timeline and chart
  function renderRun(r: Run): HTMLElement {
    const calls = r.calls.map((id) => state.calls.get(id)!).filter(Boolean);
    const t0 = num(r.start?.t) ?? Math.min(...calls.map((c) => num(c.start?.t) ?? Number.POSITIVE_INFINITY));
    const tEnd = Math.max(
      num(r.end?.t) ?? 0,
      ...calls.map((c) => num(c.end?.t) ?? 0),
      ...r.tools.map((t) => num(t.t) ?? 0),
    );
    const span = Math.max(tEnd - t0, 0.001);
    const pct = (t: number) => `${(((t - t0) / span) * 100).toFixed(3)}%`;
    const timeline = h('div', { class: 'timeline' });
    const turns = [...r.turns.values()].sort((a, b) => a.turn - b.turn);
    const byTurn = new Map<number, Call[]>();
    for (const c of calls) {
      const k = num(c.start?.turn) ?? 0;
      const list = byTurn.get(k);
      if (list) list.push(c);
      else byTurn.set(k, [c]);
      if (!r.turns.has(k)) turns.push(turn(r, k));
    }
    turns.sort((a, b) => a.turn - b.turn);
    const toolsByTurn = new Map<number, Rec[]>();
    for (const tool of r.tools) {
      const k = num(tool.turn) ?? 0;
      const list = toolsByTurn.get(k);
      if (list) list.push(tool);
      else toolsByTurn.set(k, [tool]);
    }
    for (const t of turns) {
      const track = h('div', { class: 'track' });
      for (const c of byTurn.get(t.turn) ?? []) {
        const start = num(c.start?.t) ?? t0;
        const end = num(c.end?.t) ?? start;
        const bar = h(
          'button',
          {
            type: 'button',
            class: `bar call${callClass(c)}`,
            title: `model call ${ms(end - start)}`,
          },
          `${str(c.end?.resolvedModel) ?? str(c.start?.model) ?? 'call'} ${ms(end - start)}`,
        );
        bar.style.left = pct(start);
        bar.style.width = `max(2px, ${(((end - start) / span) * 100).toFixed(3)}%)`;
        bar.addEventListener('click', () => {
          state.selectedCall = c.id;
          render();
        });
        track.append(bar);
      }
      for (const tool of toolsByTurn.get(t.turn) ?? []) {
        const end = num(tool.t) ?? t0;
        const dur = num(tool.durationMs) ?? 0;
        const bar = h(
          'span',
          { class: `bar tool${tool.isError ? ' failed' : ''}`, title: `tool ${ms(dur)}` },
          `${str(tool.tool) ?? 'tool'} ${ms(dur)}`,
        );
        bar.style.left = pct(end - dur);
        bar.style.width = `max(2px, ${((dur / span) * 100).toFixed(3)}%)`;
        track.append(bar);
      }
      timeline.append(
        h(
          'div',
          { class: `turn-row${t.error ? ' failed' : ''}` },
          h('span', { class: 'turn-label' }, `turn ${t.turn}`),
          track,
        ),
      );
    }
    const summary = [
      str(r.start?.model) ? `model ${r.start?.model}` : '',
      r.end ? `${ms(r.end.durationMs)}` : 'running…',
      r.end?.usage ? `${tokens(r.end.usage)} tokens` : '',
      num(r.end?.costUsd) !== undefined ? usd(r.end?.costUsd) : '',
      str(r.end?.stopReason) ? `stop: ${r.end?.stopReason}` : '',
    ].filter(Boolean);
    return h(
      'section',
      { class: 'run-detail' },
      h('h2', null, `Run ${r.id}`),
      h('p', { class: 'summary' }, summary.join(' · ')),
      r.end?.error ? h('p', { class: 'error' }, `failed: ${errorText(r.end.error)}`) : null,
      h('h3', null, 'Turn timeline'),
      timeline,
      h('h3', null, 'Tokens and cost over turns'),
      renderChart(turns, byTurn),
    );
  }

  function renderChart(turns: Turn[], byTurn: Map<number, Call[]>): Element {
    const W = 640;
    const H = 180;
    const pad = { l: 48, r: 56, t: 12, b: 28 };
    const rows = turns.map((t) => {
      let input = 0;
      let output = 0;
      let cost = 0;
      for (const c of byTurn.get(t.turn) ?? []) {
        input += num(c.end?.usage?.inputTokens) ?? 0;
        output += num(c.end?.usage?.outputTokens) ?? 0;
        cost += num(c.end?.costUsd) ?? 0;
      }
      return { turn: t.turn, input, output, cost };
    });
    let cumulative = 0;
    const costs = rows.map((row) => (cumulative += row.cost));
    const maxTokens = Math.max(1, ...rows.map((row) => row.input + row.output));
    const maxCost = Math.max(1e-9, ...costs);
    const svg = s('svg', {
      viewBox: `0 0 ${W} ${H}`,
      class: 'chart',
      role: 'img',
      'aria-label': 'tokens and cost per turn',
    });
    const plotW = W - pad.l - pad.r;
    const plotH = H - pad.t - pad.b;
    const slot = plotW / Math.max(rows.length, 1);
    svg.append(s('line', { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, class: 'axis' }));
    svg.append(s('text', { x: pad.l - 4, y: pad.t + 8, 'text-anchor': 'end', class: 'label' }, String(maxTokens)));
    svg.append(s('text', { x: pad.l - 4, y: H - pad.b, 'text-anchor': 'end', class: 'label' }, '0'));
    const hasCost = rows.some((row) => row.cost > 0);
    if (hasCost) svg.append(s('text', { x: W - pad.r + 4, y: pad.t + 8, class: 'label cost' }, usd(maxCost)));
    const points: string[] = [];
    // Up to 100 turns, a bar per turn with its numbers on hover; past that, two stacked areas (a bar
    // each would cost thousands of elements and show nothing more).
    const dense = rows.length > 100;
    const labelEvery = Math.ceil(rows.length / 12);
    const inputArea: string[] = [];
    const outputArea: string[] = [];
    rows.forEach((row, i) => {
      const x = pad.l + i * slot + slot * 0.2;
      const w = Math.max(slot * 0.6, 1);
      const hIn = (row.input / maxTokens) * plotH;
      const hOut = (row.output / maxTokens) * plotH;
      if (dense) {
        inputArea.push(`${x + w / 2},${H - pad.b - hIn}`);
        outputArea.push(`${x + w / 2},${H - pad.b - hIn - hOut}`);
      } else {
        const bar = s('rect', { x, y: H - pad.b - hIn, width: w, height: hIn, class: 'input' });
        bar.append(s('title', {}, `turn ${row.turn}: ${row.input} input tokens`));
        const out = s('rect', { x, y: H - pad.b - hIn - hOut, width: w, height: hOut, class: 'output' });
        out.append(s('title', {}, `turn ${row.turn}: ${row.output} output tokens`));
        svg.append(bar, out);
      }
      if (i % labelEvery === 0) {
        svg.append(
          s('text', { x: x + w / 2, y: H - pad.b + 14, 'text-anchor': 'middle', class: 'label' }, String(row.turn)),
        );
      }
      points.push(`${x + w / 2},${H - pad.b - (costs[i]! / maxCost) * plotH}`);
    });
    if (dense && rows.length > 0) {
      const base = `${pad.l + slot * 0.5},${H - pad.b} `;
      const end = ` ${pad.l + (rows.length - 0.5) * slot},${H - pad.b}`;
      svg.append(s('polygon', { points: base + outputArea.join(' ') + end, class: 'output' }));
      svg.append(s('polygon', { points: base + inputArea.join(' ') + end, class: 'input' }));
    }
    if (hasCost) svg.append(s('polyline', { points: points.join(' '), class: 'cost-line' }));
    const legend = h(
      'p',
      { class: 'legend' },
      h('span', { class: 'key input' }, 'input tokens'),
      h('span', { class: 'key output' }, 'output tokens'),
      hasCost ? h('span', { class: 'key cost' }, 'cumulative cost') : null,
    );
    return h('figure', { class: 'chart-box' }, svg, legend);
  }

  // ------------------------------------------------------------ a call
  function renderCall(c: Call, r: Run | undefined): HTMLElement {
    const start = c.start ?? {};
    const end = c.end ?? {};
    const lastAttempt = Math.max(1, ...c.layers.map((l) => num(l.attempt) ?? 1));
    const failedLayer = end.error ? (str(end.error.layer) ?? errorOrigin(c, lastAttempt)) : undefined;
    const facts: [string, string][] = [
      ['mode', str(start.mode) ?? '–'],
      ['requested model', str(start.model) ?? str(end.requestedModel) ?? '–'],
      ['resolved model', str(end.resolvedModel) ?? '–'],
      ['provider model', str(end.responseModel) ?? '–'],
      ['duration', ms(end.durationMs)],
      ['attempts', String(num(end.attempts) ?? Math.max(1, c.dispatches.length))],
      ['finish', str(end.finishReason) ?? '–'],
      ['usage', end.usage ? `${num(end.usage.inputTokens) ?? 0} in · ${num(end.usage.outputTokens) ?? 0} out` : '–'],
      ['cost', usd(end.costUsd)],
    ];
    const section = h(
      'section',
      { class: 'call-detail', 'data-call-id': c.id },
      h('h2', null, `Call ${c.id}${num(start.turn) === undefined ? '' : ` · turn ${start.turn}`}`),
      h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
    );
    if (end.error) {
      section.append(
        h(
          'p',
          { class: 'error', role: 'alert' },
          `failed${failedLayer ? ` in ${failedLayer === 'executor' ? 'the executor' : `layer ${failedLayer}`}` : ''}: ${errorText(end.error)}`,
        ),
      );
    } else if (callRecovered(c)) {
      section.append(h('p', { class: 'recovered' }, `recovered: ${num(end.attempts) ?? c.dispatches.length} attempts`));
    }
    section.append(h('h3', null, 'Onion'), renderOnion(c));
    if (c.attempts.length > 0) {
      section.append(
        h('h3', null, 'Attempts'),
        h(
          'ol',
          { class: 'attempts' },
          ...c.attempts.map((a) =>
            h(
              'li',
              null,
              `attempt ${num(a.attempt) ?? '?'} by ${str(a.layer) ?? '?'} at ${ms(a.t)}`,
              a.error ? h('span', { class: 'error' }, ` after ${errorText(a.error)}`) : null,
            ),
          ),
        ),
      );
    }
    section.append(h('h3', null, 'What each layer changed'), renderChanges(c));
    if (c.streams.length > 0) {
      section.append(
        h('h3', null, 'Stream'),
        ...c.streams.map((st) =>
          h(
            'p',
            { class: 'stream' },
            `first part after ${ms(st.firstPartMs)} · ${num(st.parts) ?? 0} parts · ${ms(st.durationMs)}${st.aborted ? ' · aborted' : ''}`,
            st.error ? h('span', { class: 'error' }, ` · ${errorText(st.error)}`) : null,
          ),
        ),
      );
    }
    if (c.plugins.length > 0) section.append(h('h3', null, 'Plugin decisions'), renderPlugins(c.plugins));
    const tools = r
      ? r.tools.filter((tool) => num(tool.turn) === num(start.turn) && num(start.turn) !== undefined)
      : [];
    if (tools.length > 0) section.append(h('h3', null, 'Tool calls of this turn'), renderTools(tools));
    if (Array.isArray(start.shapes)) section.append(h('h3', null, 'Request'), renderShapes(start));
    return section;
  }

  function renderOnion(c: Call): HTMLElement {
    const box = h('div', { class: 'onion' });
    const t0 = num(c.start?.t) ?? Math.min(...c.layers.map((l) => num(l.t) ?? 0));
    const tEnd = Math.max(num(c.end?.t) ?? 0, ...c.layers.map((l) => num(l.t) ?? 0));
    const span = Math.max(tEnd - t0, 0.001);
    const pct = (t: number) => `${(((t - t0) / span) * 100).toFixed(3)}%`;
    const attempts = new Map<number, Map<string, Rec[]>>();
    for (const l of c.layers) {
      const a = num(l.attempt) ?? 1;
      const key = `${num(l.index) ?? 0}\u0000${str(l.layer) ?? '?'}`;
      let layers = attempts.get(a);
      if (!layers) attempts.set(a, (layers = new Map()));
      layers.set(key, [...(layers.get(key) ?? []), l]);
    }
    if (attempts.size === 0) box.append(h('p', { class: 'empty' }, 'No layer timings recorded for this call.'));
    for (const [attempt, layers] of [...attempts].sort((a, b) => a[0] - b[0])) {
      const group = h('div', { class: 'attempt', 'data-attempt': String(attempt) });
      const origin = errorOrigin(c, attempt);
      if (attempts.size > 1) group.append(h('h4', null, `attempt ${attempt}`));
      const sorted = [...layers.values()].sort((a, b) => (num(a[0]!.index) ?? 0) - (num(b[0]!.index) ?? 0));
      for (const phases of sorted) {
        const at = (p: string) => num(phases.find((x) => x.phase === p)?.t);
        const enter = at('enter') ?? t0;
        const exit = at('exit') ?? at('back') ?? tEnd;
        const next = at('next');
        const back = at('back');
        const name = str(phases[0]!.layer) ?? '?';
        const index = num(phases[0]!.index) ?? 0;
        const error = phases.find((x) => x.error)?.error;
        const failed = Boolean(error) && origin === name;
        const inMs = next === undefined ? exit - enter : next - enter;
        const outMs = back === undefined ? 0 : exit - back;
        const timing =
          next === undefined
            ? `${ms(exit - enter)} (did not call next)`
            : `in ${ms(inMs)} · inside ${ms((back ?? exit) - next)} · out ${ms(outMs)} · total ${ms(exit - enter)}`;
        const bar = h('div', { class: 'bar layer-bar' });
        bar.style.left = pct(enter);
        bar.style.width = `max(2px, ${(((exit - enter) / span) * 100).toFixed(3)}%)`;
        if (next !== undefined) {
          const inner = h('div', { class: 'inner' });
          inner.style.left = `${(((next - enter) / Math.max(exit - enter, 0.001)) * 100).toFixed(3)}%`;
          inner.style.width = `${((((back ?? exit) - next) / Math.max(exit - enter, 0.001)) * 100).toFixed(3)}%`;
          bar.append(inner);
        }
        const row = h(
          'div',
          { class: `layer${failed ? ' failed' : error ? ' passed-error' : ''}`, 'data-layer': name },
          h('span', { class: 'layer-name' }, name),
          h('div', { class: 'lane' }, bar),
          h('span', { class: 'timing' }, timing),
          error
            ? h(
                'span',
                { class: 'layer-error' },
                failed ? `failed here: ${errorText(error)}` : `passed on: ${errorText(error)}`,
              )
            : null,
        );
        row.style.paddingLeft = `${Math.min(index, 20) * 14}px`;
        group.append(row);
      }
      for (const d of c.dispatches.filter((x) => (num(x.attempt) ?? 1) === attempt)) {
        const dur = num(d.durationMs) ?? 0;
        const endT = num(d.t) ?? tEnd;
        const bar = h('div', { class: 'bar executor-bar' });
        bar.style.left = pct(endT - dur);
        bar.style.width = `max(2px, ${((dur / span) * 100).toFixed(3)}%)`;
        const row = h(
          'div',
          { class: `layer executor${d.error ? ' failed' : ''}`, 'data-layer': 'executor' },
          h('span', { class: 'layer-name' }, `executor → ${str(d.model) ?? '?'}`),
          h('div', { class: 'lane' }, bar),
          h('span', { class: 'timing' }, ms(dur)),
          d.error ? h('span', { class: 'layer-error' }, `failed here: ${errorText(d.error)}`) : null,
        );
        row.style.paddingLeft = `${Math.min(layers.size, 20) * 14}px`;
        group.append(row);
      }
      box.append(group);
    }
    return box;
  }

  function describeShape(shape: Rec | undefined): string {
    if (!shape || typeof shape !== 'object') return '';
    const parts = Array.isArray(shape.parts) ? ` [${shape.parts.map(String).join(', ')}]` : '';
    const tool = str(shape.toolName) ? ` ${shape.toolName}` : '';
    return `${str(shape.role) ?? '?'}${tool}, ${num(shape.length) ?? 0} chars${parts}`;
  }

  function renderChanges(c: Call): HTMLElement {
    const box = h('div', { class: 'changes' });
    if (c.changes.length === 0) box.append(h('p', { class: 'empty' }, 'No layer changed the request or the response.'));
    for (const rec of c.changes) {
      const list = Array.isArray(rec.changes) ? (rec.changes as Rec[]) : [];
      const byMessage = new Map<string, Rec[]>();
      for (const ch of list) {
        const key =
          num(ch.index) !== undefined ? `message ${ch.index}` : ch.kind === 'option_changed' ? 'options' : 'fields';
        byMessage.set(key, [...(byMessage.get(key) ?? []), ch]);
      }
      const groups = [...byMessage].map(([key, changes]) =>
        h(
          'div',
          { class: 'group' },
          h('h5', null, key),
          h(
            'ul',
            null,
            ...changes.map((ch) => h('li', { class: `change ${str(ch.kind) ?? ''}` }, ...describeChange(ch))),
          ),
        ),
      );
      box.append(
        h(
          'div',
          { class: 'layer-changes', 'data-layer': str(rec.layer) ?? '?' },
          h(
            'h4',
            null,
            `${str(rec.layer) ?? '?'} changed the ${str(rec.target) ?? 'request'}`,
            num(rec.attempt) !== undefined && rec.attempt > 1 ? ` (attempt ${rec.attempt})` : '',
          ),
          ...groups,
        ),
      );
    }
    return box;
  }

  function describeChange(ch: Rec): (string | Node)[] {
    switch (ch.kind) {
      case 'message_added':
        return [
          h('span', { class: 'sign' }, '+ '),
          `added ${describeShape(ch.shape)}`,
          ch.message === undefined ? '' : h('pre', null, show(ch.message)),
        ];
      case 'message_removed':
        return [
          h('span', { class: 'sign' }, '− '),
          `removed ${describeShape(ch.shape)}`,
          ch.message === undefined ? '' : h('pre', null, show(ch.message)),
        ];
      case 'text_replaced':
        return [
          h('span', { class: 'sign' }, '~ '),
          `${str(ch.role) ?? '?'} text replaced: ${num(ch.from) ?? '?'} → ${num(ch.to) ?? '?'} chars`,
          str(ch.before) === undefined ? '' : h('pre', { class: 'before' }, ch.before),
          str(ch.after) === undefined ? '' : h('pre', { class: 'after' }, ch.after),
        ];
      case 'message_changed':
        return [
          h('span', { class: 'sign' }, '~ '),
          `${str(ch.role) ?? '?'} changed: ${Array.isArray(ch.fields) ? ch.fields.map(String).join(', ') : '?'}`,
        ];
      case 'option_changed':
        return [
          h('span', { class: 'sign' }, '~ '),
          `option ${str(ch.key) ?? '?'}: ${show(ch.before)} → ${show(ch.after)}`,
        ];
      case 'field_changed':
        return [h('span', { class: 'sign' }, '~ '), `${str(ch.field) ?? '?'}: ${show(ch.before)} → ${show(ch.after)}`];
      default:
        return [`${str(ch.kind) ?? 'change'}`];
    }
  }

  function renderPlugins(plugins: Rec[]): HTMLElement {
    return h(
      'ul',
      { class: 'plugins' },
      ...plugins.map((p) =>
        h(
          'li',
          { class: `plugin ${str(p.decision) ?? ''}` },
          `${str(p.plugin) ?? '?'} at ${str(p.hook) ?? '?'}: ${str(p.decision) ?? '?'}${str(p.code) ? ` (${p.code})` : ''}`,
        ),
      ),
    );
  }

  function renderTools(tools: Rec[]): HTMLElement {
    const table = h(
      'table',
      { class: 'tools' },
      h(
        'thead',
        null,
        h('tr', null, ...['tool', 'call id', 'duration', 'result', 'layers changed'].map((x) => h('th', null, x))),
      ),
    );
    const body = h('tbody');
    for (const t of tools) {
      const changed =
        [t.inputChanged ? 'input' : '', t.resultChanged ? 'result' : ''].filter(Boolean).join(', ') || '–';
      body.append(
        h(
          'tr',
          { class: t.isError ? 'failed' : '' },
          h('td', null, str(t.tool) ?? '?'),
          h('td', null, str(t.toolCallId) ?? '?'),
          h('td', null, ms(t.durationMs)),
          h(
            'td',
            null,
            t.isError ? `error${t.error ? `: ${errorText(t.error)}` : ''}` : `${num(t.resultLength) ?? 0} chars`,
            t.input === undefined ? '' : h('pre', null, `input ${show(t.input)}`),
            str(t.result) === undefined ? '' : h('pre', null, t.result),
          ),
          h('td', null, changed),
        ),
      );
    }
    table.append(body);
    return table;
  }

  function renderShapes(start: Rec): HTMLElement {
    const from = num(start.from) ?? 0;
    const shapes = start.shapes as Rec[];
    return h(
      'div',
      { class: 'request' },
      h(
        'p',
        null,
        `${num(start.messages) ?? shapes.length} message(s)${from > 0 ? `; new since the previous call, from message ${from}:` : ':'}`,
      ),
      h('ol', { start: String(from) }, ...shapes.map((shape) => h('li', null, describeShape(shape)))),
      Array.isArray(start.tools) && start.tools.length > 0
        ? h('p', null, `tools: ${start.tools.map(String).join(', ')}`)
        : null,
    );
  }

  // ---------------------------------------------------------------- loading
  async function load(): Promise<void> {
    const response = await fetch('recording.json', { cache: 'no-store' });
    const data = (await response.json()) as Rec;
    const loaded = performance.now();
    state.source = str(data.source) ?? '';
    state.live = data.live === true;
    state.versionError = str(data.versionError) ?? null;
    state.problems = Array.isArray(data.problems) ? data.problems : [];
    state.problemCount = num(data.problemCount) ?? 0;
    state.dropped = num(data.dropped) ? 1 : 0;
    document.title = `modelware inspector · ${state.source}`;
    if (!state.versionError) for (const rec of data.records as Rec[]) ingest(rec);
    const ingested = performance.now();
    render();
    root.setAttribute(
      'data-timings',
      `loaded ${loaded.toFixed(0)} ingested ${ingested.toFixed(0)} rendered ${performance.now().toFixed(0)}`,
    );
    if (!state.live) return;
    const events = new EventSource(`events?from=${num(data.next) ?? 0}`);
    events.onmessage = (event) => {
      try {
        const rec = JSON.parse(event.data) as Rec;
        if (rec.type === 'header' && num(rec.version) !== num(data.formatVersion)) {
          state.versionError = `The app records format version ${String(rec.version)}; this inspector reads version ${String(data.formatVersion)}.`;
        }
        ingest(rec);
      } catch {
        state.problemCount++;
      }
      schedule();
    };
  }
  load().catch((error: unknown) => {
    root.replaceChildren(
      h('div', { class: 'banner version-error', role: 'alert' }, `Could not load the recording: ${String(error)}`),
    );
  });
}
