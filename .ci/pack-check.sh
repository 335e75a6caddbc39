#!/usr/bin/env bash
# The real install path, on every change: pack the package as `npm publish` would, install the
# tarball into an empty folder (its dependencies come from the registry, not from this tree), and
# run the installed `embed-batch` there, offline: --version, run, search, demo. Then check that
# every module of the installed package loads with only its declared dependencies, and that its
# types resolve through `exports` for a TypeScript consumer.
# Usage: bash .ci/pack-check.sh (from anywhere; npm pack builds through the prepare script).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

# Outside the repo, so that nothing below resolves from this tree's node_modules.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/embed-batch-pack-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "pack-check: FAILED: $*" >&2
  exit 1
}
step() { echo "pack-check: $*"; }

version="$(node -p "require('./package.json').version")"
step "npm pack (its prepare script builds dist/)"
npm pack --silent --pack-destination "$tmp" >/dev/null
tarball="$tmp/embed-batch-$version.tgz"
[ -f "$tarball" ] || fail "no $tarball"

# What ships: dist/, the demo's fixture, README, LICENSE, package.json; no sources, tests or infra.
contents="$(tar -tzf "$tarball" | sed 's#^package/##' | sort)"
files="$(wc -l <<<"$contents")"
unexpected="$(grep -Ev '^(dist/.+\.(js|d\.ts)|fixtures/products\.csv|README\.md|LICENSE|package\.json)$' <<<"$contents" || true)"
[ -z "$unexpected" ] || fail "the tarball holds files it should not: $(tr '\n' ' ' <<<"$unexpected")"
for wanted in dist/cli.js dist/index.js dist/index.d.ts fixtures/products.csv LICENSE README.md; do
  grep -qx "$wanted" <<<"$contents" || fail "the tarball lacks $wanted"
done
step "tarball: $files files, $(du -k "$tarball" | cut -f1) KiB"

app="$tmp/app"
mkdir "$app"
cd "$app"
echo '{ "name": "pack-check", "private": true, "type": "module" }' >package.json
step "npm install the tarball into an empty folder"
npm install --no-audit --no-fund --loglevel=error "$tarball" >/dev/null
[ -x node_modules/.bin/embed-batch ] || fail "npm did not link the embed-batch command"

# No key and no base URL: the offline embedder, no network.
unset EMBEDDINGS_API_KEY IONOS_API_TOKEN EMBEDDINGS_BASE_URL EMBEDDINGS_MODEL

step "npx embed-batch --version"
printed="$(npx --no -- embed-batch --version)"
[ "$printed" = "embed-batch $version" ] || fail "--version printed '$printed'"

step "npx embed-batch run tiny.csv"
printf 'id,text\nk-1,stainless steel electric kettle\nk-2,ceramic pour-over coffee dripper\nk-3,bamboo cutting board\n' >tiny.csv
npx --no -- embed-batch run tiny.csv
[ -f out/tiny.csv/manifest.json ] || fail "run wrote no out/tiny.csv/manifest.json"
node -e '
  const usage = JSON.parse(require("fs").readFileSync("out/tiny.csv/usage.json", "utf8"));
  if (usage.rows.embedded !== 3 || usage.endpoint !== "offline") {
    console.error(`usage.json: ${JSON.stringify(usage.rows)} via ${usage.endpoint}`);
    process.exit(1);
  }' || fail "run did not embed the 3 rows offline"

step "npx embed-batch search out/tiny.csv"
hits="$(npx --no -- embed-batch search out/tiny.csv "coffee dripper" -k 2)"
echo "$hits"
grep -Eq '^1\. [0-9.]+ +k-2 ' <<<"$hits" || fail "search did not rank k-2 first"

step "npx embed-batch demo"
npx --no -- embed-batch demo >/dev/null
[ -f out/fixtures/products.csv/manifest.json ] || fail "the demo wrote no out/fixtures/products.csv/ here"
[ ! -e node_modules/embed-batch/out ] || fail "the demo wrote inside node_modules"

step "every module of the installed package loads with only its declared dependencies"
node --input-type=module -e '
  import { readdirSync } from "node:fs";
  import path from "node:path";
  import { pathToFileURL } from "node:url";
  const dist = path.resolve("node_modules/embed-batch/dist");
  const modules = readdirSync(dist, { recursive: true })
    .filter((f) => f.endsWith(".js") && f !== "cli.js");
  for (const file of modules) await import(pathToFileURL(path.join(dist, file)).href);
  const api = await import("embed-batch");
  if (typeof api.createEmbedder !== "function") throw new Error("embed-batch exports no createEmbedder");
  const { embedder } = api.createEmbedder({ model: "any", concurrency: 1 });
  const { vectors } = await embedder.embedBatch(["hello"]);
  if (vectors[0]?.length !== api.OFFLINE_DEFAULT_DIMENSIONS) throw new Error("no offline vector");
  console.log(`pack-check: ${modules.length} modules load; the library embeds offline`);
' || fail "a module of the installed package does not load"

step "a TypeScript consumer type-checks against the installed declarations"
cat >consumer.ts <<'EOF'
import { type CreateEmbedderOptions, createEmbedder, EmbedBatchError, type UsageReport } from 'embed-batch';

const options: CreateEmbedderOptions = { model: 'local/feature-hash', concurrency: 1 };
const { embedder, offline } = createEmbedder(options);
const batch = await embedder.embedBatch(['hello']);
const first: Float32Array | undefined = batch.vectors[0];
const rows: UsageReport['rows'] | undefined = undefined;
export const seen = [offline, first?.length, rows, new EmbedBatchError('x') instanceof Error];
EOF
cat >tsconfig.json <<EOF
{
  "compilerOptions": {
    "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
    "noEmit": true, "skipLibCheck": false, "types": ["node"], "typeRoots": ["$repo/node_modules/@types"]
  },
  "files": ["consumer.ts"]
}
EOF
"$repo/node_modules/.bin/tsc" -p . || fail "the installed declarations do not type-check"

step "passed"
