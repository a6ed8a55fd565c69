import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Benchmark } from './benchmark';
import { SqlEventStore } from '../src/eventstore/sqlEventStore';
import { openPostgres } from '../src/sql/postgres';

/**
 * How long the tools take on a built tree, from process start to exit, as an operator runs them
 * (`node bin/mentoring-*.js`), against the peer of a bare `node -e 0` in the same rounds.
 */
const root = join(__dirname, '..', '..');

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * CPU time (user + system, ms) of this process's children that have been waited for, from /proc (Linux;
 * NaN elsewhere): around a spawnSync it is the tool's own CPU, which a loaded machine moves far less than
 * its wall time.
 */
const childrenCpuMs = (): number => {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
  } catch {
    return NaN;
  }
};

export const cliStartup: Benchmark = {
  name: 'cli-startup',
  title: 'Tools on a built tree: token, events export, projections status',
  target: 'each answers in under a second on a built tree',
  async run(log) {
    const rounds = Number(process.env.BENCH_CLI_ROUNDS ?? 7);
    const dataDir = mkdtempSync(join(tmpdir(), 'cli-startup-'));
    const env = { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, AUTH_TOKEN_SECRET: randomBytes(32).toString('base64url') };
    // With DATABASE_URL, the same tools on PostgreSQL too (a schema of the bench's own, holding an empty log).
    const databaseUrl = process.env.DATABASE_URL;
    const schema = `bench_cli_${randomBytes(4).toString('hex')}`;
    let postgresEnv: Record<string, string> | null = null;
    if (databaseUrl) {
      const admin = openPostgres(databaseUrl, { max: 1 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.close();
      const db = openPostgres(databaseUrl, { max: 2, options: `-c search_path=${schema}` });
      await SqlEventStore.create(db);
      await db.close();
      const scoped = new URL(databaseUrl);
      scoped.searchParams.set('options', `-c search_path=${schema}`);
      postgresEnv = { DATABASE_URL: scoped.toString() };
    }
    const cpu = new Map<string, number[]>();
    const time = (args: readonly string[], extra: Record<string, string> = {}, name?: string): number => {
      const cpuBefore = childrenCpuMs();
      const started = process.hrtime.bigint();
      const result = spawnSync(process.execPath, args, { cwd: root, env: { ...env, ...extra }, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`${args.join(' ')} failed (${result.status}): ${result.stderr}`);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (name) cpu.set(name, [...(cpu.get(name) ?? []), childrenCpuMs() - cpuBefore]);
      return ms;
    };
    const commands: readonly (readonly [string, readonly string[], Record<string, string>?])[] = [
      ['node -e 0 (peer)', ['-e', '0']],
      ['mentoring-token --role admin --subject bench', ['bin/mentoring-token.js', '--role', 'admin', '--subject', 'bench']],
      ['mentoring-events --help', ['bin/mentoring-events.js', '--help']],
      ['mentoring-events export (empty embedded store)', ['bin/mentoring-events.js', 'export']],
      ['mentoring-projections status (embedded store)', ['bin/mentoring-projections.js', 'status']],
      ...(postgresEnv
        ? ([
            ['mentoring-events export (empty log, PostgreSQL)', ['bin/mentoring-events.js', 'export'], postgresEnv],
            ['mentoring-projections status (PostgreSQL)', ['bin/mentoring-projections.js', 'status'], postgresEnv],
          ] as const)
        : []),
    ];
    try {
      // Creates the embedded store the other commands read.
      time(['bin/mentoring-projections.js', 'status']);
      if (postgresEnv) time(['bin/mentoring-projections.js', 'status'], postgresEnv);
      const samples = new Map<string, number[]>(commands.map(([name]) => [name, []]));
      for (let round = 0; round < rounds; round++) {
        for (const [name, args, extra] of commands) samples.get(name)!.push(time(args, extra, name));
        log(`round ${round + 1}/${rounds}`);
      }
      const peer = median(samples.get(commands[0]![0])!);
      const rows = commands.map(([name]) => {
        const ms = median(samples.get(name)!);
        return [name, ms.toFixed(0), (ms / peer).toFixed(1), median(cpu.get(name)!).toFixed(0)];
      });
      const slowest = Math.max(...commands.slice(1).map(([name]) => median(samples.get(name)!)));
      return {
        table: { columns: ['command', 'median ms', '× node -e 0', 'median CPU ms'], rows },
        environment: [`${rounds} interleaved rounds, wall time from spawn to exit; load average at the end ${loadavg().map((value) => value.toFixed(1)).join(', ')}`],
        result: `slowest tool ${slowest.toFixed(0)} ms (median), ${(slowest / peer).toFixed(1)}× a bare node start`,
        targetMet: slowest < 1000,
        details:
          'Each tool runs `dist/` directly (the launcher builds only when `dist/` is missing) and loads the database ' +
          'driver of the store it opens only when it opens it; the embedded-store commands include starting PGlite (its WASM ' +
          'PostgreSQL), most of their time: with `shared_buffers` at 16 MB (src/sql/pglite.ts) and V8 compiling its WASM with ' +
          'the baseline compiler only (src/cli/database.ts) about 0.6 s of CPU (1.4–1.7 s before). The PostgreSQL rows (run when ' +
          'DATABASE_URL is set) are the same tools without that start. CPU is user + system time of the tool (all its threads), ' +
          'from /proc: on a loaded machine it moves far less than the wall time.',
      };
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      if (databaseUrl) {
        const admin = openPostgres(databaseUrl, { max: 1 });
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.close();
      }
    }
  },
};
