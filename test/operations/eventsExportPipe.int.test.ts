import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import type { NewEvent } from '../../src/eventstore/eventStore';
import { openPglite } from '../../src/sql/pglite';
import { openPostgres } from '../../src/sql/postgres';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { builtTree } from '../support/builtTree';
import { announcePostgresSkip, postgresUrl } from '../support/databases';

/*
 * `mentoring-events export | head -3` as an operator types it, through a real shell pipe: the tool
 * is cut off by `head` long before the log ends (the log is several pipe buffers long), and must end
 * quietly with exit 0, leaving three whole NDJSON lines and nothing on stderr; on the embedded store
 * it also lets go of the store's lock.
 */

announcePostgresSkip('events export into a closed pipe');

let tree: string;
beforeAll(async () => {
  tree = await builtTree();
}, 960_000);

/** About 1.5 MB of NDJSON: far more than a pipe holds, so the tool is still writing when `head` exits. */
const EVENTS = 3000;

const fill = async (db: SqlDatabase): Promise<void> => {
  const store = await SqlEventStore.create(db);
  const padding = 'x'.repeat(400);
  for (let batch = 0; batch < EVENTS / 100; batch++) {
    const events: NewEvent[] = Array.from({ length: 100 }, (_, i) => {
      const id = randomUUID();
      return {
        id,
        type: 'Tick',
        schemaVersion: 1,
        data: { i: batch * 100 + i, padding },
        metadata: { occurredAt: new Date().toISOString(), actor: { id: 'test', role: 'system' }, correlationId: id, causationId: id },
      };
    });
    await store.appendToStreams([{ streamId: `pipe-${batch}`, expectedRevision: 'no_stream', events }]);
  }
};

interface Backend {
  readonly name: string;
  setUp(): Promise<Record<string, string>>;
  tearDown(): Promise<void>;
}

const embedded = (): Backend => {
  const dataDir = mkdtempSync(join(tmpdir(), 'export-pipe-'));
  return {
    name: 'the embedded store',
    async setUp() {
      const db = await openPglite(dataDir);
      try {
        await fill(db);
      } finally {
        await db.close();
      }
      return { DATA_DIR: dataDir };
    },
    async tearDown() {
      // The tool let go of the store's lock although it was cut off.
      expect(existsSync(join(dataDir, 'store.lock'))).toBe(false);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

const postgres = (url: string): Backend => {
  const schema = `pipe_${randomBytes(6).toString('hex')}`;
  const admin = openPostgres(url, { max: 1 });
  return {
    name: 'PostgreSQL',
    async setUp() {
      await admin.query(`CREATE SCHEMA ${schema}`);
      const db = openPostgres(url, { max: 2, options: `-c search_path=${schema}` });
      try {
        await fill(db);
      } finally {
        await db.close();
      }
      const scoped = new URL(url);
      scoped.searchParams.set('options', `-c search_path=${schema}`);
      return { DATABASE_URL: scoped.toString() };
    },
    async tearDown() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
};

const backends = (): Backend[] => {
  const url = postgresUrl();
  return [embedded(), ...(url ? [postgres(url)] : [])];
};

describe.each(backends())('mentoring-events export | head -3 on $name', (backend) => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = await backend.setUp();
  }, 300_000);
  afterAll(() => backend.tearDown());

  it('gives three whole NDJSON lines, exit 0 and nothing on stderr', () => {
    const result = spawnSync('bash', ['-c', `"${process.execPath}" bin/mentoring-events.js export | head -3; echo "tool exit \${PIPESTATUS[0]}" >&2`], {
      cwd: tree,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(result.stderr).toBe('tool exit 0\n');
    const lines = result.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(3);
    const events = lines.map((line) => JSON.parse(line) as { type: string; streamId: string; data: { i: number } });
    expect(events.map((event) => [event.type, event.streamId, event.data.i])).toEqual([
      ['Tick', 'pipe-0', 0],
      ['Tick', 'pipe-0', 1],
      ['Tick', 'pipe-0', 2],
    ]);
  });
});
