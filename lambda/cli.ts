#!/usr/bin/env node
import { processIo } from './commands/io.ts';
import { main } from './commands/main.ts';

// serve-local keeps running on its own; every other command ends with its status.
const status = await main(process.argv.slice(2), processIo());
if (process.argv[2] !== 'serve-local') process.exitCode = status;
