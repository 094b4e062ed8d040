// Mellea's PII redactor: a transform plugin that rewrites what goes to the model (llm_input) and
// what comes back (llm_output). It changes writable fields through the draft; the caller's own
// messages are never touched.
import { type Message, PluginManager, definePlugin, pipeline, textOf } from 'modelware';
import { plugins } from 'modelware/middleware';
import { scriptedExecutor } from 'modelware/testing';

const PATTERNS: [RegExp, string][] = [
  [/[\w.+-]+@[\w-]+\.[\w.]+/g, '[EMAIL]'],
  [/\+?\d[\d -]{7,}\d/g, '[PHONE]'],
];
const redact = (text: string) => PATTERNS.reduce((t, [re, mask]) => t.replace(re, mask), text);

// Redaction is derived from a message object: cache it by identity, so each turn pays only for new messages.
const redacted = new WeakMap<object, string>();
function redactedText(message: object & { content: unknown }): string {
  let text = redacted.get(message);
  if (text === undefined) redacted.set(message, (text = redact(textOf(message))));
  return text;
}

const piiRedactor = definePlugin({
  name: 'pii-redactor',
  mode: 'transform',
  hooks: {
    llm_input(payload, { original }) {
      // Scan the plain original, write only what changes to the draft.
      original.request.messages.forEach((message, i) => {
        if (typeof message.content !== 'string') return;
        const text = redactedText(message);
        if (text !== message.content) (payload.request.messages[i] as { content: string }).content = text;
      });
    },
    llm_output(payload, { original }) {
      const text = textOf(original.response.message);
      const clean = redact(text);
      if (clean !== text) payload.response.message.content = clean;
    },
  },
});

const model = scriptedExecutor(['Sure, I will email ada@example.com and call +44 20 7946 0958.']);
const app = pipeline(model).use(plugins(new PluginManager({ plugins: [piiRedactor] })));
const messages: Message[] = [
  { role: 'user', content: 'My email is ada@example.com, phone +44 20 7946 0958. Remind me.' },
];
const response = await app.generate({ model: 'demo', messages });

console.log(`caller sent:    ${messages[0]?.content}`);
console.log(`model received: ${model.calls[0]?.request.messages[0]?.content}`);
console.log(`model answered: ${'Sure, I will email ada@example.com and call +44 20 7946 0958.'}`);
console.log(`caller got:     ${textOf(response.message)}`);
