import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/*
 * One build of the project for every test that runs the built tools as processes (the CLIs, the
 * server's bin, the image's start script). Compiling the whole project takes minutes on a loaded
 * 2-core machine; each such test file used to compile it for itself. The tree is keyed by a hash of
 * everything the build reads, so test files of one run (CI) share one build, a later run with the
 * same sources reuses it, and a changed source is built anew. Jest runs files in parallel workers:
 * the first takes a lock (a directory, made atomically, holding its pid) and builds; the others
 * wait for the finished tree, and take the lock over if its holder died.
 *
 * The tree: bin/ and package.json copied, node_modules linked to the checkout's, dist/ compiled
 * from the checkout's sources. Tests read it and never write into it.
 */

const root = join(__dirname, '..', '..');
/** What `tsconfig.build.json` compiles, and what the tree copies. */
const INPUTS = ['src', 'projections', 'bench', 'bin', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

const filesUnder = (path: string): string[] => {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => filesUnder(join(path, name)));
};

const sourcesHash = (): string => {
  const hash = createHash('sha256').update(root).update('\0');
  for (const file of INPUTS.flatMap((input) => filesUnder(join(root, input)))) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

const lockHolder = (lock: string): number | null => {
  try {
    const pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const build = (tree: string): void => {
  const partial = `${tree}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  cpSync(join(root, 'bin'), join(partial, 'bin'), { recursive: true });
  cpSync(join(root, 'package.json'), join(partial, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(partial, 'node_modules'));
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(partial, 'dist')], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (tsc.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`The build failed:\n${tsc.stdout}${tsc.stderr}`);
  }
  // Whole or not at all: a waiter sees the tree only once it is complete.
  renameSync(partial, tree);
};

/** The path of a built tree of the current sources, building it if no test has yet. */
export const builtTree = async (timeoutMs = 900_000): Promise<string> => {
  const tree = join(tmpdir(), `mentoring-built-tree-${sourcesHash()}`);
  const lock = `${tree}.lock`;
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(join(tree, 'dist'))) {
    try {
      mkdirSync(lock);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(lock);
      // A holder that died mid-build leaves its lock: taken over. One that has not written its pid yet is waited for.
      if (holder !== null && !alive(holder)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`Timed out waiting for the build another test process holds (${lock}).`);
      else await sleep(500);
      continue;
    }
    try {
      writeFileSync(join(lock, 'pid'), String(process.pid));
      if (!existsSync(join(tree, 'dist'))) build(tree);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return tree;
};
