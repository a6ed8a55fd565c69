import { createWriteStream, renameSync, rmSync } from 'node:fs';
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
import type { SqlDatabase } from '../sql/sqlDatabase';
import { EXIT, line, runTool, warnAboutNpmBanner } from './common';

const USAGE = `Usage: mentoring-events <command> [options]     (or: npm run -s events -- <command> [options])

Commands:
{{COMMANDS}}

Run \`mentoring-events <command> --help\` for a command's options.

Reads the SQL event log (PostgreSQL with DATABASE_URL, else the embedded store in DATA_DIR). The
embedded store allows one process at a time: while the server runs on it, this tool is refused
(stop the server first). Events kept in KurrentDB (EVENTSTORE_CONNECTION_STRING) are not reachable
from here. To rebuild read models: mentoring-projections rebuild.`;

const VERIFY_USAGE = `Usage: mentoring-events verify [--stream <id>]

Recomputes the hash chains of the whole log (or of one stream) and reports every event altered
(ALTERED, CHAIN_BROKEN) or removed (MISSING, HEAD_MISMATCH): one JSON object per problem on stdout,
the verdict on stderr. Exit 0 intact, 1 not intact, 2 bad arguments.

  --stream   verify this stream only, e.g. user-<id>`;

const EXPORT_USAGE = `Usage: mentoring-events export [--out <file>] [--stream <id>] [--aggregate <name>] [--type <T> ...]
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
  /** For `migrate`: the configured SQL database, whether or not it holds the log yet. */
  readonly schemaDatabase?: () => Promise<{ readonly db: SqlDatabase; readonly logInDatabase: boolean }>;
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
  migrate: {
    summary: 'migrate [--status]   apply the schema migrations the database lacks, or list them all (--help for more)',
    run: (argv, io) => runMigrate(argv, io),
  },
};

const MIGRATE_USAGE = `Usage: mentoring-events migrate [--status]

Schema migrations of the SQL database (the event log when it is kept there, the read models, the
settings, the audit tables). The server applies them itself at start-up; this is for seeing them and
for applying them ahead of a deployment.

  --status   list every migration this version has, and any the database records that it does not:
             one JSON object per line on stdout ({ component, name, state, appliedAt }, state one of
             applied, pending, unknown (the database is newer than this version), changed (applied
             with another script)). Exit 0 when all are applied, 1 otherwise.

Without --status: applies the pending ones in order and records them (on PostgreSQL the event log's
audit indexes are built CONCURRENTLY, which can take a while on a long log: progress on stderr), then
prints the status. A database newer than this version is refused (exit 1), nothing changed.`;

/** Read-model rebuilds moved to one command; the old name says where. */
const MOVED: Readonly<Record<string, string>> = {
  replay: '`events replay` is now `mentoring-projections rebuild <name>... | --all` (npm run -s projections -- rebuild ...): one command, with progress.',
};

/** `verify [--stream <id>]`: tamper evidence over the whole log or one stream; exit 1 when something was altered or removed. */
const runVerify = async (argv: readonly string[], io: EventsCliIo): Promise<number> => {
  let values: { stream?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { stream: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    line(io.stderr, `${error instanceof Error ? error.message : String(error)}\n\n${VERIFY_USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    line(io.stdout, VERIFY_USAGE);
    return EXIT.ok;
  }
  const streamId = values.stream;
  if (streamId !== undefined && streamId.trim() === '') {
    line(io.stderr, `--stream needs a stream id.\n\n${VERIFY_USAGE}`);
    return EXIT.usage;
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

/** `migrate [--status]`: the schema migrations, listed or applied. */
const runMigrate = async (argv: readonly string[], io: EventsCliIo): Promise<number> => {
  let values: { status?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { status: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    line(io.stderr, `${error instanceof Error ? error.message : String(error)}\n\n${MIGRATE_USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    line(io.stdout, MIGRATE_USAGE);
    return EXIT.ok;
  }
  const { db, logInDatabase } = io.schemaDatabase ? await io.schemaDatabase() : { db: await io.database(), logInDatabase: true };
  const { serverMigrationSets } = await import('../schemaMigrations');
  const { serverProjections } = await import('../../projections');
  const { eventLogIndexProjection } = await import('../../projections/eventLogIndex/eventLogIndex.projection');
  const { MigrationRefusedError, migrate, migrationStatus } = await import('../sql/migrations');
  const { AUDIT_INDEX_MIGRATIONS, migrateAuditIndexes } = await import('../audit/eventLog');
  const sets = serverMigrationSets({ logInDatabase, projections: logInDatabase ? serverProjections : [...serverProjections, eventLogIndexProjection] });
  if (!values.status) {
    try {
      for (const set of sets) {
        if (set.component === AUDIT_INDEX_MIGRATIONS.component) {
          line(io.stderr, `${set.component}: building the audit indexes on es_events if missing (CONCURRENTLY on PostgreSQL)...`);
          line(io.stderr, `${set.component}: ${await migrateAuditIndexes(db)}`);
        } else {
          const applied = await migrate(db, set);
          line(io.stderr, `${set.component}: ${applied.length > 0 ? `applied ${applied.join(', ')}` : 'up to date'}`);
        }
      }
    } catch (error) {
      if (error instanceof MigrationRefusedError) {
        line(io.stderr, error.message);
        return EXIT.failed;
      }
      throw error;
    }
  }
  const states = await migrationStatus(db, sets);
  for (const state of states) line(io.stdout, JSON.stringify(state));
  const notApplied = states.filter((state) => state.state !== 'applied');
  line(
    io.stderr,
    notApplied.length === 0
      ? `All ${states.length} migrations applied.`
      : `${states.length - notApplied.length} of ${states.length} migrations applied; not applied: ${notApplied.map((s) => `${s.component}/${s.name} (${s.state})`).join(', ')}.`,
  );
  return notApplied.length === 0 ? EXIT.ok : EXIT.failed;
};

const usage = (): string =>
  USAGE.replace('{{COMMANDS}}', Object.values(SUBCOMMANDS).map((command) => `  ${command.summary}`).join('\n'));

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
    line(io.stdout, EXPORT_USAGE);
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
  if (name === '--help' || name === '-h' || name === 'help') {
    line(io.stdout, usage());
    return EXIT.ok;
  }
  if (name === undefined) {
    line(io.stderr, usage());
    return EXIT.usage;
  }
  const subcommand = SUBCOMMANDS[name];
  if (!subcommand && MOVED[name] !== undefined) {
    line(io.stderr, MOVED[name]);
    return EXIT.usage;
  }
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
const openEventLogDatabase = async (env: NodeJS.ProcessEnv): Promise<SqlDatabase> => {
  const config = loadConfig(env);
  if (config.eventStoreConnectionString) {
    throw new DomainError('RULE_VIOLATED', 'EVENTSTORE_CONNECTION_STRING is set: the events live in KurrentDB, which this tool cannot read.');
  }
  // Loaded when used: `--help` and usage errors answer without loading the database drivers.
  const { openConfiguredDatabase } = await import('./database');
  const db = await openConfiguredDatabase(config);
  const table = await db.query<{ present: boolean }>(`SELECT to_regclass('es_events') IS NOT NULL AS present`);
  if (table.rows[0]?.present !== true) {
    await db.close();
    throw new DomainError('NOT_FOUND', 'This database has no event log (es_events); start the server once to create it.');
  }
  return db;
};

/** The tool as a process: arguments and environment in, data on stdout, the rest on stderr. */
export const main = async (argv: readonly string[] = process.argv.slice(2)): Promise<number> => {
  let db: SqlDatabase | null = null;
  // A reader that went away (`| head`) ends the export quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
  });
  if (argv[0] === 'export' && !argv.some((arg) => ['--out', '-o', '--help', '-h'].includes(arg))) warnAboutNpmBanner(process.stdout, process.stderr, 'events');
  try {
    return await runEventsCli(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      database: async () => (db ??= await openEventLogDatabase(process.env)),
      schemaDatabase: async () => {
        const config = loadConfig(process.env);
        const { openConfiguredDatabase } = await import('./database');
        db ??= await openConfiguredDatabase(config);
        return { db, logInDatabase: !config.eventStoreConnectionString };
      },
    });
  } finally {
    await (db as SqlDatabase | null)?.close();
  }
};

if (require.main === module) runTool(() => main());
