#!/usr/bin/env node
// The `modelware` command (package.json "bin"): `modelware inspect <recording.ndjson>`. Ctrl-C stops it.
import { main } from './cli.js';

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: stop.signal,
});
