import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { hostname, userInfo } from 'node:os';
import { AGGREGATE_NAMES } from '../audit/aggregates';
import { SqlEventLog, normalizeFilter, type EventLogFilter } from '../audit/eventLog';
import { exportNdjson, type ExportProgress } from '../audit/exportNdjson';
import { ReadAuditLog, subjectOfStream } from '../audit/readAudit';
import { createLogger } from '../log';
import { loadConfig } from '../config';
import { DomainError } from '../domain/shared/decider';
import { openPglite } from '../sql/pglite';
import { openPostgres } from '../sql/postgres';
import type { SqlDatabase } from '../sql/sqlDatabase';
import { SqlEventStore } from '../eventstore/sqlEventStore';
import { REPLAY_CONNECTIONS } from '../projections/replay';
import { ProjectionRunner } from '../projections/runner';
import { serverProjections } from '../../projections';

const USAGE = `Usage: npm run events -- <command> [options]

Commands:
{{COMMANDS}}

Reads the SQL event log (PostgreSQL with DATABASE_URL, else the embedded store in DATA_DIR). The
embedded store allows one process at a time: stop the server first. Events kept in KurrentDB
(EVENTSTORE_CONNECTION_STRING) are not reachable from here.`;

const EXPORT_USAGE = `Usage: npm run events -- export [--out <file>] [--stream <id>] [--aggregate <name>] [--type <T> ...]
                               [--actor <id>] [--role <role>] [--from <iso>] [--to <iso>] [--correlation <id>] [--causation <id>]

Writes the event log, or the slice the options select, as NDJSON: one event per line, in log order,
with position, streamId, revision, eventId, type, schemaVersion, data and metadata. The slice is
exactly what the GraphQL eventLog query lists for the same filter, as of the moment the export
started (events appended meanwhile are left for the next export).

  --out          write to this file (written whole or not at all); default: stdout
  --stream       exactly this stream, e.g. user-<id>
  --aggregate    every stream of ${AGGREGATE_NAMES.join(', ')}
  --type         an event type; repeat for several
  --actor        events caused by this actor id
  --role         events caused by actors in this role
  --from, --to   occurredAt from (inclusive) to (exclusive), ISO-8601
  --correlation  events of one request
  --causation    events of one command

A progress bar goes to stderr when it is a terminal; stdout carries nothing but the NDJSON.`;

/** What a subcommand may use: where to write, and the database (opened on first use, closed by the caller). */
export interface EventsCliIo {
  readonly stdout: Writable;
  readonly stderr: Writable & { readonly isTTY?: boolean };
  readonly database: () => Promise<SqlDatabase>;
  /** Who runs the tool, for the read log (default: the operating-system user at this host). */
  readonly operator?: string;
}

interface Subcommand {
  readonly summary: string;
  readonly run: (argv: readonly string[], io: EventsCliIo) => Promise<number>;
}

/**
 * The subcommands. Each returns its exit code: 0 done, 1 failed, 2 bad arguments.
 */
const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  export: { summary: 'export [options]   the log, or a filtered slice, as NDJSON (--help for the options)', run: (argv, io) => runExport(argv, io) },
  verify: {
    summary: 'verify [--stream <id>]   recompute the hash chains and report any event altered or removed (exit 1 if any)',
    run: (argv, io) => runVerify(argv, io),
  },
  replay: {
    summary: 'replay <name>|--all   rebuild read models beside the live ones and swap them in (the server keeps running)',
    run: (argv, io) => runReplay(argv, io),
  },
};

/** `verify [--stream <id>]`: tamper evidence over the whole log or one stream; exit 1 when something was altered or removed. */
const runVerify = async (argv: readonly string[], io: EventsCliIo): Promise<number> => {
  const streamIndex = argv.indexOf('--stream');
  const streamId = streamIndex >= 0 ? argv[streamIndex + 1] : undefined;
  if (streamIndex >= 0 && !streamId) {
    line(io.stderr, 'Usage: npm run events -- verify [--stream <stream id>]');
    return 2;
  }
  const db = await io.database();
  const report = await new SqlEventLog(db).verify({
    ...(streamId ? { streamId } : {}),
    onProgress: (p) => {
      if (io.stderr.isTTY) io.stderr.write(`\rverified ${p.eventsChecked} events in ${p.streamsChecked} streams, ${p.problemCount} problems`);
    },
  });
  if (io.stderr.isTTY) io.stderr.write('\n');
  for (const problem of report.problems) {
    line(io.stdout, JSON.stringify(problem));
  }
  line(
    io.stderr,
    report.intact
      ? `Intact: ${report.eventsChecked} events in ${report.streamsChecked} streams, every hash chain verified.`
      : `NOT intact: ${report.problemCount} problem(s) in ${report.eventsChecked} events of ${report.streamsChecked} streams (listed on stdout, one JSON per line).`,
  );
  return report.intact ? 0 : 1;
};

const duration = (seconds: number | null): string =>
  seconds === null ? '?' : seconds < 90 ? `${Math.round(seconds)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;

/**
 * `replay <name>... | --all`: the projections are rebuilt from the start of the log, in one pass, into a
 * schema of their own and swapped in together when complete; a server running on the same PostgreSQL keeps answering from the
 * old tables meanwhile and carries on from the swap. Progress, events/s and an ETA go to stderr.
 */
const runReplay = async (argv: readonly string[], io: EventsCliIo): Promise<number> => {
  const db = await io.database();
  const store = await SqlEventStore.create(db);
  const projections = serverProjections;
  const all = argv.includes('--all');
  const names = all ? projections.map((p) => p.name) : argv.filter((a) => !a.startsWith('-'));
  const unknown = names.filter((name) => !projections.some((p) => p.name === name));
  if (names.length === 0 || unknown.length > 0) {
    line(io.stderr, `${unknown.length > 0 ? `Unknown read model: ${unknown.join(', ')}. ` : ''}Name one or more of: ${projections.map((p) => p.name).join(', ')}, or --all.`);
    return 2;
  }
  const runner = await ProjectionRunner.create(store, db, projections);
  // One pass over the log for all of them: each event is read once, and every read model is swapped in together.
  const label = names.join(', ');
  let lastShown = 0;
  const { applied } = await runner.replay(names, (p) => {
    const now = Date.now();
    if (now - lastShown < 250 && p.applied < p.total) return;
    lastShown = now;
    const percent = p.total > 0 ? Math.min(100, Math.floor((100 * p.applied) / p.total)) : 100;
    const text = `${label}: ${p.applied}/${p.total} events (${percent} %), ${Math.round(p.eventsPerSecond)} events/s, ETA ${duration(p.etaSeconds)}`;
    if (io.stderr.isTTY) io.stderr.write(`\r${text.padEnd(100)}`);
    else line(io.stderr, text);
  });
  if (io.stderr.isTTY) io.stderr.write('\n');
  line(io.stderr, `${label}: replayed ${applied} events and swapped in.`);
  return 0;
};

const usage = (): string =>
  USAGE.replace('{{COMMANDS}}', Object.values(SUBCOMMANDS).map((command) => `  ${command.summary}`).join('\n'));

const line = (stream: Writable, text: string): void => {
  stream.write(`${text}\n`);
};

/** Parses `export`'s options into a filter; a string is a usage error. */
export const parseExportArgs = (argv: readonly string[]): { readonly filter: EventLogFilter; readonly out?: string; readonly help: boolean } | string => {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        out: { type: 'string', short: 'o' },
        stream: { type: 'string' },
        aggregate: { type: 'string' },
        type: { type: 'string', multiple: true },
        actor: { type: 'string' },
        role: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        correlation: { type: 'string' },
        causation: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  const text = (name: string): string | undefined => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const raw: Record<string, unknown> = {
    streamId: text('stream'),
    aggregate: text('aggregate'),
    eventTypes: Array.isArray(values.type) ? values.type : undefined,
    actorId: text('actor'),
    actorRole: text('role'),
    from: text('from'),
    to: text('to'),
    correlationId: text('correlation'),
    causationId: text('causation'),
  };
  const filter = Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== undefined)) as EventLogFilter;
  try {
    normalizeFilter(filter);
  } catch (error) {
    if (error instanceof DomainError) return error.message;
    throw error;
  }
  const out = text('out');
  return { filter, ...(out !== undefined ? { out } : {}), help: values.help === true };
};

/** A one-line progress bar, redrawn at most ten times a second. */
const progressBar = (stderr: Writable) => {
  const started = Date.now();
  let drawn = 0;
  const draw = ({ written, total }: ExportProgress, force = false) => {
    const now = Date.now();
    if (!force && now - drawn < 100) return;
    drawn = now;
    const seconds = Math.max((now - started) / 1000, 0.001);
    const share = total > 0 ? Math.min(written / total, 1) : 1;
    const width = 30;
    const filled = Math.round(share * width);
    const rate = Math.round(written / seconds);
    stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ` +
        `${written.toLocaleString('en-US')}/${total.toLocaleString('en-US')} events  ${rate.toLocaleString('en-US')} events/s `,
    );
  };
  return {
    update: (progress: ExportProgress) => draw(progress),
    finish: (progress: ExportProgress) => {
      draw(progress, true);
      stderr.write('\n');
    },
  };
};

const runExport = async (argv: readonly string[], io: EventsCliIo): Promise<number> => {
  const parsed = parseExportArgs(argv);
  if (typeof parsed === 'string') {
    line(io.stderr, `${parsed}\n\n${EXPORT_USAGE}`);
    return 2;
  }
  if (parsed.help) {
    line(io.stderr, EXPORT_USAGE);
    return 0;
  }
  const db = await io.database();
  const eventLog = new SqlEventLog(db);
  const bar = io.stderr.isTTY ? progressBar(io.stderr) : null;
  const started = Date.now();
  // A file is written under a temporary name and renamed when complete: never half an export under the real name.
  const partial = parsed.out !== undefined ? `${parsed.out}.partial` : undefined;
  const out = partial !== undefined ? createWriteStream(partial) : io.stdout;
  let result: ExportProgress;
  try {
    result = await exportNdjson(eventLog, parsed.filter, out, { ...(bar ? { onProgress: bar.update } : {}) });
    if (partial !== undefined) {
      out.end();
      await finished(out);
      renameSync(partial, parsed.out!);
    }
  } catch (error) {
    if (partial !== undefined) {
      out.destroy();
      rmSync(partial, { force: true });
    }
    throw error;
  }
  bar?.finish(result);
  await recordExport(db, io, parsed.filter, result.written);
  if (bar || parsed.out !== undefined) {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    line(io.stderr, `exported ${result.written} events${parsed.out !== undefined ? ` to ${parsed.out}` : ''} in ${seconds} s`);
  }
  return 0;
};

/**
 * An export hands many people's events to whoever runs it: one EXPORT read in the read log ("who read
 * what") saying what it covered. The tool has no token, so the reader is the operating-system user
 * who ran it (role `operator`). A failed write is reported but does not undo the export.
 */
const recordExport = async (db: SqlDatabase, io: EventsCliIo, filter: EventLogFilter, written: number): Promise<void> => {
  const logger = createLogger({ level: 'error', destination: io.stderr });
  const log = await ReadAuditLog.create(db, { logger });
  const now = new Date().toISOString();
  log.record({
    readAt: now,
    actorId: io.operator ?? `${userInfo().username}@${hostname()}`,
    actorRole: 'operator',
    kind: 'EXPORT',
    objectId: `npm run events -- export ${JSON.stringify(filter)}: ${written} events`,
    subjectUserId: filter.streamId !== undefined ? subjectOfStream(filter.streamId) : null,
    via: 'events CLI export (NDJSON)',
    requestId: null,
    correlationId: null,
  });
  await log.stop();
};

/** Runs one subcommand; the database, if it opened one, is closed by the caller (see `main`). */
export const runEventsCli = async (argv: readonly string[], io: EventsCliIo): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    line(io.stderr, usage());
    return name === undefined ? 2 : 0;
  }
  const subcommand = SUBCOMMANDS[name];
  if (!subcommand) {
    line(io.stderr, `Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  try {
    return await subcommand.run(rest, io);
  } catch (error) {
    if (error instanceof DomainError) {
      line(io.stderr, error.message);
      return 2;
    }
    throw error;
  }
};

/** The SQL database the environment configures, refusing what holds no SQL event log. */
const openConfiguredDatabase = async (env: NodeJS.ProcessEnv): Promise<SqlDatabase> => {
  const config = loadConfig(env);
  if (config.eventStoreConnectionString) {
    throw new DomainError('RULE_VIOLATED', 'EVENTSTORE_CONNECTION_STRING is set: the events live in KurrentDB, which this tool cannot read.');
  }
  let db: SqlDatabase;
  if (config.databaseUrl) {
    // A replay runs its loads, its copy of the few events and its Node.js part on connections of their own.
    db = openPostgres(config.databaseUrl, { max: REPLAY_CONNECTIONS });
  } else {
    // PGlite would quietly create an empty store where none is.
    if (!existsSync(config.dataDir)) throw new DomainError('NOT_FOUND', `No embedded store at ${config.dataDir} (set DATA_DIR or DATABASE_URL).`);
    db = await openPglite(config.dataDir);
  }
  const table = await db.query<{ present: boolean }>(`SELECT to_regclass('es_events') IS NOT NULL AS present`);
  if (table.rows[0]?.present !== true) {
    await db.close();
    throw new DomainError('NOT_FOUND', 'This database has no event log (es_events); start the server once to create it.');
  }
  return db;
};

const main = async (): Promise<number> => {
  let db: SqlDatabase | null = null;
  // A reader that went away (`| head`) ends the export quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  try {
    return await runEventsCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      database: async () => (db ??= await openConfiguredDatabase(process.env)),
    });
  } catch (error) {
    if (error instanceof DomainError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await (db as SqlDatabase | null)?.close();
  }
};

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
