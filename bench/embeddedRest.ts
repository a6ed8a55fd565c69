import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqlEventStore } from '../src/eventstore/sqlEventStore';
import { openPglite } from '../src/sql/pglite';
import { openPostgres } from '../src/sql/postgres';
import { fmt } from './appendThroughput';
import type { Benchmark } from './benchmark';
import { seed } from './eventLogScale';

/**
 * The server as an operator starts it on the embedded store (`node bin/mentoring-server.js` with
 * DATA_DIR, a built tree), on an empty store and on one holding 100,000 events with its read models
 * caught up: the time from spawn to the first 200 from /health, and its resident memory at rest a few
 * seconds later. The same server on PostgreSQL (an empty log, when DATABASE_URL is set) is the peer:
 * what the service costs without the database in its process.
 */
const root = join(__dirname, '..', '..');
const TARGET_SECONDS = 2;
const TARGET_MIB = 300;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/**
 * CPU time (user + system) so far from a /proc stat file (Linux): `/proc/<pid>/stat` for the whole
 * process, `/proc/<pid>/task/<pid>/stat` for its main thread alone.
 */
const cpuMs = (statFile: string): number => {
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
};

const residentMib = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** One of prom-client's default metrics from the server's /metrics, in MiB. */
const metricMib = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;

interface Start {
  readonly healthMs: number;
  readonly cpuAtHealthMs: number;
  readonly mainThreadCpuMs: number;
  readonly restMib: number;
  readonly heapUsedMib: number;
  readonly externalMib: number;
}

const startServer = async (env: Record<string, string>, restSeconds: number): Promise<Start> => {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, ['bin/mentoring-server.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}): ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) break;
      await sleep(10);
    }
    const healthMs = performance.now() - started;
    const cpuAtHealthMs = cpuMs(`/proc/${child.pid!}/stat`);
    const mainThreadCpuMs = cpuMs(`/proc/${child.pid!}/task/${child.pid!}/stat`);
    await sleep(restSeconds * 1000);
    const restMib = residentMib(child.pid!);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return { healthMs, cpuAtHealthMs, mainThreadCpuMs, restMib, heapUsedMib: metricMib(metrics, 'nodejs_heap_size_used_bytes'), externalMib: metricMib(metrics, 'nodejs_external_memory_bytes') };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
};

export const embeddedRest: Benchmark = {
  name: 'embedded-rest',
  title: 'The server on the embedded store at rest: time to /health and resident memory, empty and with 100,000 events',
  target: `/health within ${TARGET_SECONDS} s of spawn and under ${TARGET_MIB} MiB resident at rest, empty or with 100,000 events (issue 19, item 4)`,
  async run(log) {
    const rounds = Number(process.env.BENCH_REST_ROUNDS ?? 3);
    const restSeconds = Number(process.env.BENCH_REST_SECONDS ?? 5);
    const events = Number(process.env.BENCH_EVENTS ?? 100_000);
    const base = { AUTH_TOKEN_SECRET: randomBytes(32).toString('base64url'), METRICS: 'true' };
    const emptyDir = mkdtempSync(join(tmpdir(), 'embedded-rest-empty-'));
    const fullDir = mkdtempSync(join(tmpdir(), 'embedded-rest-full-'));
    const databaseUrl = process.env.DATABASE_URL;
    const schema = `bench_rest_${randomBytes(4).toString('hex')}`;
    try {
      log(`seeding ${fmt(events)} events into an embedded store`);
      const db = await openPglite(fullDir);
      try {
        await SqlEventStore.create(db);
        await seed(db, events, 5_000, log);
      } finally {
        await db.close();
      }
      log('catching the read models up (mentoring-projections rebuild --all)');
      const rebuild = spawnSync(process.execPath, ['bin/mentoring-projections.js', 'rebuild', '--all'], { cwd: root, env: { PATH: process.env.PATH ?? '', DATA_DIR: fullDir, ...base }, encoding: 'utf8' });
      if (rebuild.status !== 0) throw new Error(`rebuild failed: ${rebuild.stderr}`);
      // Creates the empty store (initdb, migrations), so that the timed starts are restarts like the other row.
      const first = await startServer({ ...base, DATA_DIR: emptyDir }, restSeconds);
      log(`first start on a new embedded store (initdb, migrations): /health after ${(first.healthMs / 1000).toFixed(2)} s, ${first.restMib.toFixed(0)} MiB at rest`);
      const sides: (readonly [string, Record<string, string>])[] = [
        ['embedded, empty store', { ...base, DATA_DIR: emptyDir }],
        [`embedded, ${fmt(events)} events`, { ...base, DATA_DIR: fullDir }],
      ];
      if (databaseUrl) {
        const admin = openPostgres(databaseUrl, { max: 1 });
        await admin.query(`CREATE SCHEMA ${schema}`);
        await admin.close();
        const scoped = new URL(databaseUrl);
        scoped.searchParams.set('options', `-c search_path=${schema}`);
        sides.push(['PostgreSQL, empty log (peer: no database in the process)', { ...base, DATABASE_URL: scoped.toString() }]);
        await startServer(sides[2]![1], 0);
      }
      const samples = new Map<string, Start[]>(sides.map(([name]) => [name, []]));
      for (let round = 0; round < rounds; round++) {
        for (const [name, env] of sides) samples.get(name)!.push(await startServer(env, restSeconds));
        log(`round ${round + 1}/${rounds}`);
      }
      const summary = sides.map(([name]) => {
        const runs = samples.get(name)!;
        const pick = (key: keyof Start) => median(runs.map((run) => run[key]));
        return { name, healthMs: pick('healthMs'), cpuMs: pick('cpuAtHealthMs'), mainMs: pick('mainThreadCpuMs'), rest: pick('restMib'), heap: pick('heapUsedMib'), external: pick('externalMib') };
      });
      const embedded = summary.slice(0, 2);
      const met = embedded.every((side) => side.healthMs < TARGET_SECONDS * 1000 && side.rest < TARGET_MIB) && first.restMib < TARGET_MIB;
      return {
        table: {
          columns: ['server', 's to /health', 'CPU s at /health', 'of which main thread', `MiB resident at rest (+${restSeconds} s)`, 'MiB JS heap used', 'MiB external'],
          rows: summary.map((side) => [side.name, (side.healthMs / 1000).toFixed(2), (side.cpuMs / 1000).toFixed(2), (side.mainMs / 1000).toFixed(2), side.rest.toFixed(0), side.heap.toFixed(0), side.external.toFixed(0)]),
        },
        environment: [
          `${rounds} interleaved starts per row (medians), \`node bin/mentoring-server.js\` on a built tree; first start on a new empty store: /health after ${(first.healthMs / 1000).toFixed(2)} s, ${first.restMib.toFixed(0)} MiB resident at rest (+${restSeconds} s)`,
          `load average at the end ${loadavg().map((value) => value.toFixed(1)).join(', ')} (2 cores shared with other work: the wall times move with it, the CPU column much less)`,
        ],
        result: embedded
          .map((side) => `${side.name}: /health after ${(side.healthMs / 1000).toFixed(2)} s (${(side.cpuMs / 1000).toFixed(2)} s CPU, ${(side.mainMs / 1000).toFixed(2)} s on the main thread), ${side.rest.toFixed(0)} MiB at rest`)
          .join('; '),
        targetMet: met,
        details:
          'Spawned as an operator starts it; /health polled every 10 ms; resident memory (VmRSS) read from /proc a few seconds after /health answered, ' +
          'the heap figures from its own /metrics (prom-client defaults). CPU at /health is user + system time of the server process (all its threads: ' +
          "V8's background WASM and JS compilers, GC) when /health first answered, and the main thread's share: on a loaded machine these say what the " +
          'start costs better than the wall time, and on an idle one the main thread is what /health waits for (the rest runs on the other core).',
      };
    } finally {
      rmSync(emptyDir, { recursive: true, force: true });
      rmSync(fullDir, { recursive: true, force: true });
      if (databaseUrl) {
        const admin = openPostgres(databaseUrl, { max: 1 });
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.close();
      }
    }
  },
};
