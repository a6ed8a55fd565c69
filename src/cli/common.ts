import type { Writable } from 'node:stream';
import { ConfigError } from '../config';
import { DomainError } from '../domain/shared/decider';
import { MigrationRefusedError } from '../sql/migrations';
import { StoreLockedError } from '../sql/storeLock';

/** Exit codes every tool uses: 0 done, 1 failed (or found a problem), 2 bad arguments. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const line = (stream: Writable, text: string): void => {
  stream.write(`${text}\n`);
};

/**
 * `npm run x` without `--silent` prints npm's banner ("> mentoring-lifecycle@0.1.0 x") into stdout
 * before the tool starts; nothing here can take it back, so a tool that writes data to a pipe or
 * file says so on stderr.
 */
export const warnAboutNpmBanner = (stdout: { readonly isTTY?: boolean }, stderr: Writable, tool: string, env: NodeJS.ProcessEnv = process.env): void => {
  if (env.npm_command === 'run' && env.npm_config_loglevel !== 'silent' && !stdout.isTTY) {
    line(stderr, `Note: npm printed its banner into stdout before this output. For clean data run \`node bin/mentoring-${tool}.js ...\` (or \`npm run -s ${tool} -- ...\`).`);
  }
};

/**
 * Runs a tool's main function as a process: its exit code, and the errors people can act on as one
 * clear message on stderr (bad settings one line each, a held embedded store, refusals), no stack.
 */
export const runTool = (main: () => Promise<number>): void => {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof ConfigError) {
        for (const problem of error.problems) process.stderr.write(`Configuration error: ${problem}\n`);
        process.exitCode = EXIT.failed;
      } else if (error instanceof StoreLockedError || error instanceof MigrationRefusedError) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = EXIT.failed;
      } else if (error instanceof DomainError) {
        process.stderr.write(`${error.message}\n`);
        process.exitCode = EXIT.usage;
      } else {
        process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exitCode = EXIT.failed;
      }
    },
  );
};
