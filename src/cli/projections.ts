import { parseArgs } from 'node:util';
import { serverProjections } from '../../projections';
import { loadConfig } from '../config';
import { START, comparePositions, formatPosition, type EventStore } from '../eventstore/eventStore';
import { SqlEventStore } from '../eventstore/sqlEventStore';
import { ProjectionRunner } from '../projectionEngine/runner';
import type { SqlDatabase } from '../sql/sqlDatabase';
import { EXIT, line, runTool } from './common';
import type { Writable } from 'node:stream';

const names = (): string => serverProjections.map((projection) => projection.name).join(', ');

const USAGE = `Usage: mentoring-projections <command> [options]     (or: npm run -s projections -- <command> [options])

Commands:
  status                     each read model's checkpoint against the head of the log (one JSON per line on stdout)
  rebuild <name>... | --all  rebuild read models from the log and swap them in, with progress on stderr

Run \`mentoring-projections <command> --help\` for a command's options. Works against the store the
environment configures (DATABASE_URL, EVENTSTORE_CONNECTION_STRING, DATA_DIR). On PostgreSQL the
server may keep running; the embedded store is one process's: while the server runs on it, this tool
is refused (stop the server first).`;

const STATUS_USAGE = `Usage: mentoring-projections status

Prints one JSON object per read model on stdout: {"projection", "checkpoint", "head", "caughtUp"}.`;

const REBUILD_USAGE = `Usage: mentoring-projections rebuild <name>... | --all

Rebuilds the named read models (or all) from the start of the log, in one pass, into tables of their
own, and swaps them in together when complete: a server running on the same PostgreSQL keeps
answering from the old tables meanwhile and carries on from the swap. From the SQL log the heavy read
models are filled in SQL; from KurrentDB every read model is applied in Node.js. Progress, events/s
and an ETA go to stderr; stdout carries one JSON summary line at the end.

Read models: ${names()}.`;

export interface ProjectionsCliIo {
  readonly stdout: Writable;
  readonly stderr: Writable & { readonly isTTY?: boolean };
  /** The event store and read-model database (opened on first use, closed by the caller). */
  readonly open: () => Promise<{ readonly store: EventStore; readonly db: SqlDatabase }>;
}

const duration = (seconds: number | null): string =>
  seconds === null ? '?' : seconds < 90 ? `${Math.round(seconds)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;

const parse = (argv: readonly string[], positionals: boolean): { values: { help?: boolean; all?: boolean }; positionals: string[] } =>
  parseArgs({
    args: [...argv],
    options: positionals ? { help: { type: 'boolean', short: 'h' }, all: { type: 'boolean' } } : { help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: positionals,
  }) as { values: { help?: boolean; all?: boolean }; positionals: string[] };

const status = async (argv: readonly string[], io: ProjectionsCliIo): Promise<number> => {
  const { values } = parse(argv, false);
  if (values.help) {
    line(io.stdout, STATUS_USAGE);
    return EXIT.ok;
  }
  const { store, db } = await io.open();
  const runner = await ProjectionRunner.create(store, db, serverProjections);
  const head = await store.readHead();
  for (const { projection, position } of await runner.status()) {
    line(
      io.stdout,
      JSON.stringify({
        projection,
        checkpoint: comparePositions(position, START) === 0 ? null : formatPosition(position),
        head: formatPosition(head),
        caughtUp: comparePositions(position, head) >= 0,
      }),
    );
  }
  return EXIT.ok;
};

const rebuild = async (argv: readonly string[], io: ProjectionsCliIo): Promise<number> => {
  const { values, positionals } = parse(argv, true);
  if (values.help) {
    line(io.stdout, REBUILD_USAGE);
    return EXIT.ok;
  }
  const known = serverProjections.map((projection) => projection.name);
  const chosen = values.all ? known : positionals;
  const unknown = chosen.filter((name) => !known.includes(name));
  if (chosen.length === 0 || unknown.length > 0 || (values.all && positionals.length > 0)) {
    line(io.stderr, `${unknown.length > 0 ? `Unknown read model: ${unknown.join(', ')}. ` : ''}Name one or more of: ${names()}, or --all.\n\n${REBUILD_USAGE}`);
    return EXIT.usage;
  }
  const { store, db } = await io.open();
  const runner = await ProjectionRunner.create(store, db, serverProjections);
  const label = chosen.length === known.length ? 'all read models' : chosen.join(', ');
  const started = Date.now();
  let lastShown = 0;
  // One pass over the log for all of them: each event is read once, and every read model is swapped in together.
  const { applied } = await runner.replay(chosen, (p) => {
    const now = Date.now();
    if (now - lastShown < 250 && p.applied < p.total) return;
    lastShown = now;
    const percent = p.total > 0 ? `${Math.min(100, Math.floor((100 * p.applied) / p.total))} %` : '?';
    const text = `${label}: ${p.applied}/${p.total || '?'} events (${percent}), ${Math.round(p.eventsPerSecond)} events/s, ETA ${duration(p.etaSeconds)}`;
    if (io.stderr.isTTY) io.stderr.write(`\r${text.padEnd(100)}`);
    else line(io.stderr, text);
  });
  if (io.stderr.isTTY) io.stderr.write('\n');
  const seconds = (Date.now() - started) / 1000;
  line(io.stderr, `${label}: replayed ${applied} events in ${seconds.toFixed(1)} s and swapped in.`);
  line(io.stdout, JSON.stringify({ rebuilt: chosen, events: applied, seconds: Number(seconds.toFixed(3)) }));
  return EXIT.ok;
};

const COMMANDS: Readonly<Record<string, (argv: readonly string[], io: ProjectionsCliIo) => Promise<number>>> = { status, rebuild };

export const runProjectionsCli = async (argv: readonly string[], io: ProjectionsCliIo): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    line(io.stdout, USAGE);
    return EXIT.ok;
  }
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    line(io.stderr, `${name === undefined ? '' : `Unknown command "${name}".\n\n`}${USAGE}`);
    return EXIT.usage;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    // parseArgs's complaints (unknown option, missing value) are usage errors.
    if (error instanceof TypeError && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      line(io.stderr, `${error.message}\n\n${name === 'rebuild' ? REBUILD_USAGE : STATUS_USAGE}`);
      return EXIT.usage;
    }
    throw error;
  }
};

export const main = async (argv: readonly string[] = process.argv.slice(2)): Promise<number> => {
  let opened: { store: EventStore; db: SqlDatabase } | null = null;
  try {
    return await runProjectionsCli(argv, {
      stdout: process.stdout,
      stderr: process.stderr,
      open: async () => {
        if (opened) return opened;
        const config = loadConfig(process.env);
        // Loaded when used: `--help` and usage errors answer without loading the database drivers.
        const { openConfiguredDatabase } = await import('./database');
        const db = await openConfiguredDatabase(config);
        try {
          const store = config.eventStoreConnectionString
            ? await (await import('../eventstore/kurrentEventStore')).KurrentEventStore.connect(config.eventStoreConnectionString)
            : await SqlEventStore.create(db);
          opened = { store, db };
        } catch (error) {
          await db.close();
          throw error;
        }
        return opened;
      },
    });
  } finally {
    const held = opened as { store: EventStore; db: SqlDatabase } | null;
    if (held) {
      await held.store.close();
      await held.db.close();
    }
  }
};

if (require.main === module) runTool(() => main());
