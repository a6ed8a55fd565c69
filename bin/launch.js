'use strict';
// Runs a built entry point of this package (dist/), building the project once if dist/ is missing:
// the tools answer at once on a built tree and never rebuild on every call. Nothing here writes to
// stdout: the build's output goes to stderr, so a tool's stdout carries its data only.
const { existsSync } = require('node:fs');
const { join, relative } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');

const ensureBuilt = (file) => {
  if (existsSync(file)) return;
  process.stderr.write(`Building the project once (${relative(process.cwd(), file) || file} is missing)...\n`);
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    process.stderr.write('Cannot build: TypeScript is not installed. Run `npm install` in the project first.\n');
    process.exit(1);
  }
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: ['ignore', 2, 2] });
  if (result.status !== 0 || !existsSync(file)) {
    process.stderr.write('The build failed (see above); fix it, or run `npm run build` to see it again.\n');
    process.exit(1);
  }
};

/** `entry`: the module under dist/src, without `.js` (`cli/token`, `index`). */
module.exports = (entry) => {
  const file = join(root, 'dist', 'src', ...entry.split('/')) + '.js';
  ensureBuilt(file);
  const tool = require(file);
  if (typeof tool.main === 'function') require(join(root, 'dist', 'src', 'cli', 'common.js')).runTool(() => tool.main());
};
