import { randomUUID } from 'node:crypto';
import { createInitiative } from '../../src/application/initiativeCommands';
import * as define from '../../src/application/lifecycleDefinitions';
import type { MatchStreamIds } from '../../src/application/lifecycleDefinitions';
import { CommandPipeline, type CommandDefinition, type StreamSpec } from '../../src/commands/pipeline';
import {
  DEFAULT_CLOSURE_REASONS,
  MATCH_STATUSES,
  NOTIFICATION_KINDS,
  USER_STATUSES,
  WITHDRAWAL_REASONS,
  personaIdFor,
  type ParticipantRole,
  type RematchIntent,
} from '../../src/domain';
import { DomainError } from '../../src/domain/shared/decider';
import { START, type Actor, type EventStore, type GlobalPosition } from '../../src/eventstore/eventStore';
import { keyedEmailStreams } from '../../src/identity/emailStreams';
import { seededRandom } from '../../bench/schemaFuzzer';

/**
 * Random command sequences decided by the real deciders: each step picks a command and its
 * arguments at random among the programs, users, personas and matches made so far, and runs it
 * through the `CommandPipeline` the API uses. Most picks are legal often enough to reach every
 * event type; a refused command (a `DomainError`) appends nothing and the sequence goes on, as a
 * client's refused mutation does. The clock moves on a little at every step and now and then by
 * weeks, so that requests expire and matches run their duration.
 *
 * Deterministic for a seed (the ids the pipeline makes are random, but no decision reads them); the
 * PRNG is the schema fuzzer's.
 */

const ADMIN: Actor = { id: 'admin-property', role: 'admin' };
const TIME_ZONES = ['Europe/Paris', 'America/New_York', 'UTC', 'Asia/Tokyo'];
const INTENTS: readonly RematchIntent[] = ['YES', 'MAYBE', 'NO'];
const CLOSURE_REASON = DEFAULT_CLOSURE_REASONS[0]!;

const MATCH_STATUS_AFTER: Readonly<Record<string, string>> = {
  MatchCreated: 'STAGED',
  MatchRequested: 'REQUESTED',
  MatchRequestApproved: 'REQUESTED',
  MatchRequestDeclined: 'DECLINED',
  MatchRequestExpired: 'EXPIRED',
  MatchRequestWithdrawn: 'WITHDRAWN',
  MatchDiscarded: 'DISCARDED',
  MatchActivated: 'ACTIVE',
  MatchReopened: 'ACTIVE',
  MatchCompleted: 'COMPLETED',
  MatchClosed: 'CLOSED',
};

type MatchMove = 'approve' | 'respond' | 'close' | 'inactivate' | 'reopen' | 'complete' | 'discard' | 'expire' | 'withdraw';
/** The moves a match in each status allows; others are tried now and then, and refused. */
const MOVES_FROM: Readonly<Record<string, readonly MatchMove[]>> = {
  STAGED: ['approve', 'discard'],
  REQUESTED: ['respond', 'respond', 'expire', 'withdraw'],
  ACTIVE: ['close', 'inactivate', 'complete'],
  COMPLETED: ['close'],
  CLOSED: ['reopen'],
};
const ALL_MOVES: readonly MatchMove[] = ['approve', 'respond', 'close', 'inactivate', 'reopen', 'complete', 'discard', 'expire', 'withdraw'];

interface GeneratedUser {
  readonly userId: string;
  readonly programId: string;
  readonly role: ParticipantRole;
  email: string;
  /** The status the last change appended left (what the picks of the matching steps look at). */
  status: string;
  /** Its personas' ids, oldest first. */
  readonly personas: string[];
  /** Ids of the status changes and reverts made so far (what a revert may name). */
  readonly changeIds: string[];
}

export interface GeneratedLog {
  /** Commands tried, and those the deciders refused. */
  readonly commands: number;
  readonly refused: number;
  /** Event types appended, with their counts. */
  readonly types: ReadonlyMap<string, number>;
  /** Where the last append ended: what live projection must reach before it is compared. */
  readonly lastPosition: GlobalPosition;
  /** Refusals by command and code ("CloseMatch ILLEGAL_TRANSITION"), with their counts: what to tune when a type is never reached. */
  readonly refusals: ReadonlyMap<string, number>;
}

export interface GenerateOptions {
  readonly seed: number;
  readonly steps: number;
  /** Called after each step that appended events (the test catches its runner up at random points). */
  readonly afterAppend?: () => Promise<void>;
}

export const generateLifecycle = async (store: EventStore, options: GenerateOptions): Promise<GeneratedLog> => {
  const random = seededRandom(options.seed);
  const below = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T | undefined => (items.length === 0 ? undefined : items[below(items.length)]);
  const chance = (p: number) => random() < p;

  const pipeline = new CommandPipeline(store);
  const emails = keyedEmailStreams(Buffer.alloc(32, options.seed & 0xff));
  const programs: string[] = [];
  /** Whether each program is user-led (participants request matches) or admin-led (admins make them). */
  const userLedPrograms = new Set<string>();
  const users: GeneratedUser[] = [];
  const matches: MatchStreamIds[] = [];
  /** Each match's status as its last event left it: the match steps mostly pick a move it allows. */
  const matchStatus = new Map<string, string>();
  let clock = Date.UTC(2026, 0, 5, 9) + below(1_000) * 86_400_000;
  let serial = 0;
  let commands = 0;
  let refused = 0;
  let lastPosition: GlobalPosition = START;
  const types = new Map<string, number>();
  const refusals = new Map<string, number>();
  const refuse = (name: string, error: unknown) => {
    if (!(error instanceof DomainError)) throw error;
    refused++;
    const key = `${name} ${error.code}`;
    refusals.set(key, (refusals.get(key) ?? 0) + 1);
  };
  const next = (prefix: string) => `${prefix}-${options.seed}-${++serial}`;
  const now = () => new Date(clock).toISOString();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const run = async <S extends Record<string, StreamSpec<any, any>>>(command: CommandDefinition<S>) => {
    commands++;
    try {
      const outcome = await pipeline.execute({ actor: ADMIN, now: now(), correlationId: randomUUID(), ...(chance(0.5) ? { reason: 'Property test' } : {}) }, command);
      for (const event of outcome.events) {
        types.set(event.type, (types.get(event.type) ?? 0) + 1);
        const { userId } = event.data as { userId?: string };
        const user = users.find((candidate) => candidate.userId === userId);
        if (user && (event.type === 'UserStatusChanged' || event.type === 'UserStatusChangeReverted')) user.status = (event.data as { to: string }).to;
        const status = MATCH_STATUS_AFTER[event.type];
        if (status) matchStatus.set((event.data as { matchId: string }).matchId, status);
        if (user && event.type === 'PersonaCreated') user.personas.push((event.data as { personaId: string }).personaId);
      }
      if (outcome.events.length > 0) {
        lastPosition = outcome.position;
        await options.afterAppend?.();
      }
      return outcome.events;
    } catch (error) {
      refuse(command.name, error);
      return [];
    }
  };
  /** A command built from the current picks may itself refuse to be built (a match of a user with themselves). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const attempt = async <S extends Record<string, StreamSpec<any, any>>>(build: () => CommandDefinition<S>) => {
    let command: CommandDefinition<S>;
    try {
      command = build();
    } catch (error) {
      commands++;
      refuse('(building the command)', error);
      return [];
    }
    return run(command);
  };

  /** Mostly the user's latest persona (the one that can take a match), else an older one, or one that does not exist. */
  const persona = (user: GeneratedUser) =>
    chance(0.75) ? user.personas[user.personas.length - 1]! : chance(0.9) ? pick(user.personas)! : personaIdFor(user.userId, user.personas.length + 1);
  /** Mostly the active users of a role (those who can be matched), now and then anyone of it. */
  const ofRole = (role: ParticipantRole, programId?: string) =>
    users.filter((u) => u.role === role && (programId === undefined || u.programId === programId) && (u.status === 'A' || chance(0.1)));

  const createProgram = async (userLed = chance(0.5)) => {
    const programId = next('prog');
    const events = await run(
      define.programCommand({
        type: 'CreateProgram',
        data: {
          programId,
          name: `Program ${programId}`,
          timeZone: pick(TIME_ZONES)!,
          settings: {
            matchingEnabled: programs.length < 2 || chance(0.8),
            matchingProcess: !userLed ? 'ADMIN_LED' : programs.length < 2 || chance(0.5) ? 'USER_LED_WITH_APPROVAL' : 'USER_LED',
            // Every party in the first user-led program, so that a request waits for a second and a third approval.
            requiredApprovals: !userLed ? [] : programs.length < 2 ? ['MENTEE', 'MENTOR', 'ADMIN'] : (pick([['MENTEE'], ['MENTOR'], ['MENTOR', 'ADMIN']] as const) ?? []),
            matchDurationMonths: 1 + below(3),
            requestExpiryBusinessDays: 1 + below(3),
            mentorCapacity: 1 + below(2),
          },
          partnerSites: [
            { id: 's1', name: 'Site one' },
            { id: 's2', name: 'Site two' },
          ],
          mentorSiteLists: [{ id: 'l1', name: 'List one' }],
        },
      }),
    );
    if (events.length === 0) return;
    programs.push(programId);
    if (userLed) userLedPrograms.add(programId);
  };

  const registerUser = async (programId = chance(0.95) ? pick(programs) : 'prog-missing', role: ParticipantRole = chance(0.5) ? 'MENTOR' : 'MENTEE') => {
    if (!programId) return undefined;
    const userId = randomUUID();
    const n = ++serial;
    const email = `Person.${options.seed}.${n}@Example.org`;
    const events = await run(
      define.registerUser(
        {
          userId,
          email,
          name: `Person ${n}`,
          programId,
          role,
          ...(chance(0.5) ? { company: `Company ${below(3)}` } : {}),
          ...(chance(0.4) ? { manager: { name: `Manager ${n}`, email: `manager.${n}@example.org` } } : {}),
        },
        emails,
      ),
    );
    if (events.length === 0) return undefined;
    const user: GeneratedUser = { userId, programId, role, email, status: 'AI', personas: [personaIdFor(userId, 1)], changeIds: [] };
    users.push(user);
    return user;
  };

  const onboard = async (user: GeneratedUser | undefined) => {
    if (!user) return;
    await run(define.userCommand({ type: 'CompleteApplication', data: { userId: user.userId, changeId: next('app') } }));
    const changeId = next('change');
    const events = await run(define.userCommand({ type: 'ChangeUserStatus', data: { userId: user.userId, changeId, to: 'A' } }));
    if (events.length > 0) user.changeIds.push(changeId);
  };

  /** A match (made, staged or requested, as the program allows) of these two, or of two picked among the active. */
  const makeMatch = async (given?: { mentor: GeneratedUser; mentee: GeneratedUser }) => {
    const mentee = given?.mentee ?? pick(ofRole('MENTEE'));
    const mentor = given?.mentor ?? (mentee && pick(ofRole('MENTOR', chance(0.95) ? mentee.programId : undefined)));
    if (!mentee || !mentor) return;
    const matchId = next('match');
    const latest = (user: GeneratedUser) => (chance(0.9) ? user.personas[user.personas.length - 1]! : persona(user));
    const data = { matchId, programId: mentee.programId, mentorPersonaId: latest(mentor), menteePersonaId: latest(mentee), now: now() };
    const events = await attempt(() =>
      userLedPrograms.has(mentee.programId) === chance(0.9)
        ? define.requestMatch({ ...data, requestedBy: chance(0.5) ? 'MENTEE' : 'MENTOR', ...(chance(0.5) ? { message: 'Hello' } : {}) })
        : define.matchPersonas({ ...data, ...(chance(0.4) ? { stage: true, source: 'AUTO' as const, score: 0.5, runId: next('run'), criteriaVersion: 1 } : {}) }),
    );
    if (events.length > 0) matches.push({ matchId, programId: mentee.programId, mentorUserId: mentor.userId, menteeUserId: mentee.userId });
  };

  const onUser = async (act: (user: GeneratedUser) => Promise<unknown>) => {
    const user = pick(users);
    if (user) await act(user);
  };

  /** Each step: one of these, by weight. */
  const steps: [number, () => Promise<unknown>][] = [
    [0.3, () => createProgram()],
    [5, () => registerUser()],
    [
      3,
      () => {
        const programId = pick(programs);
        if (!programId) return Promise.resolve();
        const changes = [
          () => define.programCommand({ type: 'ChangeProgramSettings', data: { programId, settings: {}, timeZone: pick(TIME_ZONES)! } }),
          () => define.programCommand({ type: 'ChangeProgramSettings', data: { programId, settings: { matchDurationMonths: 1 + below(3) } } }),
          () => define.programCommand({ type: chance(0.85) ? 'TurnMatchingOn' : 'TurnMatchingOff', data: { programId } }),
          () =>
            define.programCommand({
              type: 'SetNotificationTemplate',
              data: { programId, kind: pick(NOTIFICATION_KINDS)!, template: chance(0.3) ? null : { subject: `Subject ${++serial}`, body: 'A plain body.' } },
            }),
          () =>
            define.programCommand({
              type: 'SetNotificationTemplate',
              data: { programId, kind: pick(NOTIFICATION_KINDS)!, template: chance(0.3) ? null : { subject: `Subject ${++serial}`, body: 'A plain body.' } },
            }),
          () => define.programCommand({ type: 'AddClosureReason', data: { programId, closureReason: `Reason ${++serial}` } }),
        ];
        return attempt(pick(changes)!);
      },
    ],
    [
      1,
      () =>
        run(
          createInitiative({
            initiativeId: chance(0.9) ? next('init') : `init-${options.seed}-1`,
            name: `Initiative ${serial}`,
            company: 'Acme',
            timeZone: pick(TIME_ZONES)!,
            managerValidationRequired: chance(0.5),
          }),
        ),
    ],
    [
      2,
      () =>
        onUser(async (user) => {
          const email = chance(0.8) ? `Changed.${options.seed}.${++serial}@Example.org` : (pick(users)?.email ?? user.email);
          const events = await run(define.changeUserEmail({ userId: user.userId, email }, user.email, emails));
          if (events.some((event) => event.type === 'UserEmailChanged')) user.email = email;
        }),
    ],
    [
      2,
      () =>
        onUser((user) => {
          const fields = {
            ...(chance(0.5) ? { name: `Renamed ${++serial}` } : {}),
            ...(chance(0.4) ? { company: chance(0.5) ? null : `Company ${below(3)}` } : {}),
            ...(chance(0.4) ? (chance(0.5) ? { managerName: null, managerEmail: null } : { managerName: `Boss ${serial}`, managerEmail: `boss.${serial}@example.org` }) : {}),
          };
          return run(define.userCommand({ type: 'UpdateUserProfile', data: { userId: user.userId, ...fields } }));
        }),
    ],
    [
      2,
      () =>
        onUser((user) =>
          run(
            define.userCommand({
              type: 'SetProfileAttributes',
              data: { userId: user.userId, attributes: chance(0.5) ? { languages: ['en', 'fr'].slice(0, 1 + below(2)) } : { city: pick(['Lyon', 'Oslo'])! } },
            }),
          ),
        ),
    ],
    [
      8,
      // The usual way in: the application completed (AI → SI), then screening passed (→ A).
      () => onboard(pick(users.filter((candidate) => candidate.status !== 'A')) ?? pick(users)),
    ],
    [
      3,
      () =>
        onUser(async (user) => {
          const changeId = next('change');
          const to = pick(USER_STATUSES.filter((status) => status !== user.status))!;
          const events = await run(define.userCommand({ type: 'ChangeUserStatus', data: { userId: user.userId, changeId, to } }));
          if (events.length > 0) user.changeIds.push(changeId);
        }),
    ],
    [
      3,
      () =>
        onUser(async (user) => {
          const revertedChangeId = pick(user.changeIds);
          if (!revertedChangeId) return;
          const changeId = next('revert');
          const events = await run(define.userCommand({ type: 'RevertUserStatusChange', data: { userId: user.userId, changeId, revertedChangeId } }));
          if (events.length > 0) user.changeIds.push(changeId);
        }),
    ],
    [
      3,
      () =>
        onUser((user) =>
          run(define.userCommand({ type: 'ChangePersonaMatchStatus', data: { userId: user.userId, personaId: persona(user), to: chance(0.6) ? 'RTBM' : pick(MATCH_STATUSES)! } })),
        ),
    ],
    [2, () => onUser((user) => run(define.userCommand({ type: 'MakeUserRescreening', data: { userId: user.userId } })))],
    [
      1,
      () =>
        onUser((user) =>
          run(define.userCommand({ type: 'InactivatePersona', data: { userId: user.userId, personaId: persona(user), confirmCutCommunication: chance(0.5) } })),
        ),
    ],
    [
      1,
      () =>
        onUser((user) =>
          run(define.erasePersonalData({ userId: user.userId, registrationIds: [], confirm: true }, user.email, emails)),
        ),
    ],
    [
      3,
      () =>
        onUser((user) =>
          run(
            define.assignPersonaToSite({
              userId: user.userId,
              personaId: persona(user),
              programId: user.programId,
              partnerSiteId: pick(['s1', 's2'])!,
              mentorSiteListId: user.role === 'MENTOR' && chance(0.7) ? 'l1' : null,
            }),
          ),
        ),
    ],
    [
      3,
      async () => {
        const user = pick(users.filter((candidate) => candidate.role === 'MENTEE' && candidate.status === 'A' && userLedPrograms.has(candidate.programId) === chance(0.9)));
        if (user) await run(define.inviteMenteeToMatch({ userId: user.userId, personaId: persona(user), programId: user.programId }));
      },
    ],
    [2, () => onUser((user) => run(define.setMentorCapacity({ userId: user.userId, programId: user.programId, capacity: 1 + below(3) })))],
    [10, () => makeMatch()],
    [
      3,
      // Two newcomers of one program, ready to be matched, and their match.
      async () => {
        const programId = pick(programs);
        const mentor = await registerUser(programId, 'MENTOR');
        const mentee = await registerUser(programId, 'MENTEE');
        await onboard(mentor);
        await onboard(mentee);
        if (mentor && mentee) await makeMatch({ mentor, mentee });
      },
    ],
    [
      1,
      // Time passes: requests expire, matches run their duration.
      async () => {
        clock += (3 + below(45)) * 86_400_000;
      },
    ],
    [
      14,
      () => {
        // Mostly a match still under way, and a move its status allows.
        const open = matches.filter((ids) => MOVES_FROM[matchStatus.get(ids.matchId) ?? ''] !== undefined);
        const ids = chance(0.8) ? pick(open) : pick(matches);
        if (!ids) return Promise.resolve();
        const { matchId } = ids;
        const moves: Record<MatchMove, () => Promise<unknown>> = {
          approve: () => attempt(() => define.approveStagedMatch(ids, { matchId, now: now() })),
          respond: () =>
            attempt(() =>
              define.respondToMatchRequest(ids, { matchId, party: pick(['MENTOR', 'MENTEE', 'ADMIN'] as const)!, decision: chance(0.7) ? 'APPROVE' : 'DECLINE', now: now() }),
            ),
          close: () =>
            attempt(() => define.closeMatch(ids, { matchId, closureReason: CLOSURE_REASON, mentorRematchIntent: pick(INTENTS)!, menteeRematchIntent: pick(INTENTS)! })),
          inactivate: () =>
            attempt(() =>
              define.inactivateMatchedPersona(ids, {
                matchId,
                personaId: pick([ids.mentorUserId, ids.menteeUserId].flatMap((userId) => users.find((user) => user.userId === userId)?.personas ?? []))!,
                confirmCutCommunication: true,
                partnerRematchIntent: pick(INTENTS)!,
              }),
            ),
          reopen: () => attempt(() => define.reopenMatch(ids, { matchId, now: now() })),
          complete: () => attempt(() => define.completeMatch(ids, { matchId, now: now() })),
          discard: () => attempt(() => define.discardStagedMatch({ matchId })),
          expire: () => attempt(() => define.expireMatchRequest({ matchId, now: now() })),
          withdraw: () => attempt(() => define.withdrawMatchRequest({ matchId, reason: pick(WITHDRAWAL_REASONS)! })),
        };
        const allowed = MOVES_FROM[matchStatus.get(matchId) ?? ''];
        return moves[pick(allowed && chance(0.85) ? allowed : ALL_MOVES)!]();
      },
    ],
  ];
  const totalWeight = steps.reduce((sum, [weight]) => sum + weight, 0);

  // One admin-led program and one user-led, matching on in both; others come now and then.
  await createProgram(false);
  await createProgram(true);
  for (let step = 0; step < options.steps; step++) {
    // Minutes apart, but where a step lets time pass.
    clock += (1 + below(120)) * 60_000;
    let choice = random() * totalWeight;
    const [, act] = steps.find(([weight]) => (choice -= weight) < 0) ?? steps[steps.length - 1]!;
    await act();
  }
  return { commands, refused, types, refusals, lastPosition };
};
