import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createApp, type App } from '../src/app';
import type { CommandContext } from '../src/commands/pipeline';
import { userStream } from '../src/domain/streams';
import { formatPosition, type NewEvent } from '../src/eventstore/eventStore';
import { SqlEventStore } from '../src/eventstore/sqlEventStore';
import { mintToken } from '../src/graphql/auth';
import type { RunningHttpServer } from '../src/http/server';
import { createLogger } from '../src/log';
import { openPglite } from '../src/sql/pglite';
import { openPostgres } from '../src/sql/postgres';
import type { SqlDatabase, SqlExecutor } from '../src/sql/sqlDatabase';
import { processesCpuUs, userStatusChanged } from './appendThroughput';
import type { Benchmark, BenchmarkReport } from './benchmark';
import type { LoadRequest, LoadResult } from './httpLoad';
import { USERS_TABLE } from '../projections/users/users.queries';
import { startBareApollo, type BareServer } from './bareApollo';
import { benchAppConfig } from './readAudit';

/**
 * The GraphQL path against the store under it (issue 19): in one process and one run, on PostgreSQL
 * and on the embedded store, the store's own append rate (16 writers, `appendToStreams` on a store of
 * its own, so the app's projections do not see those events) and, through the composed app over
 * real HTTP at 16 concurrent clients (a child process, so the server's CPU is the server's alone):
 * `changeUserStatus` (each client its own user, cycling A → IW → A), the same with the user in the
 * payload (which waits for the read models: read-your-writes), a constant query (the stack's ceiling),
 * `userHistory(first: 20)` and `users(first: 20)`. Phases are interleaved in rounds; the table gives the
 * medians. Then the cost of one command as the stream grows: 10 / 1,000 / 10,000 events.
 */

const APPEND_RATIO_TARGET = { postgres: 0.5, embedded: 0.3 } as const;
const P99_TARGET_MS = 25;
const STREAM_LENGTHS: readonly number[] = [10, 1_000, 10_000];

const intFromEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.floor(value) : fallback;
};

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const median = (values: readonly number[]): number => {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * The server runs in the bench's process, so it has the bench's V8 flags: a young generation sized
 * for the replay benches (`npm run bench` passes --max-semi-space-size) makes each scavenge pause the
 * server longer than V8's default, which is what the image runs.
 */
const youngGeneration = (): string => {
  const flag = process.execArgv.find((arg) => arg.startsWith('--max-semi-space-size'));
  return flag ? `${flag} (the image runs V8's default young generation)` : "V8's default young generation, as the image runs";
};

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');


/**
 * The PostgreSQL backends of one side, found by application name; a backend that connected during
 * the phase counts from zero (its whole life is in the phase). NaN without PostgreSQL or /proc.
 */
class BackendCpu {
  constructor(
    private readonly admin: SqlDatabase | null,
    private readonly applicationName: string,
  ) {}

  async snapshot(): Promise<Map<number, number> | null> {
    if (!this.admin) return null;
    const { rows } = await this.admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, [this.applicationName]);
    return processesCpuUs(rows.map((row) => Number(row.pid)));
  }

  static between(before: Map<number, number> | null, after: Map<number, number> | null): number {
    if (!before || !after || after.size === 0) return NaN;
    let total = 0;
    for (const [pid, t] of after) total += t - (before.get(pid) ?? 0);
    return total;
  }
}

/**
 * Counts what the app sends to its database (every statement, and BEGIN / COMMIT of a transaction),
 * by the statement's first words, so a phase can say how many statements a request cost with the
 * projections running.
 */
class StatementTally {
  counts = new Map<string, number>();
  total = 0;

  wrap(db: SqlDatabase): SqlDatabase {
    const count = (sql: string) => {
      this.total += 1;
      const key = sql.replace(/\s+/g, ' ').trim().slice(0, 90);
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    };
    const executor = (inner: SqlExecutor): SqlExecutor => ({
      query: (sql, params, options) => (count(sql), inner.query(sql, params, options)),
      copyFrom: (table, columns, text) => (count(`COPY ${table}`), inner.copyFrom(table, columns, text)),
    });
    return {
      kind: db.kind,
      onStatement: (listener) => db.onStatement(listener),
      ...executor(db),
      transaction: (work) => (count('BEGIN'), count('COMMIT'), db.transaction((tx) => work({ ...executor(tx), exec: (sql: string) => (count(sql), tx.exec(sql)) }))),
      exec: (sql) => (count(sql), db.exec(sql)),
      close: () => db.close(),
    };
  }

  reset(): void {
    this.counts = new Map();
    this.total = 0;
  }

  top(n: number, per: number): string {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([sql, count]) => `${(count / per).toFixed(2)} ${sql}`)
      .join('\n      ');
  }
}

interface PhaseResult {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** µs per request or append. */
  readonly nodeCpuUs: number;
  readonly pgCpuUs: number;
  readonly requests: number;
  /** Statements the app sent to its database per request, the projections' included. */
  readonly statements: number;
  /** What held the server's event loop during the phase: its delay (p99, max) and the GC pauses in it. */
  readonly stalls: PhaseStalls;
}

interface PhaseStalls {
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
  readonly gcPauses: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
}

/**
 * Watches the event loop of this process (the server's) for a phase: how late its timers ran, and
 * every GC pause. A tail in the clients' latencies that the loop shows too is the server's (GC, a
 * long task); one the loop does not show is the machine's (the clients, PostgreSQL, other work).
 */
const watchStalls = (): { stop(): PhaseStalls } => {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const pauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  delay.enable();
  return {
    stop() {
      delay.disable();
      gc.disconnect();
      return {
        loopP99Ms: delay.percentile(99) / 1e6,
        loopMaxMs: delay.max / 1e6,
        gcPauses: pauses.length,
        gcTotalMs: pauses.reduce((sum, ms) => sum + ms, 0),
        gcMaxMs: Math.max(0, ...pauses),
      };
    },
  };
};

/** The child process that sends the HTTP requests. */
class LoadClient {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadClient> {
    const child = fork(join(__dirname, 'httpLoad.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('error', reject);
    });
    return new LoadClient(child);
  }

  run(request: LoadRequest): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      this.child.once('message', (message: { ok: boolean; result?: LoadResult; error?: string }) =>
        message.ok ? resolve(message.result!) : reject(new Error(message.error)),
      );
      this.child.send(request);
    });
  }

  stop(): void {
    this.child.send('exit');
  }
}

interface Side {
  readonly name: 'postgres' | 'embedded';
  readonly label: string;
  /** The app's database. */
  readonly db: SqlDatabase;
  /** The append peer's database (a schema or an in-memory store of its own). */
  readonly peerDb: SqlDatabase;
  readonly appCpu: BackendCpu;
  readonly peerCpu: BackendCpu;
  close(): Promise<void>;
}

const APP_NAME = 'bench-graphql-app';
const PEER_NAME = 'bench-graphql-store';

const openSides = async (url: string | undefined, which: readonly string[]): Promise<Side[]> => {
  const sides: Side[] = [];
  if (url && which.includes('postgres')) {
    const suffix = randomBytes(5).toString('hex');
    const appSchema = `bench_gql_${suffix}`;
    const peerSchema = `bench_gql_store_${suffix}`;
    const admin = openPostgres(url, { max: 1 });
    await admin.query(`CREATE SCHEMA ${appSchema}`);
    await admin.query(`CREATE SCHEMA ${peerSchema}`);
    // Idle connections kept: a backend that closed mid-phase would take its CPU time with it.
    const db = openPostgres(url, { max: 20, idleTimeoutMillis: 0, application_name: APP_NAME, options: `-c search_path=${appSchema}` });
    const peerDb = openPostgres(url, { max: 16, idleTimeoutMillis: 0, application_name: PEER_NAME, options: `-c search_path=${peerSchema}` });
    sides.push({
      name: 'postgres',
      label: 'PostgreSQL',
      db,
      peerDb,
      appCpu: new BackendCpu(admin, APP_NAME),
      peerCpu: new BackendCpu(admin, PEER_NAME),
      close: async () => {
        await db.close();
        await peerDb.close();
        await admin.query(`DROP SCHEMA ${appSchema} CASCADE`);
        await admin.query(`DROP SCHEMA ${peerSchema} CASCADE`);
        await admin.close();
      },
    });
  }
  if (which.includes('embedded')) {
    // BENCH_GRAPHQL_EMBEDDED=disk: the app's and the peer's stores in files (temporary directories), as
    // `npm start` keeps the embedded store; by default both in memory.
    const onDisk = process.env.BENCH_GRAPHQL_EMBEDDED === 'disk';
    const dirs = onDisk ? [await mkdtemp(join(tmpdir(), 'bench-gql-app-')), await mkdtemp(join(tmpdir(), 'bench-gql-peer-'))] : [];
    const db = await openPglite(dirs[0]);
    const peerDb = await openPglite(dirs[1]);
    sides.push({
      name: 'embedded',
      label: `embedded (PGlite, ${onDisk ? `in files under ${tmpdir()}` : 'in memory'}, in the server process)`,
      db,
      peerDb,
      appCpu: new BackendCpu(null, ''),
      peerCpu: new BackendCpu(null, ''),
      close: async () => {
        await db.close();
        await peerDb.close();
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      },
    });
  }
  return sides;
};

const MUTATION = `mutation ($input: ChangeUserStatusInput!) { changeUserStatus(input: $input) { errors { code message } position } }`;
const MUTATION_WITH_USER = `mutation ($input: ChangeUserStatusInput!) { changeUserStatus(input: $input) { errors { code message } position user { id status } } }`;
const CONSTANT = `{ __typename }`;
const HISTORY = `query ($userId: ID!) { userHistory(userId: $userId, first: 20) { edges { node { summary occurredAt actor { id role } } } pageInfo { hasNextPage } } }`;
const USERS = `{ users(first: 20) { edges { node { id name status } } pageInfo { hasNextPage } } }`;

const body = (query: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query, variables });

/** Each user's bodies: to IW, then back to A (the user starts Active), with a reason as an admin gives one. */
const cycle = (query: string, userId: string): string[] =>
  (['IW', 'A'] as const).map((status) => body(query, { input: { userId, status, reason: `Benchmark move to ${status}` } }));

interface Seeded {
  readonly programId: string;
  readonly clients: readonly string[];
}

const seed = async (app: App, users: number, clients: number, log: (line: string) => void): Promise<Seeded> => {
  let tick = Date.parse('2026-01-05T09:00:00.000Z');
  const context = (): CommandContext => ({
    actor: { id: 'bench.admin', role: 'admin' },
    now: new Date((tick += 1000)).toISOString(),
    correlationId: randomUUID(),
  });
  const { programId } = await app.services.commands.createProgram(context(), { name: 'Bench program', timeZone: 'UTC' });
  const ids: string[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < users) {
        const i = next++;
        const { userId } = await app.services.commands.registerUser(context(), {
          email: `bench.person.${i}@example.org`,
          name: `Bench Person ${i}`,
          programId,
          role: i % 2 ? 'MENTEE' : 'MENTOR',
          company: null,
          manager: null,
        });
        ids.push(userId);
      }
    }),
  );
  log(`  seeded ${fmt(users)} users in ${fmt((performance.now() - started) / 1000, 1)} s`);
  const chosen = ids.slice(0, clients);
  for (const userId of chosen) {
    await app.services.commands.completeApplication(context(), userId);
    await app.services.commands.changeUserStatus(context(), userId, 'A');
  }
  return { programId, clients: chosen };
};

/** A user whose stream holds `length` events (registration, application, activation, then IW/A moves appended directly). */
const longStreamUser = async (app: App, programId: string, length: number, index: number): Promise<{ userId: string; status: 'A' | 'IW' }> => {
  const context = (): CommandContext => ({ actor: { id: 'bench.admin', role: 'admin' }, now: new Date().toISOString(), correlationId: randomUUID() });
  const { userId } = await app.services.commands.registerUser(context(), {
    email: `bench.long.${index}@example.org`,
    name: `Long Stream ${length}`,
    programId,
    role: 'MENTEE',
    company: null,
    manager: null,
  });
  await app.services.commands.completeApplication(context(), userId);
  await app.services.commands.changeUserStatus(context(), userId, 'A');
  let { currentRevision } = await app.store.readStream(userStream(userId), { maxCount: 1 });
  let status: 'A' | 'IW' = 'A';
  const streamId = userStream(userId);
  while ((currentRevision ?? -1) + 1 < length) {
    const events: NewEvent[] = [];
    for (let i = 0; i < 500 && (currentRevision ?? -1) + 1 + events.length < length; i++) {
      const to: 'A' | 'IW' = status === 'A' ? 'IW' : 'A';
      events.push({
        id: randomUUID(),
        type: 'UserStatusChanged',
        schemaVersion: 1,
        data: { userId, changeId: randomUUID(), from: status, to, automatic: false, trigger: 'MANUAL' },
        metadata: {
          occurredAt: new Date().toISOString(),
          actor: { id: 'bench.admin', role: 'admin' },
          reason: `Benchmark move to ${to}`,
          correlationId: randomUUID(),
          causationId: randomUUID(),
          command: 'ChangeUserStatus',
        },
      });
      status = to;
    }
    const result = await app.store.appendToStreams([{ streamId, expectedRevision: currentRevision ?? 'no_stream', events }]);
    currentRevision = result.events.at(-1)!.revision;
    app.runner.notify();
  }
  return { userId, status };
};

type PhaseName = 'append' | 'mutation' | 'mutation+user' | 'constant' | 'history' | 'users' | BarePhase;
/** The same requests answered by the bare peer (`bench/bareApollo.ts`): HTTP and GraphQL, one statement, nothing else. */
type BarePhase = 'bare mutation' | 'bare mutation (user stream)' | 'bare constant' | 'bare users';
const PHASES: readonly PhaseName[] = ['append', 'mutation', 'mutation+user', 'constant', 'history', 'users', 'bare mutation', 'bare mutation (user stream)', 'bare constant', 'bare users'];
const isBare = (phase: PhaseName): phase is BarePhase => phase.startsWith('bare ');
const PHASE_LABEL: Record<PhaseName, string> = {
  append: "store's own append (16 writers, appendToStreams)",
  mutation: 'changeUserStatus { errors position }',
  'mutation+user': 'changeUserStatus { errors position user { status } }',
  constant: '{ __typename } (the ceiling)',
  history: 'userHistory(first: 20)',
  users: 'users(first: 20)',
  'bare mutation': "bare Apollo 5: changeUserStatus as the store's own append",
  'bare mutation (user stream)': "bare Apollo 5: changeUserStatus as the append to the user's stream",
  'bare constant': 'bare Apollo 5: { __typename }',
  'bare users': 'bare Apollo 5: users(first: 20) as one SELECT',
};

interface SideReport {
  readonly side: Side;
  readonly phases: Map<PhaseName, PhaseResult[]>;
  readonly longStreams: { length: number; p50: number; p99: number; nodeCpuUs: number; pgCpuUs: number; calls: number }[];
  readonly loadAfter: string;
}

const runSide = async (side: Side, client: LoadClient, log: (line: string) => void): Promise<SideReport> => {
  const users = intFromEnv('BENCH_GRAPHQL_USERS', 3_000);
  const clients = intFromEnv('BENCH_GRAPHQL_CLIENTS', 16);
  const rounds = intFromEnv('BENCH_GRAPHQL_ROUNDS', 3);
  const seconds = intFromEnv('BENCH_GRAPHQL_SECONDS', 5);
  const warmup = intFromEnv('BENCH_GRAPHQL_WARMUP_SECONDS', 2);
  const longCalls = intFromEnv('BENCH_GRAPHQL_LONG_CALLS', 200);
  const logger = createLogger({ level: 'warn' });
  const secret = randomBytes(32).toString('base64url');
  const config = benchAppConfig({ AUTH_TOKEN_SECRET: secret });
  const tally = new StatementTally();
  const app = await createApp(config, { logger, db: tally.wrap(side.db) });
  const peerStore = await SqlEventStore.create(side.peerDb);
  let server: RunningHttpServer | null = null;
  let bare: BareServer | null = null;
  try {
    server = await app.start();
    const url = new URL('graphql', server.url).toString();
    // The append peer's append: its own phase, and the bare peer's mutation.
    const appendOnce = async (): Promise<string> => {
      const { streamId, event } = userStatusChanged();
      const { lastPosition } = await peerStore.appendToStreams([{ streamId, expectedRevision: 'no_stream', events: [event] }]);
      return formatPosition(lastPosition);
    };
    // What the service's status change appends: the same event (its reason kept as personal data, as
    // the peer's is), but to the user's own stream at the revision it is at, not to a new stream (each
    // client has a user of its own).
    const revisions = new Map<string, number>();
    const appendToUserStream = async (userId: string): Promise<string> => {
      const streamId = userStream(userId);
      const revision = revisions.get(streamId);
      const { event } = userStatusChanged();
      const { lastPosition, streamRevisions } = await peerStore.appendToStreams([
        { streamId, expectedRevision: revision ?? 'no_stream', events: [{ ...event, data: { ...event.data, userId } }] },
      ]);
      revisions.set(streamId, streamRevisions[streamId]!);
      return formatPosition(lastPosition);
    };
    let bareAppendsToUser = false;
    bare = await startBareApollo(tally.wrap(side.db), (userId) => (bareAppendsToUser ? appendToUserStream(userId) : appendOnce()));
    log(`graphql-throughput: ${side.label}`);
    const seeded = await seed(app, users, clients, log);
    if (!(await app.services.catchUpProjections())) throw new Error('graphql-throughput: the projections did not catch up after seeding');
    const token = await mintToken({ secret: config.tokenKeys!, subject: 'bench.admin', role: 'admin', expiresIn: '2h' });

    const bodies: Record<Exclude<PhaseName, 'append'>, string[][]> = {
      mutation: seeded.clients.map((userId) => cycle(MUTATION, userId)),
      'mutation+user': seeded.clients.map((userId) => cycle(MUTATION_WITH_USER, userId)),
      constant: seeded.clients.map(() => [body(CONSTANT)]),
      history: seeded.clients.map((userId) => [body(HISTORY, { userId })]),
      users: seeded.clients.map(() => [body(USERS)]),
      'bare mutation': seeded.clients.map((userId) => cycle(MUTATION, userId)),
      'bare mutation (user stream)': seeded.clients.map((userId) => cycle(MUTATION, userId)),
      'bare constant': seeded.clients.map(() => [body(CONSTANT)]),
      'bare users': seeded.clients.map(() => [body(USERS)]),
    };
    const parity = seeded.clients.map(() => 0);
    const runPhase = async (phase: PhaseName, time: number): Promise<PhaseResult> => {
      // The bare mutation appends to the peer's store: its database work is on the peer's backends.
      const cpuSide = phase === 'append' || phase.startsWith('bare mutation') ? side.peerCpu : side.appCpu;
      bareAppendsToUser = phase === 'bare mutation (user stream)';
      const pg0 = await cpuSide.snapshot();
      tally.reset();
      const stalls = watchStalls();
      const cpu0 = process.cpuUsage();
      let requests: number;
      let elapsed: number;
      let latencies: readonly number[];
      if (phase === 'append') {
        const times: number[] = [];
        const deadline = performance.now() + time * 1000;
        const begin = performance.now();
        await Promise.all(
          Array.from({ length: clients }, async () => {
            while (performance.now() < deadline) {
              const t = performance.now();
              await appendOnce();
              times.push(performance.now() - t);
            }
          }),
        );
        elapsed = (performance.now() - begin) / 1000;
        requests = times.length;
        latencies = times.sort((a, b) => a - b);
      } else {
        const mutating = phase === 'mutation' || phase === 'mutation+user';
        // A client's user is where its last phase left it: start its cycle from there.
        const list = mutating ? bodies[phase].map((cycleBodies, i) => (parity[i]! % 2 ? [...cycleBodies].reverse() : cycleBodies)) : bodies[phase];
        const result = await client.run({ url: isBare(phase) ? bare!.url : url, token, bodies: list, seconds: time });
        if (mutating) result.advanced.forEach((n, i) => (parity[i] = (parity[i]! + n) % 2));
        if (result.failures > 0) throw new Error(`graphql-throughput: ${phase}: ${result.failures} of ${result.requests} failed; first: ${result.firstFailure}`);
        elapsed = result.seconds;
        requests = result.requests;
        latencies = result.latencies;
      }
      const cpu = process.cpuUsage(cpu0);
      const stalled = stalls.stop();
      const pg1 = await cpuSide.snapshot();
      if (process.env.BENCH_GRAPHQL_SHOW_STATEMENTS) log(`    ${phase}: statements per request\n      ${tally.top(25, requests)}`);
      return {
        statements: tally.total / requests,
        perSecond: requests / elapsed,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        nodeCpuUs: (cpu.user + cpu.system) / requests,
        pgCpuUs: BackendCpu.between(pg0, pg1) / requests,
        requests,
        stalls: stalled,
      };
    };

    // BENCH_GRAPHQL_PHASES=mutation,constant runs only those (profiling); the table then has gaps.
    const only = process.env.BENCH_GRAPHQL_PHASES?.split(',').map((name) => name.trim());
    const selected = PHASES.filter((phase) => !only || only.includes(phase));
    for (const phase of selected) await runPhase(phase, warmup);
    const phases = new Map<PhaseName, PhaseResult[]>(PHASES.map((phase) => [phase, []]));
    for (let round = 0; round < rounds; round++) {
      // Rotate the order, so no phase always follows another's leftovers (the runner's catch-up).
      const order = selected.map((_, i) => selected[(i + round) % selected.length]!);
      for (const phase of order) {
        await app.services.catchUpProjections();
        const result = await runPhase(phase, seconds);
        phases.get(phase)!.push(result);
        log(
          `  round ${round + 1} ${phase}: ${fmt(result.perSecond)}/s p50 ${fmt(result.p50, 1)} p99 ${fmt(result.p99, 1)} ms, CPU µs Node ${fmt(result.nodeCpuUs)} PG ${fmt(result.pgCpuUs)}, ${fmt(result.statements, 1)} statements; ` +
            `event loop delay p99 ${fmt(result.stalls.loopP99Ms, 1)} max ${fmt(result.stalls.loopMaxMs, 1)} ms, ` +
            `GC ${result.stalls.gcPauses} pauses ${fmt(result.stalls.gcTotalMs, 1)} ms (max ${fmt(result.stalls.gcMaxMs, 1)})`,
        );
      }
    }

    // One command as the stream grows: one client, the payload without the user (the command's own cost).
    const longStreams: SideReport['longStreams'] = [];
    const long = [];
    if (process.env.BENCH_GRAPHQL_LONG_STREAMS === 'off') return { side, phases, longStreams, loadAfter: load() };
    for (const [i, length] of STREAM_LENGTHS.entries()) long.push({ length, ...(await longStreamUser(app, seeded.programId, length, i)) });
    if (!(await app.services.catchUpProjections())) throw new Error('graphql-throughput: the projections did not catch up with the long streams');
    const timed = new Map<number, { times: number[]; node: number; pg: number }>(STREAM_LENGTHS.map((length) => [length, { times: [], node: 0, pg: 0 }]));
    // Each user's first command is left out (it warms whatever a command keeps), then the lengths are interleaved call by call.
    const bodiesOf = new Map(long.map((user) => [user.length, user.status === 'A' ? cycle(MUTATION, user.userId) : cycle(MUTATION, user.userId).reverse()]));
    const step = new Map(long.map((user) => [user.length, 0]));
    const call = async (length: number) => {
      const list = bodiesOf.get(length)!;
      const result = await client.run({ url, token, bodies: [[list[step.get(length)! % 2]!]], seconds: 60, maxRequests: 1 });
      if (result.failures > 0) throw new Error(`graphql-throughput: long stream ${length}: ${result.firstFailure}`);
      step.set(length, step.get(length)! + 1);
      return result.latencies[0]!;
    };
    for (const { length } of long) await call(length);
    for (let i = 0; i < longCalls; i++) {
      for (const length of STREAM_LENGTHS) {
        const pg0 = await side.appCpu.snapshot();
        const cpu0 = process.cpuUsage();
        const ms = await call(length);
        const cpu = process.cpuUsage(cpu0);
        const pg1 = await side.appCpu.snapshot();
        const entry = timed.get(length)!;
        entry.times.push(ms);
        entry.node += cpu.user + cpu.system;
        entry.pg += BackendCpu.between(pg0, pg1);
      }
    }
    for (const [length, entry] of timed) {
      const sorted = [...entry.times].sort((a, b) => a - b);
      longStreams.push({
        length,
        calls: sorted.length,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        nodeCpuUs: entry.node / sorted.length,
        pgCpuUs: entry.pg / sorted.length,
      });
      log(`  stream of ${fmt(length)} events: p50 ${fmt(percentile(sorted, 50), 2)} p99 ${fmt(percentile(sorted, 99), 2)} ms`);
    }
    return { side, phases, longStreams, loadAfter: load() };
  } finally {
    if (bare) await bare.stop();
    if (server) await server.stop();
    else await app.stop();
    await peerStore.close();
  }
};

export const graphqlThroughput: Benchmark = {
  name: 'graphql-throughput',
  title: 'The GraphQL path against the store under it: changeUserStatus, reads, long streams',
  target:
    `changeUserStatus through GraphQL at >= ${APPEND_RATIO_TARGET.postgres}× the store's own append rate on PostgreSQL and >= ${APPEND_RATIO_TARGET.embedded}× on the embedded store, ` +
    `p99 under ${P99_TARGET_MS} ms at 16 clients on PostgreSQL; a command on a stream of 10,000 events about as costly as on one of 10`,
  async run(log): Promise<BenchmarkReport> {
    const url = process.env.DATABASE_URL;
    const which = (process.env.BENCH_GRAPHQL_STORES ?? 'postgres,embedded').split(',').map((s) => s.trim());
    const loadBefore = load();
    const client = await LoadClient.start();
    const sides = await openSides(url, which);
    const reports: SideReport[] = [];
    try {
      for (const side of sides) {
        try {
          reports.push(await runSide(side, client, log));
        } finally {
          await side.close();
        }
      }
    } finally {
      client.stop();
    }

    const rows: string[][] = [];
    const verdicts: string[] = [];
    let met = true;
    for (const { side, phases, longStreams } of reports) {
      const med = (phase: PhaseName, key: Exclude<keyof PhaseResult, 'stalls'>) => median(phases.get(phase)!.map((r) => r[key]));
      const appendRate = med('append', 'perSecond');
      const constantRate = med('constant', 'perSecond');
      const bareConstantRate = med('bare constant', 'perSecond');
      for (const phase of PHASES) {
        const rate = med(phase, 'perSecond');
        const ratio =
          phase === 'append'
            ? '1.00 (peer)'
            : phase.startsWith('bare mutation') || phase.startsWith('mutation')
              ? `${fmt(rate / appendRate, 2)} of append`
              : `${fmt(rate / (isBare(phase) ? bareConstantRate : constantRate), 2)} of ${isBare(phase) ? 'bare constant' : 'constant'}`;
        rows.push([
          side.name,
          PHASE_LABEL[phase],
          fmt(rate),
          fmt(med(phase, 'p50'), 1),
          fmt(med(phase, 'p99'), 1),
          ratio,
          fmt(med(phase, 'nodeCpuUs')),
          side.name === 'postgres' ? fmt(med(phase, 'pgCpuUs')) : 'in Node',
          fmt(med(phase, 'statements'), 1),
        ]);
      }
      for (const entry of longStreams) {
        rows.push([
          side.name,
          `changeUserStatus, one client, stream of ${fmt(entry.length)} events`,
          '',
          fmt(entry.p50, 1),
          fmt(entry.p99, 1),
          entry.length === STREAM_LENGTHS[0] ? '1.00 (peer)' : `${fmt(entry.p50 / longStreams[0]!.p50, 2)} of 10 events (p50)`,
          fmt(entry.nodeCpuUs),
          side.name === 'postgres' ? fmt(entry.pgCpuUs) : 'in Node',
          '',
        ]);
      }
      const ratio = med('mutation', 'perSecond') / appendRate;
      const ratioWithUser = med('mutation+user', 'perSecond') / appendRate;
      const target = APPEND_RATIO_TARGET[side.name];
      const p99 = med('mutation', 'p99');
      const flat = longStreams.length ? longStreams.at(-1)!.p50 / longStreams[0]!.p50 : NaN;
      const sideMet = ratio >= target && (side.name !== 'postgres' || p99 < P99_TARGET_MS) && flat <= 1.5;
      met &&= sideMet;
      verdicts.push(
        `${side.name}: changeUserStatus ${fmt(ratio, 2)}× the append rate (with the user in the payload ${fmt(ratioWithUser, 2)}×; target ${target}×), ` +
          `p99 ${fmt(p99, 1)} ms (with the user ${fmt(med('mutation+user', 'p99'), 1)} ms), history ${fmt(med('history', 'perSecond') / constantRate, 2)}× and users ${fmt(med('users', 'perSecond') / constantRate, 2)}× the constant query; ` +
          `10,000-event stream ${fmt(flat, 2)}× the 10-event one; ` +
          `bare Apollo 5 on the same database: one append a mutation ${fmt(med('bare mutation', 'perSecond') / appendRate, 2)}× the append rate ` +
          `(to the user's stream at its revision, as ours: ${fmt(med('bare mutation (user stream)', 'perSecond') / appendRate, 2)}×), ` +
          `one SELECT a users page ${fmt(med('bare users', 'perSecond') / bareConstantRate, 2)}× its constant query`,
      );
    }
    return {
      table: {
        columns: ['store', 'request', 'req/s', 'p50 ms', 'p99 ms', 'ratio', 'Node CPU µs/req', 'PG CPU µs/req', 'statements/req'],
        rows,
      },
      environment: [
        `Stores: ${reports.map((r) => r.side.label).join('; ')}${url ? ` (PostgreSQL at ${url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}, fresh schemas)` : ''}`,
        `${fmt(intFromEnv('BENCH_GRAPHQL_USERS', 3_000))} registered users, ${intFromEnv('BENCH_GRAPHQL_CLIENTS', 16)} concurrent clients in a child process, ` +
          `${intFromEnv('BENCH_GRAPHQL_ROUNDS', 3)} rounds × ${intFromEnv('BENCH_GRAPHQL_SECONDS', 5)} s per phase (order rotated each round), projections running`,
        `Load average before ${loadBefore}; after each store ${reports.map((r) => `${r.side.name} ${r.loadAfter}`).join(', ')}`,
        `Server process (the bench's own): ${youngGeneration()}`,
      ],
      result: verdicts.join('; '),
      targetMet: met,
      details: DETAILS,
    };
  },
};

const DETAILS = `**Method.** \`bench/graphqlThroughput.ts\`, one run, both stores one after the other. Each store gets the composed
app (\`createApp\`, projections running, background jobs off, rate limits off) on a fresh database (PostgreSQL: a
schema of its own and a pool of 20; embedded: PGlite in memory in the server's process, or with
\`BENCH_GRAPHQL_EMBEDDED=disk\` in files in a temporary directory, as \`npm start\` keeps it, the append peer's likewise), 3,000 users registered
through the commands, and 16 of them made Active. The peer is the store's own append rate measured the way
\`append-throughput\` does (16 writers in the server process, \`appendToStreams\` of one \`UserStatusChanged\` to a new
stream) on a store of its own (another schema, or another in-memory PGlite), so the app's projections do not
read those events. The GraphQL requests come from 16 clients in a child process (\`bench/httpLoad.ts\`, \`fetch\`
with keep-alive), each on its own user, alternating IW and A with a reason, as an admin; any refusal or error
fails the run. "with the user" selects \`user { id status }\` in the payload, which waits until the read models
include the change (read-your-writes) and checks nothing else. The constant query \`{ __typename }\` goes through
the same HTTP server, token check and context; it is the ceiling for the reads. Each phase is timed for the stated
seconds; rounds rotate the phase order, and the table shows medians over rounds. CPU per request: Node is
\`process.cpuUsage\` of the server process (the clients are in the child; on the embedded store this includes
PGlite), PostgreSQL is \`/proc/<pid>/schedstat\` of the backends with the side's \`application_name\` (the
projection runner's and the read audit's work included); statements per request likewise count everything the
app sent to its database during the phase (BEGIN and COMMIT included). Long streams: users whose streams hold 10, 1,000 and
10,000 events (the rest appended directly as IW/A moves), then one client sends \`changeUserStatus\` to each in turn;
each user's first call is left out. The bare peer (\`bench/bareApollo.ts\`, the "bare Apollo 5" rows): Apollo Server
5's own standalone HTTP server in the same process, a schema written as SDL and resolvers of one statement each,
with no token check, access policy, validation, read audit, logging, metrics or projections, answering the same
bodies from the same clients: its mutation is one \`appendToStreams\` on the append peer's store (group commit
and all) of the append peer's event (its reason kept as personal data, as the service's is), to a new stream, or
(the row "user's stream") to the user's own stream at the revision it is at, as the service's status change
appends, its users page one \`SELECT\` of the same 20 rows from the app's \`${USERS_TABLE}\`. Its mutation against the
append rate and its page against its own constant query are what HTTP and GraphQL alone leave on this machine:
the most a full service could reach.`;
