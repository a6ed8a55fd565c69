/** What every benchmark in `bench/` provides to the runner (`bench/index.ts`). */

export interface BenchmarkTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface BenchmarkReport {
  /** Printed to the console and written to BENCHMARKS.md. */
  readonly table: BenchmarkTable;
  /** Environment lines (database settings etc.) beyond the machine the runner records itself. */
  readonly environment: readonly string[];
  /** The headline result, one line, e.g. `0.83× the plain INSERT rate`. */
  readonly result: string;
  /** `null` when the benchmark has no target. */
  readonly targetMet: boolean | null;
  /** Further markdown for the section: method, notes, history of what was tried. */
  readonly details: string;
}

export interface Benchmark {
  /** Used by `--only` and as the BENCHMARKS.md section key. */
  readonly name: string;
  readonly title: string;
  /** The target as the issue states it, or `null`. */
  readonly target: string | null;
  run(log: (line: string) => void): Promise<BenchmarkReport>;
}
