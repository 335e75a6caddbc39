#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx embed-batch` works straight after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../lambda/cli.ts');
