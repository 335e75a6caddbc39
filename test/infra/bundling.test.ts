import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLE_FILE,
  bundleHandler,
  HANDLER_BUILD,
  type HandlerBundle,
  handlerBundling,
} from '../../infra/bundling.ts';
import { readConfig } from '../../infra/config.ts';
import { EmbedBatchStack } from '../../infra/EmbedBatchStack.ts';
import { CDK_CONTEXT } from './synthEmbedBatch.ts';

const WASM_FILE = 'parquet_wasm_bg.wasm';

/** Loads `file` with `require` in a fresh Node process; what it prints and whether it failed. */
function requireInChild(file: string): { status: number | null; stdout: string; stderr: string } {
  const script = `process.stdout.write(typeof require(${JSON.stringify(file)}).handler)`;
  // cwd outside the repository: nothing may resolve from the project's node_modules.
  const result = spawnSync(process.execPath, ['-e', script], { cwd: path.dirname(file), encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('Function: bundleHandler', () => {
  let workDir: string;
  let bundle: HandlerBundle;

  beforeAll(async () => {
    // Prepare
    workDir = mkdtempSync(path.join(tmpdir(), 'embed-batch-bundle-'));
    bundle = await bundleHandler(path.join(workDir, 'esbuild'));
  });

  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('gives NodejsFunction the shared esbuild options, run locally', () => {
    expect(handlerBundling).toMatchObject({
      forceDockerBundling: false,
      format: OutputFormat.CJS,
      target: HANDLER_BUILD.target,
      minify: HANDLER_BUILD.minify,
      sourceMap: HANDLER_BUILD.sourcemap,
      externalModules: HANDLER_BUILD.external,
    });
    expect(HANDLER_BUILD).toMatchObject({ format: 'cjs', target: 'node20', minify: true, sourcemap: true });
  });

  it('copies the parquet-wasm binary beside the bundle after bundling', () => {
    // Act
    const commands = handlerBundling.commandHooks?.afterBundling('/in', '/asset out') ?? [];

    // Assess
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatch(
      /^cp '.*\/node_modules\/parquet-wasm\/node\/parquet_wasm_bg\.wasm' '\/asset out\/parquet_wasm_bg\.wasm'$/,
    );
  });

  it('writes the bundle, its source map and the wasm, without warnings', () => {
    expect(bundle.file).toBe(path.join(bundle.outDir, BUNDLE_FILE));
    expect(readdirSync(bundle.outDir).sort()).toEqual(['index.js', 'index.js.map', WASM_FILE]);
    expect(bundle.warnings).toEqual([]);
  });

  it('loads in a separate Node process and exports `handler`', () => {
    // Act
    const loaded = requireInChild(bundle.file);

    // Assess
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout).toBe('function');
  });

  it('cannot load without the wasm beside it (why the copy exists)', () => {
    // Prepare
    const bare = path.join(workDir, 'bare');
    mkdirSync(bare);
    copyFileSync(bundle.file, path.join(bare, BUNDLE_FILE));

    // Act
    const loaded = requireInChild(path.join(bare, BUNDLE_FILE));

    // Assess
    expect(loaded.status).not.toBe(0);
    expect(loaded.stderr).toContain(WASM_FILE);
  });

  it('builds the same index.js as the stack deploys', () => {
    // Prepare: the stack with real bundling, as `cdk synth` runs it.
    const app = new App({ outdir: path.join(workDir, 'cdk.out'), context: CDK_CONTEXT });
    new EmbedBatchStack(app, 'EmbedBatch', { config: readConfig(app) });

    // Act
    const assembly = app.synth();
    const assetDirs = readdirSync(assembly.directory)
      .map((name) => path.join(assembly.directory, name))
      .filter((dir) => existsSync(path.join(dir, BUNDLE_FILE)));

    // Assess
    expect(assetDirs).toHaveLength(1);
    const assetDir = assetDirs[0] as string;
    expect(readdirSync(assetDir).sort()).toEqual(['index.js', 'index.js.map', WASM_FILE]);
    expect(readFileSync(path.join(assetDir, BUNDLE_FILE)).equals(readFileSync(bundle.file))).toBe(true);
  });
});
