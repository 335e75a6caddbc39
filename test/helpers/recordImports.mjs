// Loaded with `node --import` into a child process under test: registers
// recordImportsHooks.mjs, which appends the URL of every module the process
// resolves to the file named by RECORD_IMPORTS_FILE, one a line. A test can
// then say which modules a command loaded, without reaching into the loader.
import { register } from 'node:module';

register('./recordImportsHooks.mjs', import.meta.url);
