import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { notificationsProjection } from '../../projections/notifications/notifications.projection';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { createLogger } from '../../src/log';
import { listOutbox } from '../../src/notifications/outboxQueries';
import { smtpTransport } from '../../src/notifications/transport';
import { NotificationWorker } from '../../src/notifications/worker';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { openPglite } from '../../src/sql/pglite';
import { openPostgres } from '../../src/sql/postgres';
import type { SqlDatabase } from '../../src/sql/sqlDatabase';
import { announcePostgresSkip, postgresUrl } from '../support/databases';
import { activate, createProgram, invite, person, register, startSmtpServer } from './support';

announcePostgresSkip('notification worker killed mid-send');

/** Where the outbox lives, how a child process reaches it, and how the parent opens it again. */
interface Backend {
  readonly name: string;
  readonly setUp: () => Promise<{
    childArgs: string[];
    /** PGlite admits one process at a time: the parent lets go while the child runs. */
    openForParent: () => Promise<SqlDatabase>;
    closeForChild: (db: SqlDatabase) => Promise<void>;
    tearDown: () => Promise<void>;
  }>;
}

const backends: Backend[] = [
  {
    name: 'embedded (PGlite)',
    setUp: async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'pglite-notify-kill-'));
      let open: SqlDatabase | null = null;
      return {
        childArgs: ['pglite', dataDir],
        openForParent: async () => (open = await openPglite(dataDir)),
        closeForChild: async (db) => {
          await db.close();
          open = null;
        },
        tearDown: async () => {
          await open?.close();
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
];
const url = postgresUrl();
if (url) {
  backends.push({
    name: 'PostgreSQL',
    setUp: async () => {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      const admin = openPostgres(url, { max: 1 });
      await admin.query(`CREATE SCHEMA ${schema}`);
      const opened: SqlDatabase[] = [];
      return {
        childArgs: ['postgres', url, schema],
        openForParent: async () => {
          const db = openPostgres(url, { max: 5, options: `-c search_path=${schema}` });
          opened.push(db);
          return db;
        },
        closeForChild: async () => undefined,
        tearDown: async () => {
          for (const db of opened) await db.close();
          await admin.query(`DROP SCHEMA ${schema} CASCADE`);
          await admin.close();
        },
      };
    },
  });
}

const KILL_ON_MESSAGE = 5;

test.each(backends)(
  'a worker killed with SIGKILL mid-send and restarted delivers every notification exactly once ($name)',
  async ({ setUp }) => {
    const backend = await setUp();
    let child: ChildProcess | undefined;
    const smtp = await startSmtpServer((_message, seen) => {
      // The whole message is here and the sender waits for the reply: kill it now, never answer.
      if (seen.length === KILL_ON_MESSAGE) {
        child!.kill('SIGKILL');
        return { hang: true };
      }
      return { accept: true };
    });
    try {
      let db = await backend.openForParent();
      const store = await SqlEventStore.create(db);
      const runner = await ProjectionRunner.create(store, db, [notificationsProjection], {});
      await createProgram(store);
      for (let i = 0; i < 5; i++) {
        const mentor = person(`Mentor${i} Example`);
        const mentee = person(`Mentee${i} Example`);
        await register(store, mentor, 'MENTOR');
        await register(store, mentee, 'MENTEE');
        await invite(store, mentee);
        await activate(store, `m-${i}`, mentor, mentee);
      }
      await runner.catchUp();
      const ids = (await listOutbox(db, { limit: 500 })).map((row) => row.id);
      expect(ids).toHaveLength(15);
      await backend.closeForChild(db);

      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve, reject) => {
        let output = '';
        child = spawn(
          process.execPath,
          ['-r', join(__dirname, '../support/tsRequire.js'), join(__dirname, 'sendUntilKilled.ts'), smtp.url, ...backend.childArgs],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code, signal) => resolve({ code, signal, output }));
      });
      expect(exit).toEqual({ code: null, signal: 'SIGKILL', output: '' });

      // Batches of 3: the first batch went through, the second died on its second message.
      db = await backend.openForParent();
      const states = (await listOutbox(db, { limit: 500 })).map((row) => row.state);
      expect(states.filter((s) => s === 'SENT')).toHaveLength(KILL_ON_MESSAGE - 1);
      expect(states.filter((s) => s === 'SENDING')).toHaveLength(2);
      expect(smtp.accepted).toHaveLength(KILL_ON_MESSAGE - 1);

      // Restarted once the dead worker's leases have run out.
      const restarted = new NotificationWorker(
        {
          db,
          transport: smtpTransport(smtp.url),
          clock: () => new Date(Date.now() + 2 * 60_000),
          logger: createLogger({ level: 'silent' }),
        },
        { from: 'noreply@riverside.example', batchSize: 3, leaseMs: 60_000 },
      );
      const round = await restarted.drain();
      expect(round).toMatchObject({ sent: 15 - (KILL_ON_MESSAGE - 1), failed: 0, retrying: 0 });

      const rows = await listOutbox(db, { limit: 500 });
      expect(rows.every((row) => row.state === 'SENT')).toBe(true);
      const counts = smtp.acceptedCounts();
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      expect([...counts.values()].every((n) => n === 1)).toBe(true);
      // The message in hand when the worker died went again, under the same Message-ID.
      const cutOff = smtp.seen[KILL_ON_MESSAGE - 1]!;
      const resent = smtp.accepted.filter((m) => m.notificationId === cutOff.notificationId);
      expect(resent.map((m) => m.messageId)).toEqual([cutOff.messageId]);
      expect(rows.find((row) => row.id === cutOff.notificationId)!.attempts).toBe(2);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await smtp.close();
      await backend.tearDown();
    }
  },
  180_000,
);
