import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The repository root (this file lives in `<root>/infra`). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Lambda handler's source file, relative to the project root; exports `handler`. */
export const HANDLER_ENTRY = 'lambda/handler.ts';

/** File name of the bundle inside the asset (Lambda's handler is then `index.handler`). */
export const BUNDLE_FILE = 'index.js';

/**
 * parquet-wasm's Node build (`lambda/write/parquetWasm.ts` imports it) reads
 * this file synchronously from `__dirname` at load, so it must sit beside the
 * bundle. Resolved through the package's `exports`, wherever npm put it.
 */
export const PARQUET_WASM_SOURCE = createRequire(import.meta.url).resolve(
  'parquet-wasm/node/parquet_wasm_bg.wasm',
);

/**
 * The esbuild settings of the handler bundle, written once: `handlerBundling`
 * hands them to `NodejsFunction`, `bundleHandler` to the esbuild API.
 *
 * - CommonJS, not ESM: parquet-wasm's Node build uses `__dirname`, which an
 *   ESM bundle lacks.
 * - node20 target: runs on the nodejs24.x runtime and on the Node 20 used
 *   for development, so tests can run the very artifact that is deployed.
 * - nothing external: the AWS SDK is bundled at the versions in
 *   package-lock.json (lib-storage must match client-s3) instead of
 *   whatever the runtime ships, and the bundle runs anywhere on its own.
 */
export const HANDLER_BUILD = {
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  sourcemap: true,
  external: [] as string[],
} as const;

/** `NodejsFunction` bundling for the handler: local esbuild (no Docker), then the wasm copied beside the bundle. */
export const handlerBundling: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.CJS,
  target: HANDLER_BUILD.target,
  minify: HANDLER_BUILD.minify,
  sourceMap: HANDLER_BUILD.sourcemap,
  externalModules: HANDLER_BUILD.external,
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    // Runs with bash on the host (local bundling), after esbuild wrote index.js to outputDir.
    afterBundling: (_inputDir: string, outputDir: string) => [
      `cp ${shellQuote(PARQUET_WASM_SOURCE)} ${shellQuote(path.join(outputDir, path.basename(PARQUET_WASM_SOURCE)))}`,
    ],
  },
};

/** What `bundleHandler` wrote. */
export interface HandlerBundle {
  /** The directory, as given. */
  readonly outDir: string;
  /** `<outDir>/index.js`; `require(file).handler` is the Lambda handler. */
  readonly file: string;
  /** esbuild's warnings, formatted. */
  readonly warnings: readonly string[];
}

/**
 * Bundles the handler exactly as the stack does (same esbuild options, same
 * wasm copy) with the esbuild JS API, into `outDir` (created if missing):
 * `index.js`, `index.js.map` and `parquet_wasm_bg.wasm`. For tests that run
 * the deployed artifact in a separate Node process.
 *
 * @param entry - @default `<project root>/lambda/handler.ts`
 */
export async function bundleHandler(
  outDir: string,
  entry: string = path.join(PROJECT_ROOT, HANDLER_ENTRY),
): Promise<HandlerBundle> {
  // esbuild is a devDependency: loaded only when a test bundles, never by `cdk synth`'s app.
  const esbuild = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, BUNDLE_FILE);
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    outfile: file,
    absWorkingDir: PROJECT_ROOT,
    platform: HANDLER_BUILD.platform,
    format: HANDLER_BUILD.format,
    target: HANDLER_BUILD.target,
    minify: HANDLER_BUILD.minify,
    sourcemap: HANDLER_BUILD.sourcemap,
    external: [...HANDLER_BUILD.external],
    logLevel: 'silent',
  });
  copyFileSync(PARQUET_WASM_SOURCE, path.join(outDir, path.basename(PARQUET_WASM_SOURCE)));
  const warnings = await esbuild.formatMessages(result.warnings, { kind: 'warning', color: false });
  return { outDir, file, warnings };
}

/** POSIX single-quoting, so paths with spaces survive `bash -c`. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
