#!/usr/bin/env node
// Development launcher: runs the TypeScript source through tsx, so tests and benchmarks exercise the
// tree as it is, with no build step. The published command is dist/cli.js (package.json `bin`).
import { register } from 'tsx/esm/api';

register();
await import('../lambda/cli.ts');
