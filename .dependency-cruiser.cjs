// The architecture's one direction of dependency, checked in CI by `npm run depcheck`:
//   lib/internal <- lib/core <- lib/plugins <- lib/agent <- middleware/
//   lib/stores imports nothing of ours; lib/adapters and lib/testing import core (and internal) only.
// A broken rule prints the file, the import and the rule's name; the comment says why it exists.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included: a cycle makes load order and refactoring fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'internal-imports-nothing-of-ours',
      severity: 'error',
      comment: 'lib/internal holds helpers that are nobody\'s API; it depends on no other part of modelware.',
      from: { path: '^lib/internal/' },
      to: { path: '^(lib/(core|plugins|agent|stores|adapters|testing)|middleware)/' },
    },
    {
      name: 'core-imports-only-internal',
      severity: 'error',
      comment: 'lib/core is the onion engine; plugins, the agent loop and built-ins build on it, never the other way.',
      from: { path: '^lib/core/' },
      to: { path: '^(lib/(plugins|agent|stores|adapters|testing)|middleware)/' },
    },
    {
      name: 'plugins-import-core-and-internal',
      severity: 'error',
      comment: 'lib/plugins dispatches hooks over the core; it does not know the agent loop or any built-in.',
      from: { path: '^lib/plugins/' },
      to: { path: '^(lib/(agent|stores|adapters|testing)|middleware)/' },
    },
    {
      name: 'agent-does-not-import-built-ins',
      severity: 'error',
      comment: 'lib/agent drives the loop on core and plugins; core never names a built-in.',
      from: { path: '^lib/agent/' },
      to: { path: '^(lib/(stores|adapters|testing)|middleware)/' },
    },
    {
      name: 'stores-import-nothing-of-ours',
      severity: 'error',
      comment: 'A Store is a plain interface with memory and Redis implementations; it knows nothing of calls.',
      from: { path: '^lib/stores/' },
      to: { path: '^(lib/(internal|core|plugins|agent|adapters|testing)|middleware)/' },
    },
    {
      name: 'adapters-and-testing-import-core-only',
      severity: 'error',
      comment: 'Adapters and test helpers map a provider or a script onto the executor contract of lib/core.',
      from: { path: '^lib/(adapters|testing)/' },
      to: { path: '^(lib/(plugins|agent|stores)|middleware)/' },
    },
    {
      name: 'bullmq-uses-the-public-api',
      comment: 'modelware/bullmq is written like a built-in: on what `modelware` exports (lib/index.ts), nothing else of ours.',
      severity: 'error',
      from: { path: '^lib/bullmq/' },
      to: { path: '^(lib/(internal|core|plugins|agent|stores|adapters|testing)|middleware)/' },
    },
    {
      name: 'nothing-imports-the-inspector',
      severity: 'error',
      comment:
        'lib/inspector is the `modelware` bin and its Node HTTP server (`modelware/inspector`): no other part of ' +
        'the library may reach it, so `import \'modelware\'` never loads node:http.',
      from: { path: '^(lib/(internal|core|plugins|agent|stores|adapters|testing)|middleware)/' },
      to: { path: '^lib/inspector/' },
    },
    {
      name: 'inspector-imports-core-and-internal',
      severity: 'error',
      comment: 'The inspector reads recordings (lib/core) and serves them; it does not run calls, plugins or agents.',
      from: { path: '^lib/inspector/' },
      to: { path: '^(lib/(plugins|agent|stores|adapters|testing)|middleware)/' },
    },
    {
      name: 'built-ins-do-not-import-internal',
      severity: 'error',
      comment:
        'A built-in is written with the public API only: what `modelware`, `modelware/kit` and ' +
        '`modelware/middleware` export (scripts/check-builtins.mjs checks each imported name). lib/internal is ' +
        'nobody\'s API; the helpers built-ins share with third parties are re-exported by lib/kit.ts.',
      from: { path: '^middleware/' },
      to: { path: '^lib/internal/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(lib|middleware)/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
