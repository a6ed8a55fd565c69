import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtTree } from '../support/builtTree';

/*
 * The tools as an operator runs them: real processes of a built tree (bin/ launchers, dist/ built
 * from the current sources into a temporary tree, so a stale dist/ in the checkout cannot fool the test), their
 * stdout and stderr apart, their exit codes, and the embedded store's lock against a real holder.
 */

const root = join(__dirname, '..', '..');
let tree: string;
const clean = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };

const run = (tool: string, args: readonly string[], env: Record<string, string> = {}): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, [join(tree, 'bin', `mentoring-${tool}.js`), ...args], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 120_000 });

// One build shared with the other tests that run the built tree (test/support/builtTree.ts).
beforeAll(async () => {
  tree = await builtTree();
}, 960_000);

describe('--help', () => {
  it.each([
    ['token', ['--help'], 'Usage: mentoring-token'],
    ['events', ['--help'], 'Usage: mentoring-events <command>'],
    ['events', ['export', '--help'], 'Usage: mentoring-events export'],
    ['events', ['verify', '--help'], 'Usage: mentoring-events verify'],
    ['events', ['migrate', '--help'], 'Usage: mentoring-events migrate'],
    ['projections', ['--help'], 'Usage: mentoring-projections <command>'],
    ['projections', ['status', '--help'], 'Usage: mentoring-projections status'],
    ['projections', ['rebuild', '--help'], 'Usage: mentoring-projections rebuild'],
    ['server', ['--help'], 'Usage: mentoring-server'],
  ])('%s %j prints its usage on stdout, exits 0 and touches nothing', (tool, args, usage) => {
    // A store that does not exist: help must not open (or create) it.
    const dataDir = join(tree, 'no-such-store');
    const result = run(tool, args, { DATA_DIR: dataDir });
    expect(result.status).toBe(0);
    expect(result.stdout.startsWith(usage)).toBe(true);
    expect(result.stderr).toBe('');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('does not rebuild a built tree', () => {
    const built = statSync(join(tree, 'dist', 'src', 'cli', 'token.js')).mtimeMs;
    expect(run('token', ['--help']).status).toBe(0);
    expect(statSync(join(tree, 'dist', 'src', 'cli', 'token.js')).mtimeMs).toBe(built);
  });
});

describe('usage errors and settings', () => {
  it('refuses unknown commands and options with exit 2, on stderr only', () => {
    for (const args of [['frobnicate'], ['verify', '--strem', 'x'], ['export', '--nope']]) {
      const result = run('events', args, { DATA_DIR: join(tree, 'no-such-store') });
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toBe('');
    }
    const rebuild = run('projections', ['rebuild', 'no_such_model'], { DATA_DIR: join(tree, 'no-such-store') });
    expect(rebuild.status).toBe(2);
    expect(rebuild.stderr).toContain('Unknown read model: no_such_model.');
  });

  it('points `events replay` at the one rebuild command', () => {
    const result = run('events', ['replay', '--all']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('`events replay` is now `mentoring-projections rebuild');
  });

  it('stops the server and the tools on a bad setting with one line per problem, exit 1, no stack trace', () => {
    const env = { LOG_LEVEL: 'verbose', EVENTSTORE_CONNECTION_STRING: 'http://kurrent:2113' };
    for (const [tool, args] of [['server', []], ['projections', ['status']]] as const) {
      const result = run(tool, args, env);
      expect(result.status).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^Configuration error: EVENTSTORE_CONNECTION_STRING must be a KurrentDB connection string .*got "http:\/\/kurrent:2113"\.$/),
        'Configuration error: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "verbose".',
      ]);
    }
  });

  it('prints a token and nothing else on stdout', () => {
    const result = run('token', ['--role', 'admin', '--subject', 'alice'], { AUTH_TOKEN_SECRET: 'a'.repeat(40) });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(result.stderr).toBe('');
  });
});

describe('the embedded store held by another process', () => {
  it('refuses a second process naming the holder, and takes over the lock of a killed one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'held-store-'));
    const holder = spawn(process.execPath, ['-r', join(root, 'test', 'support', 'tsRequire.js'), join(root, 'test', 'eventstore', 'appendUntilKilled.ts'), dataDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let acked = 0;
    await new Promise<void>((resolve, reject) => {
      holder.stdout.on('data', (chunk: Buffer) => {
        acked += (chunk.toString().match(/^ack /gm) ?? []).length;
        if (acked >= 5) resolve();
      });
      holder.once('exit', (code) => reject(new Error(`the holder exited early (${code})`)));
    });
    try {
      for (const [tool, args] of [['events', ['export']], ['events', ['verify']], ['projections', ['status']]] as const) {
        const refused = run(tool, args, { DATA_DIR: dataDir });
        expect(refused.status).toBe(1);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toContain(`The embedded store in ${dataDir} is in use by process ${holder.pid} `);
        expect(refused.stderr).toContain('stop that process first');
      }
      expect(JSON.parse(readFileSync(join(dataDir, 'store.lock'), 'utf8')).pid).toBe(holder.pid);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => (holder.exitCode !== null || holder.signalCode !== null ? resolve(null) : holder.once('exit', resolve)));
    }
    // The holder is gone without releasing its lock: the next process takes the lock over.
    const exported = run('events', ['export'], { DATA_DIR: dataDir });
    expect(exported.stderr).toBe('');
    expect(exported.status).toBe(0);
    const lines = exported.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(acked);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ type: 'Tick', streamId: expect.stringMatching(/^killed-\d$/) });
    // Released when the tool ended.
    expect(existsSync(join(dataDir, 'store.lock'))).toBe(false);
    rmSync(dataDir, { recursive: true, force: true });
  }, 240_000);

  it('a lock file of a dead process or a half-written one does not block', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stale-store-'));
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'store.lock'), '{"pid":');
    const result = run('projections', ['status'], { DATA_DIR: dataDir });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { projection: string }).projection)).toContain('users');
    rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);
});
