#!/usr/bin/env bash
# Runs the test suite on Node 24, the Lambda's runtime (these machines have Node 20). Node 24 is the
# npm registry's `node` package at an exact version, installed into a folder of its own: in this
# project's devDependencies it would make every `npm run` script use Node 24 and lose the Node 20 run.
# Its folder goes first on PATH, so vitest, its forks and every child a test spawns (process.execPath,
# `npx tsx` in cdk.json) run on Node 24 too.
# Usage: bash .ci/test-node24.sh [vitest arguments]
set -euo pipefail
NODE24_VERSION=24.21.0
cd "$(dirname "$0")/.."

prefix="$(mktemp -d "${TMPDIR:-/tmp}/embed-batch-node24-XXXXXX")"
trap 'rm -rf "$prefix"' EXIT
npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" "node@$NODE24_VERSION" >/dev/null
bin="$prefix/node_modules/.bin"
actual="$("$bin/node" --version)"
if [ "$actual" != "v$NODE24_VERSION" ]; then
  echo "test-node24: expected Node v$NODE24_VERSION, got $actual" >&2
  exit 1
fi
echo "test-node24: vitest on Node $actual"
PATH="$bin:$PATH" node node_modules/vitest/vitest.mjs run "$@"
