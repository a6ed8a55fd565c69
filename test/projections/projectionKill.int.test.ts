import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPglite } from '../../src/sql/pglite';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { appendToStream } from '../../src/eventstore/eventStore';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { newEvent } from '../eventstore/eventStore.contract';
import { countingProjection, readCounts } from './countingProjection';

const runUntilKilled = (dataDir: string, killAfterApplied: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', join(__dirname, '../support/tsRequire.js'), join(__dirname, 'projectUntilKilled.ts'), dataDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let applied = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      applied += (chunk.toString().match(/applied/g) ?? []).length;
      if (applied >= killAfterApplied && !child.killed) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve(applied) : reject(new Error('child finished before it was killed'))));
  });

test('a projection killed with SIGKILL mid-batch and restarted ends in exactly the state of a rebuild', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pglite-projection-kill-'));
  try {
    let db = await openPglite(dataDir);
    let store = await SqlEventStore.create(db);
    for (let i = 0; i < 200; i++) await appendToStream(store, `s-${i % 9}`, 'any', [newEvent('Tick', { n: i })]);
    await db.close();

    // Batches are 40 events; 100 applied means two batches committed and the third cut in half.
    const appliedBeforeKill = await runUntilKilled(dataDir, 100);
    expect(appliedBeforeKill).toBeGreaterThanOrEqual(100);
    expect(appliedBeforeKill).toBeLessThan(200);

    db = await openPglite(dataDir);
    store = await SqlEventStore.create(db);
    const runner = await ProjectionRunner.create(store, db, [countingProjection()], { batchSize: 40 });
    await runner.catchUp();
    const restarted = await readCounts(db);
    await runner.rebuild('stream_counts');
    const rebuilt = await readCounts(db);
    await db.close();
    expect(restarted).toEqual(rebuilt);
    expect(rebuilt.reduce((sum, row) => sum + row.events, 0)).toBe(200);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 120_000);
