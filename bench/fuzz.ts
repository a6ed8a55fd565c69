import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { formatPosition } from '../src/eventstore/eventStore';
import { mintToken } from '../src/graphql/auth';
import { createLogger } from '../src/log';
import type { Benchmark } from './benchmark';
import { fuzzTargets, runFuzz } from './schemaFuzzer';

/**
 * The long schema-aware fuzz run (the test suite runs a short one): BENCH_FUZZ_CALLS calls
 * (default 6000) from BENCH_FUZZ_SEED over real HTTP with an admin token, on the embedded store or on
 * DATABASE_URL. Target: no internal error, no event from a refused call.
 */
export const fuzz: Benchmark = {
  name: 'fuzz',
  title: 'Schema-aware fuzzing of every query and mutation',
  target: '0 internal errors and 0 events appended by refused calls',
  async run(log) {
    const calls = Number(process.env.BENCH_FUZZ_CALLS ?? 6000);
    const seed = Number(process.env.BENCH_FUZZ_SEED ?? 1);
    const dataDir = mkdtempSync(join(tmpdir(), 'fuzz-'));
    // A key made for this run only; nothing is kept.
    const secret = randomBytes(32).toString('base64url');
    const config = loadConfig({
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      DATA_DIR: dataDir,
      PORT: '0',
      HOST: '127.0.0.1',
      BACKGROUND_JOBS: 'false',
      AUTH_TOKEN_SECRET: secret,
      // Thousands of calls from one token in a few minutes are the point here.
      RATE_LIMIT_READS_PER_MINUTE: '0',
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      RATE_LIMIT_ADDRESS_PER_MINUTE: '0',
      MAILBOX_FILE: join(dataDir, 'mailbox.mbox'),
    });
    const app = await createApp(config, { logger: createLogger({ level: 'silent' }) });
    const http = await app.start();
    try {
      const admin = await mintToken({ secret: config.tokenKeys!, subject: 'fuzz.admin', role: 'admin', expiresIn: '12h' });
      const send = async (query: string, variables: Record<string, unknown>) => {
        const response = await fetch(new URL('graphql', http.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
          body: JSON.stringify({ query, variables }),
        });
        return { status: response.status, ...((await response.json()) as object) };
      };
      const program = (await send(`mutation { createProgram(input: { name: "Fuzz ${seed}", timeZone: "UTC" }) { program { id } } }`, {})) as {
        data?: { createProgram: { program: { id: string } } };
      };
      const ids = program.data ? [program.data.createProgram.program.id] : [];
      const began = performance.now();
      const run = await runFuzz({
        schema: app.schema,
        seed,
        calls,
        ids,
        send,
        head: async () => formatPosition(await app.store.readCommittedHead()),
      });
      const seconds = (performance.now() - began) / 1000;
      const internal = run.failures.filter((failure) => failure.problem.startsWith('internal error')).length;
      const written = run.failures.filter((failure) => /appended|head moved/.test(failure.problem)).length;
      for (const failure of run.failures.slice(0, 20)) log(`  ${failure.field}: ${failure.problem} (${failure.mutation ?? 'valid input'})`);
      return {
        table: {
          columns: ['calls', 'seed', 'fields', 'refused', 'internal errors', 'writes by refused calls', 'other failures', 'calls/s'],
          rows: [[
            String(calls),
            String(seed),
            `${run.fieldsHit.size}/${fuzzTargets(app.schema).length}`,
            String(run.refused),
            String(internal),
            String(written),
            String(run.failures.length - internal - written),
            (calls / seconds).toFixed(0),
          ]],
        },
        environment: [`store: ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded (PGlite)'}`],
        result: `${internal} internal errors, ${written} writes by refused calls, ${run.failures.length} failures in ${calls} calls`,
        targetMet: run.failures.length === 0,
        details:
          'Calls come from `bench/schemaFuzzer.ts`: one operation per query and mutation, variables mostly valid, half the calls with one ' +
          'value made odd (NUL, lone surrogate, 300 kB string, null for non-null, unknown enum, list of wrong items, wrong type). ' +
          'The test suite runs the same fuzzer for 480 calls (`test/security/fuzz.e2e.test.ts`).',
      };
    } finally {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};
