#!/usr/bin/env node
import { processIo } from './commands/io.ts';
import { main } from './commands/main.ts';

// serve-local keeps running on its own (its open server holds the process) and ends with 0 on a
// signal; when it cannot start (a port in use, a bad flag) its status is 1 like any other command's.
process.exitCode = await main(process.argv.slice(2), processIo());
