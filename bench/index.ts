// First: the mode the server is deployed in, before anything loads graphql.
import './productionMode';
import 'reflect-metadata';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem, type as osType } from 'node:os';
import { dirname, join } from 'node:path';
import { appendThroughput } from './appendThroughput';
import { bulkRegistration } from './bulkRegistration';
import { autoMatching } from './autoMatching';
import { serverStartup } from './serverStartup';
import { cliStartup } from './cliStartup';
import { embeddedRest } from './embeddedRest';
import { eventLogScale } from './eventLogScale';
import { fuzz } from './fuzz';
import { readAudit } from './readAudit';
import { readScale } from './readScale';
import { graphqlThroughput } from './graphqlThroughput';
import type { Benchmark, BenchmarkReport, BenchmarkTable } from './benchmark';

/**
 * `npm run bench [-- --only <name>[,<name>]] [--no-write]`: runs the benchmarks below, prints a
 * table for each, and rewrites each one's section of BENCHMARKS.md (other sections are kept).
 */
const BENCHMARKS: readonly Benchmark[] = [appendThroughput, autoMatching, eventLogScale, readAudit, readScale, fuzz, bulkRegistration, cliStartup, embeddedRest, serverStartup, graphqlThroughput];

const HEADER = `# Benchmarks

Produced by \`npm run bench\` (\`bench/index.ts\`). Each section below is rewritten by its benchmark on
every run (\`npm run bench -- --only <name>\` runs one); the rest of this file is kept as it is. Ratios
are measured against a peer in the same run, interleaved, because the machines these run on are
shared and noisy: absolute numbers move between runs, ratios much less.
`;

const parseArgs = (argv: readonly string[]): { only: Set<string> | null; write: boolean } => {
  let only: Set<string> | null = null;
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!value) throw new Error('--only needs a benchmark name');
      only ??= new Set();
      for (const name of value.split(',')) only.add(name.trim());
    } else if (arg === '--no-write') {
      write = false;
    } else {
      throw new Error(`unknown argument ${arg}; usage: npm run bench [-- --only <name>[,<name>]] [--no-write]`);
    }
  }
  return { only, write };
};

/** The command line that reproduces this run, with the environment that changes it. */
const commandLine = (argv: readonly string[]): string => {
  const env = Object.keys(process.env)
    .filter((key) => key.startsWith('BENCH_') || key === 'DATABASE_URL')
    .sort()
    .map((key) => `${key}=${redact(process.env[key]!)}`);
  return [...env, 'npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' ');
};

const redact = (value: string): string => value.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

const machine = (): string => {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${availableParallelism()} CPUs (nproc; ${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osType()} ${release()}, Node ${process.version}, NODE_ENV=${process.env.NODE_ENV ?? ''}`;
};

const consoleTable = (table: BenchmarkTable): string => {
  const all = [table.columns, ...table.rows];
  const widths = table.columns.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]) => row.map((cell, c) => cell.padStart(widths[c]!)).join('  ');
  return [line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
};

const markdownTable = (table: BenchmarkTable): string =>
  [
    `| ${table.columns.join(' | ')} |`,
    `| ${table.columns.map(() => '---:').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

const begin = (name: string) => `<!-- bench:${name}:begin -->`;
const end = (name: string) => `<!-- bench:${name}:end -->`;

const section = (benchmark: Benchmark, report: BenchmarkReport, command: string, date: string): string =>
  [
    begin(benchmark.name),
    `## ${benchmark.name}: ${benchmark.title}`,
    '',
    `- Command: \`${command}\``,
    `- Date: ${date}`,
    `- Machine: ${machine()}`,
    ...report.environment.map((line) => `- ${line}`),
    `- Target: ${benchmark.target ?? 'none'}`,
    `- Result: ${report.result}. Target ${report.targetMet === null ? 'n/a' : report.targetMet ? '**met**' : '**NOT met**'}.`,
    '',
    markdownTable(report.table),
    '',
    report.details.trim(),
    end(benchmark.name),
  ].join('\n');

/** The project root: the nearest package.json above the compiled script (or else the working directory). */
const findRoot = (): string => {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'package.json'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`bench: no package.json above ${__dirname} or ${process.cwd()}`);
};

/** Replaces the benchmark's section (between its markers) or appends it; keeps everything else. */
export const upsertSection = (document: string, name: string, text: string): string => {
  const from = document.indexOf(begin(name));
  const to = document.indexOf(end(name));
  if (from >= 0 && to > from) return document.slice(0, from) + text + document.slice(to + end(name).length);
  return `${document.trimEnd()}\n\n${text}\n`;
};

const main = async (): Promise<void> => {
  const argv = process.argv.slice(2);
  const { only, write } = parseArgs(argv);
  if (only) {
    const unknown = [...only].filter((name) => !BENCHMARKS.some((b) => b.name === name));
    if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  }
  const selected = BENCHMARKS.filter((b) => !only || only.has(b.name));
  const command = commandLine(argv);
  const file = write ? join(findRoot(), 'BENCHMARKS.md') : '';
  console.log(`${command}\n${machine()}\n`);
  for (const benchmark of selected) {
    const report = await benchmark.run((line) => console.log(line));
    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    console.log(`\n${benchmark.name}: ${benchmark.title}`);
    for (const line of report.environment) console.log(`  ${line}`);
    console.log(`\n${consoleTable(report.table)}\n`);
    console.log(`result: ${report.result}`);
    if (benchmark.target) console.log(`target: ${benchmark.target}: ${report.targetMet ? 'met' : 'NOT met'}\n`);
    if (write) {
      const current = existsSync(file) ? readFileSync(file, 'utf8') : HEADER;
      writeFileSync(file, upsertSection(current, benchmark.name, section(benchmark, report, command, date)));
      console.log(`wrote the ${benchmark.name} section of ${file}`);
    }
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
