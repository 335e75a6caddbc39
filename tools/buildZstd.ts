/**
 * `npm run build:zstd -- <zstd checkout>`: compiles zstd's decoder
 * (tools/zstd/zstdSearch.c over the checkout's lib/) to WebAssembly and writes
 * it into lambda/search/parquet/zstdWasm.ts, so the search needs no toolchain
 * and no file beside the JavaScript at run time.
 *
 * Needs clang and wasm-ld with a wasm32-wasi C library, which Debian 12
 * packages: `apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32`.
 * The module in the tree was built from zstd v1.5.6 (794ea1b0a) with Debian's
 * clang 14.0.6, at -Os: smaller functions reach V8's optimising compiler sooner, and a
 * search is a process's first and only scan (BENCHMARKS.md, section 8: -Os
 * searched 100,000 rows in 127 ms where -O3 took 142). `--opt` picks another level.
 *
 * The checkout's lib/ is copied and patched first (see {@link PATCHES}): its
 * bit readers get 64-bit containers. wasm32's size_t is 32 bits, so zstd
 * takes it for a 32-bit machine and reloads its bit streams two or three times
 * as often, while WebAssembly's i64 is a native 64-bit register on every host
 * Node runs on. Patched, the corpus's embedding pages decode 17 to 20 % faster,
 * to the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SOURCE = fileURLToPath(new URL('./zstd/zstdSearch.c', import.meta.url));
const LICENCE = fileURLToPath(new URL('./zstd/LICENSE', import.meta.url));
const TARGET = fileURLToPath(new URL('../lambda/search/parquet/zstdWasm.ts', import.meta.url));

/**
 * Exact replacements in the checkout's lib/, each found exactly `count` times
 * (else the build stops: another zstd version needs them looked at again).
 * With them the decoder reads its bit streams as a 64-bit build does, and
 * keeps what depends on the width of pointers and size_t as a 32-bit build.
 * Checked for the decoder only: with MEM_64bits() true, encoder code such as
 * MEM_writeLEST and ZSTD_NbCommonBytes would be wrong on wasm32, so a new zstd
 * whose decoder calls them needs these patches looked at again.
 */
const PATCHES: readonly { file: string; from: string; to: string; count: number; why: string }[] = [
  {
    file: 'common/bitstream.h',
    from: 'typedef size_t BitContainerType;',
    to: 'typedef U64 BitContainerType;',
    count: 1,
    why: 'the bit readers hold 64 bits',
  },
  {
    file: 'common/bitstream.h',
    from: 'bitD->bitContainer = MEM_readLEST(bitD->ptr);',
    to: 'bitD->bitContainer = MEM_readLE64(bitD->ptr);',
    count: 3,
    why: 'and load 8 bytes at a time (sizeof(bitContainer) is 8 everywhere it is asked)',
  },
  {
    file: 'common/mem.h',
    from: 'MEM_STATIC unsigned MEM_32bits(void) { return sizeof(size_t)==4; }',
    to: 'MEM_STATIC unsigned MEM_32bits(void) { return 0; }',
    count: 1,
    why: "the decoders' unrolling and reload schedule of a 64-bit build (they ask this of the bit container)",
  },
  {
    file: 'common/mem.h',
    from: 'MEM_STATIC unsigned MEM_64bits(void) { return sizeof(size_t)==8; }',
    to: 'MEM_STATIC unsigned MEM_64bits(void) { return 1; }',
    count: 1,
    why: 'the same',
  },
  {
    file: 'decompress/huf_decompress.c',
    from: 'if (!MEM_isLittleEndian() || MEM_32bits())\n        return 0;',
    to: 'if (!MEM_isLittleEndian() || sizeof(size_t) == 4)\n        return 0;',
    count: 1,
    why: 'the fast Huffman loops do size_t arithmetic on 64-bit values: off, as on a 32-bit build',
  },
  {
    file: 'decompress/huf_decompress.c',
    from: 'BYTE* const olimit = oend - (sizeof(size_t)-1);',
    to: 'BYTE* const olimit = oend - 7;',
    count: 1,
    why: "4X2's unrolled loop writes up to 8 bytes a stream in 64-bit mode: the room a 64-bit build leaves",
  },
  {
    file: 'decompress/zstd_decompress_block.c',
    from: '(MEM_32bits() && (size_t)(oend - op) < sequenceLength + WILDCOPY_OVERLENGTH)',
    to: '(sizeof(size_t) == 4 && (size_t)(oend - op) < sequenceLength + WILDCOPY_OVERLENGTH)',
    count: 2,
    why: "a 32-bit build's guard against a match length overflowing a pointer: kept",
  },
];

/** A copy of the checkout's lib/ in `work`, patched. */
async function patchedLib(checkout: string, work: string): Promise<string> {
  const lib = path.join(work, 'lib');
  await cp(path.join(path.resolve(checkout), 'lib'), lib, { recursive: true });
  for (const patch of PATCHES) {
    const file = path.join(lib, patch.file);
    const source = await readFile(file, 'utf8');
    const found = source.split(patch.from).length - 1;
    if (found !== patch.count) {
      throw new Error(
        `Expected ${patch.count} of \`${patch.from}\` in ${patch.file}, found ${found} (${patch.why})`,
      );
    }
    await writeFile(file, source.split(patch.from).join(patch.to));
  }
  return lib;
}

const { values, positionals } = parseArgs({
  options: { opt: { type: 'string', default: 'Os' } },
  allowPositionals: true,
});
const checkout = positionals[0];
if (checkout === undefined) throw new Error('Usage: npm run build:zstd -- <zstd checkout> [--opt Os]');
if (!/^O[0-3sz]$/.test(values.opt))
  throw new Error(`Expected --opt to be O0-O3, Os or Oz, got ${values.opt}`);

const work = await mkdtemp(path.join(tmpdir(), 'zstd-wasm-'));
try {
  const output = path.join(work, 'zstd.wasm');
  const lib = await patchedLib(checkout, work);
  execFileSync(
    'clang',
    [
      '--target=wasm32-wasi',
      '--sysroot=/usr',
      '-isystem',
      '/usr/include/wasm32-wasi',
      '-L/usr/lib/wasm32-wasi',
      `-I${lib}`,
      `-${values.opt}`,
      '-DNDEBUG',
      // What every Node that runs embed-batch has: SIMD, bulk memory (memcpy as memory.copy).
      '-msimd128',
      '-mbulk-memory',
      '-msign-ext',
      '-mnontrapping-fptoint',
      '-mmutable-globals',
      '-nostartfiles',
      '-Wl,--no-entry',
      '-Wl,-z,stack-size=65536',
      '-Wl,--strip-all',
      '-o',
      output,
      SOURCE,
    ],
    { stdio: 'inherit' },
  );
  const bytes = await readFile(output);
  // The licence goes where the binary goes: into the generated file, so into dist/.
  const licence = (await readFile(LICENCE, 'utf8')).trimEnd().split('\n');
  await writeFile(
    TARGET,
    [
      `// Generated by \`npm run build:zstd\` from tools/zstd/zstdSearch.c, -${values.opt}: edit that, then run it.`,
      '/*',
      " * The module is zstd's decoder (https://github.com/facebook/zstd), under its BSD licence:",
      ' *',
      ...licence.map((line) => ` * ${line}`.trimEnd()),
      ' */',
      "/** zstd's decoder as WebAssembly bytes in base64 (see tools/buildZstd.ts). */",
      'export const ZSTD_WASM =',
      `  '${bytes.toString('base64')}';`,
      '',
    ].join('\n'),
  );
  process.stderr.write(`wrote ${TARGET} (${bytes.byteLength} bytes of WebAssembly)\n`);
} finally {
  await rm(work, { recursive: true, force: true });
}
