import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { createApp } from '../../src/app';
import { loadConfig, withTokenKeys } from '../../src/config';
import pino from 'pino';
import { createLogger } from '../../src/log';

/*
 * One service instance as the three-instance test runs it: the real composition root and HTTP
 * server, every setting from the environment, background jobs on. The only test hook is the clock:
 * it runs with real time, shifted by an offset that the parent moves by writing `advance <ms>` on
 * stdin (months of match duration cannot pass in a test otherwise). Prints `ready <url>` on stdout
 * once it serves, and `advanced <offset>` after each move; logs go to stderr.
 */

const main = async () => {
  let offsetMs = 0;
  const config = withTokenKeys(loadConfig(process.env));
  const logger = createLogger({ level: (process.env.INSTANCE_LOG_LEVEL ?? 'error') as 'error', destination: pino.destination(2) });
  const app = await createApp(config, { logger, clock: () => new Date(Date.now() + offsetMs) });
  const http = await app.start();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const advance = /^advance (\d+)$/.exec(line.trim());
    if (!advance) return;
    offsetMs += Number(advance[1]);
    process.stdout.write(`advanced ${offsetMs}\n`);
  });
  process.stdout.write(`ready ${http.url}\n`);
  process.on('SIGTERM', () => {
    app.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
};

main().catch((error: unknown) => {
  process.stderr.write(`instance failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
