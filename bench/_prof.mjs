import { pipeline, runAgent, tool } from '../dist/index.js';
import { compactToolResults, transformContext } from '../dist/middleware/index.js';
import { z } from "zod";
const TURNS=1000;
const SYSTEM='You are a research agent. Use the lookup tool.';
const START = [{ role: 'system', content: SYSTEM },{ role: 'user', content: 'Find everything about onions.' }];
const output = (q) => JSON.parse(JSON.stringify(String(q).padEnd(500, '.')));
const lookup = tool({ name: 'lookup', input: z.object({ q: z.number() }), execute: ({ q }) => output(q) });
function loopExecutor(turns) { let n = 0; return { name: 'bench', async generate() { n++;
 if (n >= turns) return { message: { role: 'assistant', content: 'done' }, finishReason: 'stop' };
 return { message: { role: 'assistant', content: [{ type: 'tool-call', toolCallId: `c${n}`, toolName: 'lookup', input: { q: n } }] }, finishReason: 'tool-calls', usage: { inputTokens: 1, outputTokens: 1 } }; } }; }
const systemFor = (turn)=> ({ role: 'system', content: `${SYSTEM} Turn ${turn}.` });
async function ours() {
  const v = process.argv[2] ?? 'both';
  const layers = [];
  if (v !== 'compact') layers.push(transformContext(function refreshSystem(draft, { turn }) { draft[0] = systemFor(turn); }));
  if (v !== 'tc') layers.push(compactToolResults({ keepLast: 3, minChars: 100, replaceWith: '[result omitted]' }));
  const app = pipeline(loopExecutor(TURNS)).use(...layers);
  return runAgent({ model: app, messages: START, tools: [lookup], maxTurns: TURNS });
}
const t0=performance.now(); for (let i=0;i<150;i++) await ours(); console.log((performance.now()-t0)/150,'ms/run');
