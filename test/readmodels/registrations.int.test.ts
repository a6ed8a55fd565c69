import { Writable } from 'node:stream';
import { TEST_EMAIL_STREAMS } from '../support/identity';
import { InitiativeCommands } from '../../src/application/initiativeCommands';
import { LifecycleCommands } from '../../src/application/lifecycleCommands';
import { CommandPipeline, type CommandContext } from '../../src/commands/pipeline';
import type { Actor } from '../../src/eventstore/eventStore';
import { SqlEventStore } from '../../src/eventstore/sqlEventStore';
import { writeParticipationDatesCsv, writeRegistrationsCsv } from '../../src/export/registrationsCsv';
import { createLogger } from '../../src/log';
import { listOutbox, notificationsProjection } from '../../src/notifications';
import { ProjectionRunner } from '../../src/projectionEngine/runner';
import { RegistrationReminderScheduler } from '../../src/scheduler/registrationReminders';
import { lifecycleProjections } from '../../projections';
import { registrationsProjection } from '../../projections/registrations/registrations.projection';
import { SqlInitiativeReadModel } from '../../projections/registrations/registrations.queries';
import { announcePostgresSkip, sqlBackends, type TestDatabase } from '../support/databases';

announcePostgresSkip('registrations read model');

const COORDINATOR: Actor = { id: 'coco', role: 'coordinator' };
const VOLUNTEER: Actor = { id: 'volunteer', role: 'mentor' };
const MANAGER: Actor = { id: 'marc@acme.example', role: 'manager' };

const csv = async (write: (output: Writable) => Promise<void>): Promise<string[][]> => {
  const chunks: Buffer[] = [];
  await write(new Writable({ write: (chunk: Buffer, _encoding, callback) => (chunks.push(chunk), callback()) }));
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split('\r\n')
    .filter((line) => line !== '')
    .map((line) => line.split(','));
};

describe.each(sqlBackends())('registrations read model on $name', ({ open }) => {
  let database: TestDatabase;
  let store: SqlEventStore;
  let runner: ProjectionRunner;
  let initiatives: InitiativeCommands;
  let lifecycle: LifecycleCommands;
  let readModel: SqlInitiativeReadModel;
  let n = 0;
  /** One minute per command, so that registrations are listed in the order they were made. */
  const as = (actor: Actor): CommandContext => ({
    actor,
    now: new Date(Date.parse('2026-10-05T09:00:00.000Z') + ++n * 60_000).toISOString(),
    correlationId: `c-${n}`,
  });
  const ids: Record<string, string> = {};
  let withValidation = '';
  let withoutValidation = '';

  beforeAll(async () => {
    database = await open();
    store = await SqlEventStore.create(database.db);
    runner = await ProjectionRunner.create(store, database.db, [...lifecycleProjections, registrationsProjection, notificationsProjection]);
    const pipeline = new CommandPipeline(store);
    let next = 0;
    const newId = () => `id-${++next}`;
    initiatives = new InitiativeCommands(pipeline, store, newId);
    lifecycle = new LifecycleCommands(pipeline, store, newId, TEST_EMAIL_STREAMS);
    readModel = new SqlInitiativeReadModel(database.db);

    const { programId } = await lifecycle.createProgram(as(COORDINATOR), { name: 'Staff', timeZone: 'Europe/Paris' });
    const person = async (key: string, name: string, manager: { name: string; email: string } | null) => {
      const email = `${key}@acme.example`;
      const { userId } = await lifecycle.registerUser(as(COORDINATOR), { email, name, programId, role: 'MENTOR', company: 'Acme', manager });
      return userId;
    };
    const marc = { name: 'Marc Manager', email: 'Marc@acme.example' };
    withValidation = (await initiatives.createInitiative(as(COORDINATOR), { name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', managerValidationRequired: true }))
      .initiativeId;
    withoutValidation = (
      await initiatives.createInitiative(as(COORDINATOR), { name: 'Code club', company: 'Acme', timeZone: 'America/New_York', managerValidationRequired: false })
    ).initiativeId;

    const register = async (key: string, name: string, initiativeId: string, manager: typeof marc | null = marc) => {
      ids[key] = (await initiatives.registerVolunteer(as(VOLUNTEER), initiativeId, await person(key, name, manager))).registrationId;
      return ids[key]!;
    };
    // Ada stays in Application, with a task; Sam searches; Rita's dates were sent back; Will waits for his manager;
    // Vera goes all the way with manager validation; Noah is in progress without it, with two periods.
    const ada = await register('ada', 'Ada Applicant', withValidation);
    const { taskId } = await initiatives.assignTask(as(COORDINATOR), ada, 'Send your CV');
    await initiatives.completeTask(as(VOLUNTEER), ada, taskId);
    const sam = await register('sam', '=Sam Searcher', withValidation);
    await initiatives.validateRegistration(as(COORDINATOR), sam);
    const rita = await register('rita', 'Rita Rejected', withValidation);
    await initiatives.validateRegistration(as(COORDINATOR), rita);
    await initiatives.setEngagementDates(as(VOLUNTEER), rita, [{ start: '2026-10-12', end: null }]);
    await initiatives.rejectEngagementDates(as(MANAGER), rita, 'marc@ACME.example', 'Not during the audit.');
    const will = await register('will', 'Will Waiting', withValidation);
    await initiatives.validateRegistration(as(COORDINATOR), will);
    await initiatives.setEngagementDates(as(VOLUNTEER), will, [{ start: '2026-10-19', end: '2026-12-18' }]);
    const vera = await register('vera', 'Vera Volunteer', withValidation);
    await initiatives.validateRegistration(as(COORDINATOR), vera);
    await initiatives.setEngagementDates(as(VOLUNTEER), vera, [{ start: '2026-10-05', end: '2026-10-30' }]);
    await initiatives.approveEngagementDates(as(MANAGER), vera, MANAGER.id);
    await initiatives.completeMission(as(VOLUNTEER), vera);
    await initiatives.confirmParticipation(as(COORDINATOR), vera, 'PARTNER_ORGANIZATION');
    const noah = await register('noah', 'Noah Nomanager', withoutValidation, null);
    await initiatives.validateRegistration(as(COORDINATOR), noah);
    await initiatives.setEngagementDates(as(VOLUNTEER), noah, [{ start: '2026-10-05', end: '2026-11-27' }]);
    await initiatives.setEngagementDates(as(VOLUNTEER), noah, [
      { start: '2026-10-05', end: '2026-11-27' },
      { start: '2027-01-11', end: null },
    ]);
    await runner.catchUp();
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await database?.close();
  });

  it('lists every registration with its status, dates, tasks and the manager’s message', async () => {
    const all = await readModel.registrations({});
    expect(Object.fromEntries(all.map((r) => [r.volunteerName, r.status]))).toEqual({
      'Ada Applicant': 'APPLICATION',
      '=Sam Searcher': 'SEARCHING_MENTEE',
      'Rita Rejected': 'SEARCHING_MENTEE',
      'Will Waiting': 'AWAITING_MANAGER_VALIDATION',
      'Vera Volunteer': 'CONFIRMED',
      'Noah Nomanager': 'IN_PROGRESS',
    });
    const ada = await readModel.registration(ids.ada!);
    expect(ada?.tasks).toEqual([{ taskId: expect.any(String), title: 'Send your CV', assignedAt: expect.any(String), completedAt: expect.any(String) }]);
    const rita = await readModel.registration(ids.rita!);
    expect([rita?.rejectionMessage, rita?.engagementPeriods]).toEqual(['Not during the audit.', [{ start: '2026-10-12', end: null }]]);
    expect((await readModel.registration(ids.vera!))?.confirmedBy).toBe('PARTNER_ORGANIZATION');
    expect((await readModel.registrations({ initiativeId: withoutValidation })).map((r) => r.engagementPeriods)).toEqual([
      [
        { start: '2026-10-05', end: '2026-11-27' },
        { start: '2027-01-11', end: null },
      ],
    ]);
    expect((await readModel.registrations({ statuses: ['SEARCHING_MENTEE'] })).map((r) => r.volunteerName)).toEqual(['=Sam Searcher', 'Rita Rejected']);
    expect((await readModel.registrations({ managerEmail: 'MARC@acme.example' })).length).toBe(5);
  });

  it('the two exports differ exactly as the seed says', async () => {
    const registrations = await csv((output) => writeRegistrationsCsv(readModel.registrationsForExport(null), output));
    const dates = await csv((output) => writeParticipationDatesCsv(readModel.participationDatesForExport(null), output));
    // Every registration in the registrations follow-up...
    expect(registrations.slice(1).map((row) => [row[2], row[6]])).toEqual([
      ['Ada Applicant', 'Application / Exchange'],
      ["'=Sam Searcher", 'Search for a mentee'],
      ['Rita Rejected', 'Search for a mentee'],
      ['Will Waiting', 'Waiting for manager validation'],
      ['Vera Volunteer', 'Confirmed'],
      ['Noah Nomanager', 'In progress'],
    ]);
    expect(registrations[5]).toEqual([
      'Read with me', 'Acme', 'Vera Volunteer', 'vera@acme.example', 'Marc Manager', 'Marc@acme.example', 'Confirmed',
      '2026-10-05', '2026-10-05', '2026-10-05', '2026-10-30', 'Partner organization', '2026-10-05',
    ]);
    // ...Rita's rejected dates show nowhere, Noah's open-ended last period leaves the last date blank.
    expect(registrations[3]!.slice(9, 11)).toEqual(['', '']);
    expect(registrations[6]!.slice(9, 11)).toEqual(['2026-10-05', '']);
    // ...but only those past the search, one row per period, in the participation dates follow-up.
    expect(dates[0]).toEqual(['Initiative', 'Company', 'Volunteer', 'Volunteer e-mail', 'Manager', 'Manager e-mail', 'Status', 'Start date', 'End date']);
    expect(dates.slice(1).map((row) => [row[2], row[6], row[7], row[8]])).toEqual([
      ['Will Waiting', 'Waiting for manager validation', '2026-10-19', '2026-12-18'],
      ['Vera Volunteer', 'Confirmed', '2026-10-05', '2026-10-30'],
      ['Noah Nomanager', 'In progress', '2026-10-05', '2026-11-27'],
      ['Noah Nomanager', 'In progress', '2027-01-11', ''],
    ]);
    const onlyOne = await csv((output) => writeParticipationDatesCsv(readModel.participationDatesForExport(withoutValidation), output));
    expect(onlyOne.length).toBe(3);
  });

  it('reminders are due once per period in each initiative’s time zone, and the scheduler sends each once', async () => {
    let clock = new Date('2026-10-31T23:30:00.000Z'); // November in Paris, still October in New York
    const scheduler = new RegistrationReminderScheduler({
      commands: initiatives,
      queries: readModel,
      clock: () => clock,
      logger: createLogger({ level: 'silent' }),
    });
    expect(await readModel.dueReminders(clock.toISOString())).toEqual([
      { registrationId: ids.sam, kind: 'MONTHLY_SEARCH', period: '2026-11' },
      { registrationId: ids.rita, kind: 'MONTHLY_SEARCH', period: '2026-11' },
      { registrationId: ids.noah, kind: 'QUARTERLY_PROGRESS', period: '2026-Q4' },
    ]);
    expect(await scheduler.tick()).toEqual({ sent: 3, skipped: 0 });
    await runner.catchUp();
    expect(await readModel.dueReminders(clock.toISOString())).toEqual([]);
    expect(await scheduler.tick()).toEqual({ sent: 0, skipped: 0 });

    // A month later: searching volunteers again, not the quarterly one (same quarter).
    clock = new Date('2026-12-01T10:00:00.000Z');
    expect(await scheduler.tick()).toEqual({ sent: 2, skipped: 0 });
    await runner.catchUp();
    // A new quarter in New York.
    clock = new Date('2027-01-01T05:00:00.000Z');
    expect((await readModel.dueReminders(clock.toISOString())).map((d) => [d.kind, d.period])).toEqual([
      ['MONTHLY_SEARCH', '2027-01'],
      ['MONTHLY_SEARCH', '2027-01'],
      ['QUARTERLY_PROGRESS', '2027-Q1'],
    ]);

    const outbox = await listOutbox(database.db, { limit: 500 });
    const reminders = outbox.filter((entry) => entry.kind.startsWith('REGISTRATION_'));
    expect(reminders.map((entry) => entry.kind).sort()).toEqual([
      'REGISTRATION_PROGRESS_REMINDER',
      'REGISTRATION_SEARCH_REMINDER',
      'REGISTRATION_SEARCH_REMINDER',
      'REGISTRATION_SEARCH_REMINDER',
      'REGISTRATION_SEARCH_REMINDER',
    ]);
    const quarterly = reminders.find((entry) => entry.kind === 'REGISTRATION_PROGRESS_REMINDER')!;
    expect(quarterly.toAddress).toBe('noah@acme.example');
    expect(quarterly.subject).toBe('How is your mentoring in Code club going?');
    expect(quarterly.body).toContain('- October 5, 2026 to November 27, 2026\n- from January 11, 2027 (ongoing)');
    expect(reminders.find((entry) => entry.kind === 'REGISTRATION_SEARCH_REMINDER')!.subject).toBe('Have you found a mentee for Read with me?');
  });

  it('replaying the log changes nothing', async () => {
    const before = await readModel.registrations({});
    const outboxBefore = (await listOutbox(database.db, { limit: 500 })).length;
    await runner.rebuild('registrations');
    await runner.rebuild('notifications');
    await runner.catchUp();
    expect(await readModel.registrations({})).toEqual(before);
    expect((await listOutbox(database.db, { limit: 500 })).length).toBe(outboxBefore);
  });
});
