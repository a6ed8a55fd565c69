import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DEFAULT_GROUP_COMMIT, SqlEventStore } from '../src/eventstore/sqlEventStore';
import type { GroupCommitOptions } from '../src/eventstore/appendBatcher';
import type { NewEvent } from '../src/eventstore/eventStore';
import { openPostgres } from '../src/sql/postgres';
import type { SqlDatabase } from '../src/sql/sqlDatabase';
import type { Benchmark, BenchmarkReport } from './benchmark';

/**
 * Append throughput on PostgreSQL: 16 concurrent writers each append one event to a new stream
 * (`no_stream`) through `SqlEventStore`, against 16 writers doing a plain one-row autocommit
 * `INSERT` into a table of the same shape on the same database. Rounds are interleaved (and which
 * side goes first alternates) so a noisy machine hits both alike; the headline is the median of the
 * per-round ratios.
 */

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** Issue 19: the usual append at 0.8× the plain INSERT; issue 15: an append with personal data at 0.7×. */
const TARGET_RATIO = 0.8;
const TARGET_RATIO_PERSONAL = 0.7;

const intFromEnv = (name: string, fallback: number): number => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

// The peer: es_events' columns and constraints, minus the store's own bookkeeping (transaction id
// and its log-order index, the stream table). One statement, one row, autocommit.
export const PEER_SCHEMA = /* sql */ `
CREATE TABLE plain_events (
  global_position bigint GENERATED ALWAYS AS IDENTITY,
  stream_id text NOT NULL,
  revision integer NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  event_type text NOT NULL,
  schema_version integer NOT NULL,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, revision)
)`;
export const PEER_INSERT = `INSERT INTO plain_events (stream_id, revision, event_id, event_type, schema_version, data, metadata)
  VALUES ($1, $2, $3, $4, $5, $6, $7)`;

const STATUSES = ['A', 'AI', 'SI', 'IW', 'IR', 'ID'] as const;

/** A realistic envelope: what `ChangeUserStatus` produces. */
export const userStatusChanged = (): { streamId: string; event: NewEvent } => {
  const userId = randomUUID();
  const from = STATUSES[Math.floor(Math.random() * STATUSES.length)]!;
  const to = STATUSES[Math.floor(Math.random() * STATUSES.length)]!;
  return {
    streamId: `user-${userId}`,
    event: {
      id: randomUUID(),
      type: 'UserStatusChanged',
      schemaVersion: 1,
      data: { userId, from, to, programId: 'program-7f3a', reason: 'Screening completed by the coordinator' },
      metadata: {
        occurredAt: new Date().toISOString(),
        actor: { id: 'coordinator-42', role: 'coordinator' },
        reason: 'Screening completed by the coordinator',
        correlationId: randomUUID(),
        causationId: randomUUID(),
        command: 'ChangeUserStatus',
      },
    },
  };
};

/**
 * An event with personal data: what `RegisterUser` produces. The store keeps its name, e-mail,
 * company and manager (and the reason) in the event row's personal columns, outside its hash.
 */
export const userRegistered = (): { streamId: string; event: NewEvent } => {
  const userId = randomUUID();
  const n = userId.slice(0, 8);
  return {
    streamId: `user-${userId}`,
    event: {
      id: randomUUID(),
      type: 'UserRegistered',
      schemaVersion: 1,
      data: {
        userId,
        email: `Person.${n}@example.org`,
        normalizedEmail: `person.${n}@example.org`,
        name: `Person ${n}`,
        programId: 'program-7f3a',
        role: 'MENTOR',
        company: 'Acme Corp',
        manager: { name: 'Mia Manager', email: 'mia.manager@example.org' },
        userStatus: 'AI',
      },
      metadata: {
        occurredAt: new Date().toISOString(),
        actor: { id: 'coordinator-42', role: 'coordinator' },
        reason: 'Signed up at the spring fair',
        correlationId: randomUUID(),
        causationId: randomUUID(),
        command: 'RegisterUser',
      },
    },
  };
};

export type Append = () => Promise<void>;

export interface RunResult {
  readonly events: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50ms: number;
  readonly p99ms: number;
  /** CPU time of this Node process per event, µs. */
  readonly nodeCpuUs: number;
  /** CPU time of the PostgreSQL backends serving this side per event, µs; NaN without /proc. */
  readonly serverCpuUs: number;
  /** CPU time of the whole machine (every process, PostgreSQL included) per event, µs; NaN without /proc/stat. */
  readonly machineCpuUs: number;
}

/** Time each of these processes has spent on a CPU so far, µs (Linux /proc/<pid>/schedstat, ns precision). */
export const processesCpuUs = (pids: readonly number[]): Map<number, number> => {
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      times.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000);
    } catch {
      // gone, or not Linux
    }
  }
  return times;
};

/** CPU time spent between two `processesCpuUs` readings by the processes seen in both; NaN if none. */
const cpuBetween = (before: Map<number, number>, after: Map<number, number>): number => {
  let total = 0;
  let seen = 0;
  for (const [pid, t] of after) {
    const t0 = before.get(pid);
    if (t0 !== undefined) (total += t - t0), seen++;
  }
  return seen ? total : NaN;
};

/** Busy CPU time of the machine so far, µs (Linux /proc/stat; NaN elsewhere). */
const machineBusyUs = (): number => {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3]! + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return ((total - idle) * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
};

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;

/** `writers` loops appending until `seconds` have passed; counts what completed. */
export const runFor = (append: Append, writers: number, seconds: number, serverPids: readonly number[] = []): Promise<RunResult> => {
  const deadline = performance.now() + seconds * 1000;
  return measure(append, writers, () => performance.now() < deadline, serverPids);
};

/** `writers` loops appending until `events` appends have started. */
export const runCount = (append: Append, writers: number, events: number, serverPids: readonly number[] = []): Promise<RunResult> => {
  let started = 0;
  return measure(append, writers, () => started++ < events, serverPids);
};

const measure = async (append: Append, writers: number, more: () => boolean, serverPids: readonly number[]): Promise<RunResult> => {
  const latencies: number[] = [];
  const server0 = processesCpuUs(serverPids);
  const cpu0 = process.cpuUsage();
  const busy0 = machineBusyUs();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (more()) {
        const t = performance.now();
        await append();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const busy = machineBusyUs() - busy0;
  const server = cpuBetween(server0, processesCpuUs(serverPids));
  latencies.sort((a, b) => a - b);
  return {
    events: latencies.length,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50ms: percentile(latencies, 0.5),
    p99ms: percentile(latencies, 0.99),
    nodeCpuUs: (cpu.user + cpu.system) / latencies.length,
    serverCpuUs: server / latencies.length,
    machineCpuUs: busy / latencies.length,
  };
};

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const SETTINGS = [
  'server_version',
  'synchronous_commit',
  'fsync',
  'wal_sync_method',
  'commit_delay',
  'commit_siblings',
  'full_page_writes',
  'wal_level',
  'shared_buffers',
  'max_wal_size',
  'checkpoint_timeout',
] as const;

const readSettings = async (db: SqlDatabase): Promise<Record<string, string>> => {
  const result = await db.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM unnest($1::text[]) AS name`,
    [SETTINGS],
  );
  return Object.fromEntries(result.rows.map((row) => [row.name, row.setting]));
};

/** Everything measured in one run; also used by `bench/profileAppend.ts`. */
export interface Comparison {
  readonly rounds: readonly {
    readonly first: string;
    readonly store: RunResult;
    readonly peer: RunResult;
    readonly ratio: number;
    /** Appends acknowledged per append call the store sent (group commit), when its calls are counted. */
    readonly appendsPerCall: number;
  }[];
  readonly storeMedian: number;
  readonly peerMedian: number;
  readonly medianRatio: number;
  /** Whether the CHECKPOINT before each run worked (it needs superuser or pg_checkpoint). */
  readonly checkpoints: boolean;
}

/**
 * Warm both up, then `rounds` interleaved timed runs, alternating which side goes first, with a
 * CHECKPOINT before each run so neither side inherits the other's dirty buffers or pays for a
 * checkpoint the other did not.
 */
export const compare = async (
  sides: { readonly store: Append; readonly peer: Append; readonly storeCalls?: () => number },
  options: { admin: SqlDatabase; writers: number; rounds: number; seconds: number; warmupSeconds: number; log: (line: string) => void },
): Promise<Comparison> => {
  const { admin, writers, rounds, seconds, warmupSeconds, log } = options;
  let checkpoints = true;
  const checkpoint = () => admin.query('CHECKPOINT').catch(() => void (checkpoints = false));
  // The backends serving each side's pool, found by application_name (see `poolOptions`).
  const backends = async (side: 'store' | 'peer'): Promise<number[]> =>
    (
      await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`, [
        APPLICATION_NAME[side],
      ])
    ).rows.map((row) => row.pid);
  await runFor(sides.store, writers, warmupSeconds);
  await runFor(sides.peer, writers, warmupSeconds);
  const results: Comparison['rounds'][number][] = [];
  for (let round = 0; round < rounds; round++) {
    const order: ('store' | 'peer')[] = round % 2 === 0 ? ['store', 'peer'] : ['peer', 'store'];
    const got: Partial<Record<'store' | 'peer', RunResult>> = {};
    let calls = NaN;
    for (const side of order) {
      await checkpoint();
      const pids = await backends(side);
      const calls0 = sides.storeCalls?.() ?? NaN;
      got[side] = await runFor(sides[side], writers, seconds, pids);
      if (side === 'store') calls = (sides.storeCalls?.() ?? NaN) - calls0;
    }
    const store = got.store!;
    const peer = got.peer!;
    const ratio = store.perSecond / peer.perSecond;
    const appendsPerCall = store.events / calls;
    results.push({ first: order[0]!, store, peer, ratio, appendsPerCall });
    log(
      `  round ${round + 1}/${rounds} (${order[0]} first): store ${fmt(store.perSecond)}/s, INSERT ${fmt(peer.perSecond)}/s, ` +
        `ratio ${fmt(ratio, 2)}; appends per call ${fmt(appendsPerCall, 1)}; CPU µs/event store vs INSERT: node ${fmt(store.nodeCpuUs)} vs ${fmt(peer.nodeCpuUs)}, ` +
        `server ${fmt(store.serverCpuUs)} vs ${fmt(peer.serverCpuUs)}, machine ${fmt(store.machineCpuUs)} vs ${fmt(peer.machineCpuUs)}`,
    );
  }
  return {
    rounds: results,
    storeMedian: median(results.map((r) => r.store.perSecond)),
    peerMedian: median(results.map((r) => r.peer.perSecond)),
    medianRatio: median(results.map((r) => r.ratio)),
    checkpoints,
  };
};

export const APPLICATION_NAME = { store: 'bench-append-store', peer: 'bench-append-insert' } as const;

/**
 * The store's database with its append calls counted (one per `es_append_stream` or `es_append_streams`
 * call, however many appends it carries), for the "appends per call" column.
 */
export const countingAppendCalls = (db: SqlDatabase): { readonly db: SqlDatabase; readonly calls: () => number } => {
  let calls = 0;
  return {
    db: {
      ...db,
      query: (sql, params, options) => {
        if (sql.includes('es_append')) calls++;
        return db.query(sql, params, options);
      },
    },
    calls: () => calls,
  };
};

/** BENCH_GROUP_COMMIT=<max in flight>:<max batch>[:gather] tries other settings than the store's defaults (tuning). */
const groupCommitFromEnv = (): GroupCommitOptions | undefined => {
  const match = /^(\d+):(\d+)(:gather)?$/.exec(process.env.BENCH_GROUP_COMMIT ?? '');
  return match ? { maxInFlight: Number(match[1]), maxBatch: Number(match[2]), gather: match[3] !== undefined } : undefined;
};

/** Pool options for one side: the run's schema, and a name so its backends can be found. */
export const poolOptions = (side: 'store' | 'peer', searchPath: string, max: number) => ({
  max,
  // BENCH_PG_OPTIONS (e.g. '-c synchronous_commit=off') is for profiling; it shows in the command line.
  options: [searchPath, process.env.BENCH_PG_OPTIONS].filter(Boolean).join(' '),
  // Keep the connections open between one side's runs (pg closes idle ones after 10 s by default).
  idleTimeoutMillis: 120_000,
  application_name: APPLICATION_NAME[side],
});

/** A fresh schema on `url` for the run, dropped afterwards. */
export const withSchema = async <T>(url: string, work: (options: string, admin: SqlDatabase) => Promise<T>): Promise<T> => {
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = openPostgres(url, { max: 1 });
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    try {
      return await work(`-c search_path=${schema}`, admin);
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    }
  } finally {
    await admin.close();
  }
};

export const peerAppend = (db: SqlDatabase, make = userStatusChanged): Append => async () => {
  const { streamId, event } = make();
  await db.query(PEER_INSERT, [
    streamId,
    0,
    event.id,
    event.type,
    event.schemaVersion,
    JSON.stringify(event.data),
    JSON.stringify(event.metadata),
  ]);
};

export const createPeerTable = (db: SqlDatabase): Promise<unknown> => db.query(PEER_SCHEMA);

export const storeAppend = (store: SqlEventStore, make = userStatusChanged): Append => async () => {
  const { streamId, event } = make();
  await store.appendToStreams([{ streamId, expectedRevision: 'no_stream', events: [event] }]);
};

export const appendThroughput: Benchmark = {
  name: 'append-throughput',
  title: 'Append throughput on PostgreSQL: SqlEventStore vs a plain INSERT',
  target:
    `at least ${TARGET_RATIO}× the plain INSERT rate (issue 19), and ${TARGET_RATIO_PERSONAL}× for an event with personal data (issue 15); ` +
    `Emmett's PostgreSQL store, measured the same way on this kind of machine, reached 0.28×`,
  async run(log): Promise<BenchmarkReport> {
    const url = process.env.DATABASE_URL || DEFAULT_URL;
    const writers = intFromEnv('BENCH_WRITERS', 16);
    const rounds = intFromEnv('BENCH_ROUNDS', 7);
    const seconds = intFromEnv('BENCH_SECONDS', 5);
    const warmupSeconds = intFromEnv('BENCH_WARMUP_SECONDS', 3);
    log(`append-throughput: ${writers} writers, ${rounds} rounds × ${seconds} s each side (warm-up ${warmupSeconds} s each)`);

    return withSchema(url, async (options, admin) => {
      const storeDb = openPostgres(url, poolOptions('store', options, writers));
      const peerDb = openPostgres(url, poolOptions('peer', options, writers));
      try {
        const counted = countingAppendCalls(storeDb);
        const groupCommit = groupCommitFromEnv();
        const store = await SqlEventStore.create(counted.db, groupCommit ? { groupCommit } : {});
        await createPeerTable(peerDb);
        const settings = await readSettings(admin);
        const comparison = await compare(
          { store: storeAppend(store), peer: peerAppend(peerDb), storeCalls: counted.calls },
          { admin, writers, rounds, seconds, warmupSeconds, log },
        );

        // The cost of keeping personal data beside the log: an event with a name, e-mail, company,
        // manager and reason, whose personal part goes to the event row's personal columns (unhashed),
        // against the plain INSERT of the whole event, in the same run.
        log('append-throughput: an event with personal data (UserRegistered), split off by the store');
        const fewerRounds = Math.max(3, Math.ceil(rounds / 2));
        const personal = await compare(
          { store: storeAppend(store, userRegistered), peer: peerAppend(peerDb, userRegistered), storeCalls: counted.calls },
          { admin, writers, rounds: fewerRounds, seconds, warmupSeconds, log },
        );

        // The same store with group commit off: every append its own call, transaction and commit.
        log('append-throughput: the usual event, group commit off');
        const alone = await compare(
          { store: storeAppend(await SqlEventStore.create(counted.db, { groupCommit: false })), peer: peerAppend(peerDb), storeCalls: counted.calls },
          { admin, writers, rounds: fewerRounds, seconds, warmupSeconds, log },
        );
        const split = await storeDb.query<{ rows: string }>(
          `SELECT count(*)::text AS rows FROM es_events WHERE event_type = 'UserRegistered' AND personal_data ? 'name' AND NOT data ? 'name'`,
        );
        if (Number(split.rows[0]!.rows) < personal.rounds.reduce((n, r) => n + r.store.events, 0)) {
          throw new Error('append-throughput: the personal data of some acknowledged events is missing');
        }

        // Sanity: everything acknowledged is there, once.
        const all = [...comparison.rounds, ...personal.rounds, ...alone.rounds];
        const storeTotal = all.reduce((n, r) => n + r.store.events, 0);
        const peerTotal = all.reduce((n, r) => n + r.peer.events, 0);
        const counts = await storeDb.query<{ events: string; streams: string; plain: string }>(
          `SELECT (SELECT count(*) FROM es_events)::text AS events, (SELECT count(*) FROM es_streams)::text AS streams,
                  (SELECT count(*) FROM plain_events)::text AS plain`,
        );
        const c = counts.rows[0]!;
        if (Number(c.events) < storeTotal || Number(c.events) !== Number(c.streams) || Number(c.plain) < peerTotal) {
          throw new Error(`append-throughput: row counts do not match what was acknowledged (${JSON.stringify(c)})`);
        }

        const met = comparison.medianRatio >= TARGET_RATIO && personal.medianRatio >= TARGET_RATIO_PERSONAL;
        const cpu = (r: RunResult) => `${fmt(r.nodeCpuUs)} / ${fmt(r.serverCpuUs)}`;
        const rows: string[][] = [];
        const section = (label: string, c: Comparison): void => {
          for (const [i, r] of c.rounds.entries()) {
            rows.push([
              `${label}${i + 1}`,
              r.first === 'store' ? 'store' : 'INSERT',
              fmt(r.store.perSecond),
              fmt(r.peer.perSecond),
              fmt(r.ratio, 2),
              fmt(r.appendsPerCall, 1),
              `${fmt(r.store.p50ms, 1)} / ${fmt(r.store.p99ms, 1)}`,
              `${fmt(r.peer.p50ms, 1)} / ${fmt(r.peer.p99ms, 1)}`,
              cpu(r.store),
              cpu(r.peer),
            ]);
          }
          const perCall = median(c.rounds.map((r) => r.appendsPerCall));
          rows.push([`${label}median`, '', fmt(c.storeMedian), fmt(c.peerMedian), fmt(c.medianRatio, 3), fmt(perCall, 1), '', '', '', '']);
        };
        section('', comparison);
        section('personal ', personal);
        section('group commit off ', alone);
        return {
          table: {
            columns: [
              'round',
              'first',
              'SqlEventStore events/s',
              'plain INSERT events/s',
              'ratio',
              'store appends per call',
              'store p50 / p99 ms',
              'INSERT p50 / p99 ms',
              'store CPU µs/event Node / PG',
              'INSERT CPU µs/event Node / PG',
            ],
            rows,
          },
          environment: [
            `PostgreSQL ${settings.server_version} at ${redact(url)}; ` +
              SETTINGS.filter((s) => s !== 'server_version')
                .map((s) => `${s}=${settings[s]}`)
                .join(', '),
            `the store's group commit: ${groupCommit ? `BENCH_GROUP_COMMIT ${process.env.BENCH_GROUP_COMMIT}` : 'its defaults'} ` +
              `(at most ${(groupCommit ?? DEFAULT_GROUP_COMMIT.postgres).maxInFlight} append calls in flight, ` +
              `${(groupCommit ?? DEFAULT_GROUP_COMMIT.postgres).maxBatch} appends per call, ` +
              `${(groupCommit ?? DEFAULT_GROUP_COMMIT.postgres).gather ? 'gathered per turn of the event loop' : 'not gathered'})`,
            `${writers} writers in one Node process, a pool of ${writers} connections per side, ${rounds} rounds × ${seconds} s per side ` +
              `(alternating which side goes first), ${warmupSeconds} s warm-up per side, ` +
              (comparison.checkpoints ? 'CHECKPOINT before every timed run' : 'no CHECKPOINT between runs (not permitted)'),
          ],
          result:
            `${fmt(comparison.medianRatio, 3)}× the plain INSERT rate (median of the per-round ratios; ` +
            `median rates ${fmt(comparison.storeMedian)} vs ${fmt(comparison.peerMedian)} events/s); ` +
            `an event with personal data, split off into its personal columns: ${fmt(personal.medianRatio, 3)}× ` +
            `(${fmt(personal.storeMedian)} vs ${fmt(personal.peerMedian)} events/s); both with the store's group commit ` +
            `(median ${fmt(median(comparison.rounds.map((r) => r.appendsPerCall)), 1)} appends per call). ` +
            `Group commit off (every append its own call): ${fmt(alone.medianRatio, 3)}× (${fmt(alone.storeMedian)} vs ${fmt(alone.peerMedian)} events/s)`,
          targetMet: met,
          details: DETAILS,
        };
      } finally {
        await storeDb.close();
        await peerDb.close();
      }
    });
  },
};

const redact = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

// Kept in code so that regenerating the section keeps it. Update it when the adapter changes.
const DETAILS = `**Method.** Each timed run starts 16 async writers in one Node process; each loops until the run's time
is up. Store side: \`SqlEventStore.appendToStreams\` with one \`UserStatusChanged\` event (uuid id, a small
\`data\` object, metadata with actor, occurredAt, reason, correlation and causation ids, command) and
\`expectedRevision: 'no_stream'\` on a new stream \`user-<uuid>\` each time, **with the store's group commit
on, as it ships**: appends wait for the end of the event loop's turn in which they arrive (or in which a
call ends, for those that queued while 4 append calls were in flight), then go out spread evenly over the calls
free (at most 4 in flight, up to 64 appends each), each \`es_append_streams\` call one transaction and one
commit. The column "store
appends per call" is acknowledged appends / append calls the store sent (counted around its database);
1.0 means no batching. The rows "group commit off" are the same store with \`{ groupCommit: false }\`
(every append its own call, transaction and commit, as before group commit), against the same INSERT.
The peer is unchanged and gets no batching: one autocommit INSERT per event. Peer side: the same event, one
\`INSERT INTO plain_events (...) VALUES ($1..$7)\` per event in autocommit, into a table with \`es_events\`'
columns and constraints (identity \`global_position\`, primary key \`(stream_id, revision)\`, unique
\`event_id\`, \`recorded_at DEFAULT now()\`), through its own \`openPostgres\` pool of 16. Both sides build the
same envelope (uuids, ISO timestamp, JSON) in the same process and go through the same driver path
(unnamed statements). Throughput = acknowledged appends / wall time of the run; the ratio is taken per
round (the two runs of a round are adjacent in time) and the headline is the median of the round
ratios. CPU per event: Node from \`process.cpuUsage\`, PostgreSQL from \`/proc/<pid>/schedstat\` of the
side's backends. A fresh schema is created for the run and dropped after it; row counts are checked
against the acknowledged appends. On this shared 2-CPU machine a single run's ratio moves by about
±0.06, so compare ratios, and prefer head-to-heads (two variants interleaved in one run) to runs.

**What was measured and changed** (tools: \`bench/profileAppend.ts\`, \`perf\` with DWARF call graphs,
\`pg_stat_activity\` sampling).

- *Before:* every append called \`es_append(jsonb, text)\` (a set-returning plpgsql function taking the
  writes as one jsonb document). Full runs of this benchmark, alternated with the new adapter in the
  same session: **0.53× and 0.54×** (new adapter: 0.67× and 0.76×). Per append, PostgreSQL spent about
  1.7× the CPU of the plain INSERT and Node about 2×. Sampling \`pg_stat_activity\` shows most backends
  of either side waiting on \`WALWrite\` (group commit) or idle in \`ClientRead\` (waiting for the one
  Node process), and the two CPUs busy: CPU per append, in Node and in PostgreSQL, sets the rate.
- *Where PostgreSQL's time went* (one connection, \`synchronous_commit=off\` so the WAL flush, the same
  for all, does not drown the rest; backend CPU per event, median of 5 × 3,000; the plain INSERT took
  130 µs in the same run):

  | variant (\`profileAppend.ts\` name) | µs/event | × INSERT |
  | --- | ---: | ---: |
  | old path: \`es_append\` with a jsonb envelope (\`raw-es_append\`) | 188 | 1.45 |
  | the same as a named prepared statement (\`prepared-es_append\`) | 156 | 1.20 |
  | the same without the \`(transaction_id, global_position)\` index (\`es_append-no-log-index\`) | 192 | 1.47 |
  | one SQL statement (CTE: insert es_streams, then es_events), unprepared (\`sql-cte\`) | 187 | 1.44 |
  | the same, named prepared statement (\`sql-cte-prepared\`) | 128 | 0.99 |
  | set-returning plpgsql function with typed arrays (\`plpgsql-lean\`) | 192 | 1.47 |
  | plain plpgsql function returning text, one event, scalar arguments (\`plpgsql-scalar\`) | 148 | 1.13 |
  | **plain plpgsql function returning text, typed arrays + jsonb arrays (\`plpgsql-stream-arrays\`; now \`es_append_stream\`)** | 161 | 1.23 |
  | the same, named prepared statement (\`plpgsql-stream-arrays-prepared\`) | 140 | 1.07 |
  | the same, events as one jsonb array (\`plpgsql-stream-json\`) | 159 | 1.22 |
  | the same, plain INSERT into es_streams instead of ON CONFLICT (\`plpgsql-stream-plain\`) | 166 | 1.27 |
  | es_events alone, no es_streams, no function (\`events-only\`) | 149 | 1.15 |
  | the plain INSERT as a named prepared statement (\`peer-prepared\`) | 91 | 0.70 |
  | the adapter now, through \`SqlEventStore\` (\`adapter\`) | 160 | 1.23 |

  The jsonb envelope and the set-returning call cost most; parsing and planning the statement
  PostgreSQL receives each time is the next cost (the unnamed multi-table CTE is the worst); the
  log-order index and the ON CONFLICT on es_streams are lost in the noise.
- *Kept:* the common append (one stream, no idempotency key) now calls \`es_append_stream(stream,
  expected, ids uuid[], types text[], schema_versions int[], data jsonb, metadata jsonb)\`, a plain
  plpgsql function returning \`'<last revision> <transaction id> <positions...>'\`; it takes the same row
  lock on es_streams, raises the same ES409 conflict, writes the same rows (transaction id included)
  in one statement. Keyed and multi-stream appends still call \`es_append\`. Head-to-head with the old
  adapter (5 rounds × 4 s): **1.29×** the old rate.
- *Kept (Node):* results are built field by field instead of \`{ ...event, streamId, revision, position
  }\`, which in Node 20 costs about 2 µs per object against 10 ns (spread followed by more properties
  leaves V8's fast path). Node CPU per append went from about 120–135 µs to 70–90 µs (the INSERT: 50–60
  µs; the rest is reading the returned row, which a plain INSERT does not have).
- *Tried, not kept:* a plain INSERT into es_streams with the unique violation as the conflict (0.92×
  head-to-head: no gain); a procedure run by \`CALL\` instead of \`SELECT f(...)\` (156 against 153
  µs/event serially: no gain); making \`streamRevisions\` lazy (no measurable gain); dropping the
  log-order index (no measurable gain, and catch-up reads need it).
- *Before named statements:* seven full runs of this benchmark (same day, same machine) gave
  0.63×–0.79×, median 0.66×: at the target's edge, usually just under it.
- *Kept (named statements):* \`SqlExecutor.query\` takes an optional statement name, which the pg
  adapter passes through as \`{ name, text, values }\` (PGlite ignores it); the common append is
  prepared once per connection as \`es_append_stream_v1\` (the version in the name changes with the
  function's signature or result, so a cached plan never meets a changed function). Head-to-head
  before this change: **1.18×** the adapter's rate. The run above is with it.
  The rest of the gap is the store's own work: two rows (es_streams, es_events) and four index entries
  against one row and two, about 1,300 against 920 bytes of WAL per append.
- *Kept (personal rows, issues 15 and 19):* the personal rows of an append (the free-text reason of an
  event that concerns a person, and the personal fields of a registration and the like) are written by
  \`es_append_stream\` / \`es_append\` themselves, from a last \`p_personal jsonb\` argument, in the one
  prepared call (\`es_append_stream_v3\`), instead of by a CTE around the call inserting from
  \`jsonb_to_recordset\`; only an erasure (rare) still wraps the call. Node builds the split event field
  by field (no object spreads) and works out no subjects for an event with neither personal fields nor a
  reason. Serial head-to-head (\`profileAppend.js --serial adapter adapter-cte adapter-no-reason peer\`,
  5 × 3,000 events, load average about 30): PostgreSQL CPU 361 µs an event against 478 µs for the CTE
  (−25 %), Node 323 against 378 µs; the plain INSERT 267 / 257 µs in the same run.
- *Runs on 2026-12-05 before the personal columns* (load average 25–31): 0.463× and 0.643× (personal event
  0.510× and 0.785×); the store's PostgreSQL CPU 1.4–1.9× the INSERT's, its Node CPU 1.5–2×.
- *Where the rest was:* the usual event carries a reason, so the store wrote three rows (es_streams,
  es_events, es_personal_data) and five index entries against the INSERT's one row and two; an insert
  into es_personal_data alone cost 30–50 µs of PostgreSQL CPU (psql loop, 20,000 rows).
- *Kept (personal columns, issue 15):* an event's personal part (its personal fields and its reason)
  lives in nullable columns of its own es_events row (\`personal_subjects\`, \`personal_data\`,
  \`personal_erased\`, \`personal_metadata\`, \`personal_erased_metadata\`), outside the hash, written by
  the event's INSERT in the append function (from the same \`p_personal\` rows, through the inlined SQL
  function \`es_personal_part\`): two rows per append again, and no join in \`es_events_merged\`. An
  erasure UPDATEs the values to NULL. Backend CPU per append in a server-side loop (10,000 appends per
  run, 4 interleaved runs, median): 73 µs against 83 µs with the es_personal_data row (an event with a
  reason); 66 against 58 µs for an event with nothing personal (the LEFT JOIN on a NULL argument).
  Full runs, old build then this one, minutes apart on a loaded machine (load average 9–13): old
  **0.719×** (personal event **0.642×**), new **0.754×** (**0.742×**); PostgreSQL CPU per event 486–541
  µs (personal 538–591) before against 432–495 (423–455), the INSERT's 273–357 in both. Erasing one
  user on a log of 100,000 events (10,000 users): 230–290 ms (median 265 ms, load 12), of which the
  UPDATE's scan of es_events is 135 ms and the scan for events from before the split the rest; no
  index on \`personal_subjects\` (a GIN entry per append for a rare admin operation).
- *Without group commit* (the build before it, 14:47 UTC, quiet machine, load 1.9): **0.669×** (personal
  event 0.620×); CPU per event Node 90–108 µs against the INSERT's 60–72, PostgreSQL 266–329 µs against
  178–219. What was left was per call, not per row: a round trip, a transaction, an executor start and a
  commit for every append, against the same for the INSERT, with more to do inside.
- *Kept (group commit, issue 19):* \`AppendBatcher\` in the adapter and \`es_append_streams\` (event-store
  migration \`0003_group_commit\`), as described under Method. A broken expectation is that append's
  result (\`'!<actual revision>'\`), not a RAISE, so the rest of the batch commits without a savepoint;
  any other error (a duplicate event id) fails the call and its appends are retried one at a time.
  Appends apply in stream id order, as \`es_append\` locks its streams, so batches never deadlock each
  other. How many calls in flight (\`profileAppend.js --group-commit off,1:64,2:64,4:64,8:64\`: 16
  writers, every setting and the INSERT interleaved in one run, 3 rounds × 3 s, load average 13–17 from
  other sessions; two runs): 1 in flight:
  8.0 appends per call, 0.73× the INSERT; 2: 5.0, 0.66–0.97×; **4: 2.9, 1.09–1.17×**; 8: 1.6–1.7,
  0.89–1.12×; off: 1.0, 0.72–0.81×. PostgreSQL CPU per event fell from 450–520 µs (off) to 190–215 µs
  (4 in flight; the INSERT's 320–345 in the same runs), Node's from 115–225 to 85–100 µs (the INSERT's
  89–150). Fewer in flight makes bigger batches but leaves the CPUs idle while each call waits for its
  commit; more makes batches too small to matter. The embedded store (PGlite, one connection) batches
  behind its one call in flight: 16 writers on an on-disk PGlite, same process, 3 rounds: 1,927 appends/s
  against 662/s with group commit off (about 8 appends per call; 2 in flight: 1,639/s).
- *Kept (gathering on PostgreSQL, issue 19):* on a machine where a commit costs little, the INSERT went
  to 10,651/s and the store to 0.675× (2.9 appends a call; p50 2.0 against 1.4 ms): an append went out
  alone while one of the 4 calls was free, the others queued behind four calls, and the writers a call
  answered queued again behind the calls still in flight. Now PostgreSQL gathers as the embedded store
  does: an append, and what queued when a call ends, waits for the end of the event loop's turn, and what
  gathered goes out spread evenly over the calls free (16 writers: four calls of four). Head to head in one
  run (\`profileAppend.js --group-commit 4:64,4:64:gather\`, 8 rounds × 3 s, load average 9-11 from
  other sessions): **0.93×** the INSERT against 0.77×, 4.0 appends a call against 2.9, CPU µs/event Node
  96 against 111, PostgreSQL 267 against 288 (the INSERT's 88 and 381 in the same run). Gathered, 2, 4
  and 8 calls in flight (\`4:64,2:64:gather,4:64:gather,8:64:gather\`, 6 rounds, load 17-18): 0.75×,
  **0.92×**, 0.62× (8.0, 4.0 and 2.0 appends a call; not gathered: 0.57×). Full runs of this benchmark,
  the tree before and after alternated (load 9-20, so the rates are a tenth to a fifth of a quiet
  machine's): before 0.988×, 0.854× and 0.704× (personal event 0.760×, 0.885× and 0.653×), after
  1.099×, 0.930× and 0.876× (0.924×, 0.972× and 0.829×), 4.0 appends a call against 2.9-3.0.`;
