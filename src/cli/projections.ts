import 'reflect-metadata';
import { createApp } from '../app';
import { loadConfig } from '../config';
import { formatPosition } from '../eventstore/eventStore';
import { createLogger } from '../log';

const USAGE = `Usage: npm run projections -- status
       npm run projections -- rebuild <name> | --all

Rebuilds read models from zero by replaying the event log, against the store the environment
configures (DATABASE_URL, EVENTSTORE_CONNECTION_STRING, DATA_DIR). On PostgreSQL the server may keep
running; the embedded store allows one process at a time, so stop the server first.`;

const main = async (): Promise<number> => {
  const [command, target] = process.argv.slice(2);
  if (command !== 'status' && command !== 'rebuild') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const app = await createApp(loadConfig(process.env), { logger: createLogger({ level: 'warn' }) });
  try {
    const names = app.runner.projections.map((projection) => projection.name);
    if (command === 'status') {
      const head = await app.store.readHead();
      process.stdout.write(`event log head: ${formatPosition(head)}\n`);
      for (const { projection, position } of await app.runner.status()) {
        process.stdout.write(`${projection}: ${formatPosition(position)}\n`);
      }
      return 0;
    }
    const chosen = target === '--all' ? names : names.filter((name) => name === target);
    if (chosen.length === 0) {
      process.stderr.write(`Name a projection (${names.join(', ')}) or --all.\n\n${USAGE}\n`);
      return 2;
    }
    // One pass over the log for all of them.
    const started = Date.now();
    await app.runner.rebuild(...chosen);
    process.stdout.write(`rebuilt ${chosen.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return 0;
  } finally {
    await app.stop();
  }
};

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
