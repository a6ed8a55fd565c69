import { randomBytes } from 'node:crypto';
import { CommandPipeline, type CommandContext, type CommandDefinition } from '../commands/pipeline';
import { registerUser } from '../application/lifecycleDefinitions';
import { keyedEmailStreams } from '../identity/emailStreams';
import {
  START,
  WrongExpectedRevisionError,
  comparePositions,
  type EventStore,
  type GlobalPosition,
  type RecordedEvent,
  type StreamWrite,
} from '../eventstore/eventStore';
import { DomainError } from './shared/decider';
import {
  decideCloseMatch,
  decideMatchPersonas,
  decideReopenMatch,
  decideRequestMatch,
  decideRespondToMatchRequest,
  matchDecider,
  matchParticipants,
  matchStream,
  programDecider,
  programStream,
  userDecider,
  userIdForEmail,
  userIdOfPersona,
  userStream,
  type CloseMatch,
  type MatchDecision,
  type MatchPersonas,
  type MatchStreams,
  type ProgramCommand,
  type RegisterUser,
  type ReopenMatch,
  type RequestMatch,
  type RespondToMatchRequest,
  type UserCommand,
} from './index';

/**
 * The lifecycle through the real command pipeline: how each decision is wired into a
 * CommandDefinition, and that uniqueness by e-mail holds when two registrations interleave.
 * The store is a minimal in-memory one with the port's atomic expected-revision check (the SQL
 * adapters' own guarantee is the contract suite's business); PGlite needs
 * --experimental-vm-modules under jest, which a plain `npx jest src/domain` does not pass.
 */
class InMemoryEventStore implements EventStore {
  readonly name = 'in memory';
  readonly erasesPersonalData = false;
  private readonly log: RecordedEvent[] = [];
  /** Appends refused for a stale expected revision. */
  conflicts = 0;

  async readStream(streamId: string) {
    await Promise.resolve(); // lets concurrent commands interleave between load and append
    const events = this.log.filter((event) => event.streamId === streamId);
    return { events, currentRevision: events.length > 0 ? events.length - 1 : null };
  }

  async appendToStreams(writes: readonly StreamWrite[]) {
    for (const write of writes) {
      const current = this.log.filter((event) => event.streamId === write.streamId).length - 1;
      const actual = current < 0 ? null : current;
      const expected = write.expectedRevision === 'no_stream' ? null : write.expectedRevision;
      if (write.expectedRevision !== 'any' && expected !== actual) {
        this.conflicts += 1;
        throw new WrongExpectedRevisionError(write.streamId, write.expectedRevision, actual);
      }
    }
    const events: RecordedEvent[] = [];
    const streamRevisions: Record<string, number> = {};
    for (const write of writes) {
      for (const event of write.events) {
        const revision = this.log.filter((recorded) => recorded.streamId === write.streamId).length;
        const recorded = { ...event, streamId: write.streamId, revision, position: { major: 1n, minor: BigInt(this.log.length + 1) } };
        this.log.push(recorded);
        events.push(recorded);
        streamRevisions[write.streamId] = revision;
      }
    }
    return { events, streamRevisions, lastPosition: events.at(-1)?.position ?? START, duplicate: false };
  }

  async readAll() {
    return [...this.log];
  }
  async readIdempotencyKey() {
    return null;
  }
  async readHead() {
    return this.log.at(-1)?.position ?? START;
  }
  async readCommittedHead() {
    return this.readHead();
  }
  async readAt(positions: readonly GlobalPosition[]) {
    return positions.flatMap((p) => this.log.filter((e) => comparePositions(e.position, p) === 0));
  }
  async close() {}
}

let store: InMemoryEventStore;
let pipeline: CommandPipeline;
const admin: CommandContext = { actor: { id: 'admin-1', role: 'admin' }, now: '2025-09-01T12:00:00.000Z', correlationId: 'corr-1' };

const onProgram = (command: ProgramCommand) =>
  ({
    name: command.type,
    streams: { program: { streamId: programStream(command.data.programId), decider: programDecider } },
    decide: (loaded) => ({ program: programDecider.decide(command, loaded.program.state) }),
  }) satisfies CommandDefinition<{ program: { streamId: string; decider: typeof programDecider } }>;

const emails = keyedEmailStreams(randomBytes(32));
const register = (command: RegisterUser) => registerUser(command.data, emails);

const onUser = (command: UserCommand) => {
  const streams = { user: { streamId: userStream(command.data.userId), decider: userDecider } };
  const definition: CommandDefinition<typeof streams> = {
    name: command.type,
    streams,
    decide: (loaded) => ({ user: userDecider.decide(command, loaded.user.state) }),
  };
  return definition;
};

const match = (command: MatchPersonas) => {
  const streams = {
    match: { streamId: matchStream(command.data.matchId), decider: matchDecider },
    program: { streamId: programStream(command.data.programId), decider: programDecider },
    mentor: { streamId: userStream(userIdOfPersona(command.data.mentorPersonaId)!), decider: userDecider },
    mentee: { streamId: userStream(userIdOfPersona(command.data.menteePersonaId)!), decider: userDecider },
  };
  const definition: CommandDefinition<typeof streams> = {
    name: 'MatchPersonas',
    streams,
    decide: (loaded) =>
      decideMatchPersonas(command, {
        match: loaded.match.state,
        program: loaded.program.state,
        mentor: loaded.mentor.state,
        mentee: loaded.mentee.state,
      }),
  };
  return definition;
};

/** Close and reopen name only the match: read it first to learn which streams to load. */
const participantsOf = async (matchId: string) => {
  const { events } = await store.readStream(matchStream(matchId));
  return matchParticipants(
    events.reduce((state, event) => matchDecider.evolve(state, event as never), matchDecider.initialState()),
    matchId,
  );
};

const close = async (command: CloseMatch) => {
  const { programId, mentorUserId, menteeUserId } = await participantsOf(command.data.matchId);
  const streams = {
    match: { streamId: matchStream(command.data.matchId), decider: matchDecider },
    program: { streamId: programStream(programId), decider: programDecider },
    mentor: { streamId: userStream(mentorUserId), decider: userDecider },
    mentee: { streamId: userStream(menteeUserId), decider: userDecider },
  };
  const definition: CommandDefinition<typeof streams> = {
    name: 'CloseMatch',
    streams,
    decide: (loaded) =>
      decideCloseMatch(command, {
        match: loaded.match.state,
        program: loaded.program.state,
        mentor: loaded.mentor.state,
        mentee: loaded.mentee.state,
      }),
  };
  return definition;
};

/** Reopening reads the program too: the mentor's capacity may default to the program's. */
const reopen = async (command: ReopenMatch) => {
  const { programId, mentorUserId, menteeUserId } = await participantsOf(command.data.matchId);
  const streams = {
    match: { streamId: matchStream(command.data.matchId), decider: matchDecider },
    program: { streamId: programStream(programId), decider: programDecider },
    mentor: { streamId: userStream(mentorUserId), decider: userDecider },
    mentee: { streamId: userStream(menteeUserId), decider: userDecider },
  };
  const definition: CommandDefinition<typeof streams> = {
    name: 'ReopenMatch',
    streams,
    decide: (loaded) =>
      decideReopenMatch(command, {
        match: loaded.match.state,
        program: loaded.program.state,
        mentor: loaded.mentor.state,
        mentee: loaded.mentee.state,
      }),
  };
  return definition;
};

/** A command on an existing match that may make it live: it reads (and checks) the program. */
const onMatch = async <C extends RequestMatch | RespondToMatchRequest>(
  command: C,
  decide: (command: C, states: MatchStreams) => MatchDecision,
  ids?: { programId: string; mentorUserId: string; menteeUserId: string },
) => {
  const { programId, mentorUserId, menteeUserId } = ids ?? (await participantsOf(command.data.matchId));
  const streams = {
    match: { streamId: matchStream(command.data.matchId), decider: matchDecider },
    program: { streamId: programStream(programId), decider: programDecider },
    mentor: { streamId: userStream(mentorUserId), decider: userDecider },
    mentee: { streamId: userStream(menteeUserId), decider: userDecider },
  };
  const definition: CommandDefinition<typeof streams> = {
    name: command.type,
    streams,
    decide: (loaded) =>
      decide(command, { match: loaded.match.state, program: loaded.program.state, mentor: loaded.mentor.state, mentee: loaded.mentee.state }),
    checks: ['program'],
  };
  return definition;
};

const types = async (streamId: string) => (await store.readStream(streamId)).events.map((event) => event.type);

beforeAll(async () => {
  store = new InMemoryEventStore();
  pipeline = new CommandPipeline(store);
  await pipeline.execute(
    admin,
    onProgram({ type: 'CreateProgram', data: { programId: 'p1', name: 'Brooklyn 2025', timeZone: 'America/New_York', settings: { matchingEnabled: true } } }),
  );
});

/** `userId`: legacy-shaped (uuidv5 of the address) unless given; such ids stay valid. */
const registration = (email: string, role: 'MENTOR' | 'MENTEE', programId = 'p1', userId = userIdForEmail(email)): RegisterUser => ({
  type: 'RegisterUser',
  data: { userId, email, name: email.split('@')[0]!, programId, role },
});

/** Registered, application completed and made Active: RTBM in the program. */
const activeParticipant = async (email: string, role: 'MENTOR' | 'MENTEE', programId: string) => {
  const userId = userIdForEmail(email);
  await pipeline.execute(admin, register(registration(email, role, programId)));
  await pipeline.execute(admin, onUser({ type: 'CompleteApplication', data: { userId, changeId: `${userId}-c1` } }));
  await pipeline.execute(admin, onUser({ type: 'ChangeUserStatus', data: { userId, changeId: `${userId}-c2`, to: 'A' } }));
  return userId;
};

it('registers one user when the same address is registered twice at once, in different cases', async () => {
  const outcomes = await Promise.allSettled([
    pipeline.execute(admin, register(registration('Race@Example.org', 'MENTOR', 'p1', 'race-1'))),
    pipeline.execute(admin, register(registration('race@EXAMPLE.org ', 'MENTOR', 'p1', 'race-2'))),
  ]);
  expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
  // Two random ids, two user streams, one address: both decided on an empty reservation stream; the
  // store's no_stream check on it stopped the second append, whose retry then saw the claim and refused.
  expect(store.conflicts).toBe(1);
  const refused = outcomes.find((outcome) => outcome.status === 'rejected') as PromiseRejectedResult;
  expect(refused.reason).toBeInstanceOf(DomainError);
  expect((refused.reason as DomainError).code).toBe('ALREADY_EXISTS');
  const written = [await types(userStream('race-1')), await types(userStream('race-2'))];
  expect(written.filter((list) => list.length > 0)).toEqual([['UserRegistered', 'PersonaCreated']]);
  expect(await types(emails.reservationStream('race@example.org'))).toEqual(['EmailAddressReserved']);
});

it('runs a participant from application to a closed, then reopened, match', async () => {
  const mentorId = userIdForEmail('mentor@example.org');
  const menteeId = userIdForEmail('mentee@example.org');
  for (const [email, role] of [['mentor@example.org', 'MENTOR'], ['mentee@example.org', 'MENTEE']] as const) {
    await pipeline.execute(admin, register(registration(email, role)));
  }
  for (const userId of [mentorId, menteeId]) {
    await pipeline.execute({ ...admin, actor: { id: userId, role: 'mentee' } }, onUser({ type: 'CompleteApplication', data: { userId, changeId: `${userId}-c1` } }));
    await pipeline.execute({ ...admin, reason: 'Screening passed' }, onUser({ type: 'ChangeUserStatus', data: { userId, changeId: `${userId}-c2`, to: 'A' } }));
  }
  await pipeline.execute(admin, match({ type: 'MatchPersonas', data: { matchId: 'm1', programId: 'p1', mentorPersonaId: `${mentorId}:p1`, menteePersonaId: `${menteeId}:p1`, now: admin.now } }));
  await pipeline.execute(
    { ...admin, reason: 'Mentor moved' },
    await close({ type: 'CloseMatch', data: { matchId: 'm1', closureReason: 'mentor withdrew', mentorRematchIntent: 'YES', menteeRematchIntent: 'NO' } }),
  );
  expect(await types(matchStream('m1'))).toEqual(['MatchCreated', 'MatchActivated', 'MatchClosed']);
  expect(await types(userStream(mentorId))).toEqual([
    'UserRegistered',
    'PersonaCreated',
    'ApplicationCompleted',
    'UserStatusChanged',
    'UserStatusChanged',
    'PersonaMatchStatusChanged',
    'PersonaMatchStatusChanged',
    'PersonaMatchStatusChanged',
    'PersonaCreated',
  ]);

  const reopened = await pipeline.execute(admin, await reopen({ type: 'ReopenMatch', data: { matchId: 'm1', now: '2026-01-05T09:00:00.000Z' } }));
  expect(reopened.events.map((event) => `${event.streamId.slice(0, 5)} ${event.type}`)).toEqual([
    'match MatchReopened',
    'user- PersonaMatchStatusChanged',
    'user- PersonaInactivated',
    'user- PersonaMatchStatusChanged',
  ]);
  expect(reopened.events[0]!.metadata).toMatchObject({ command: 'ReopenMatch', actor: { id: 'admin-1' } });

  await expect(pipeline.execute(admin, onUser({ type: 'RevertUserStatusChange', data: { userId: mentorId, changeId: 'r1', revertedChangeId: `${mentorId}-c1` } }))).rejects.toMatchObject({
    code: 'REVERT_AMBIGUOUS',
  });
});

it('makes a requested match live on the last approval, writing the match and both users in one append', async () => {
  await pipeline.execute(
    admin,
    onProgram({
      type: 'CreateProgram',
      data: {
        programId: 'p2',
        name: 'Queens 2025',
        timeZone: 'America/New_York',
        settings: { matchingEnabled: true, matchingProcess: 'USER_LED_WITH_APPROVAL', requiredApprovals: ['MENTOR', 'ADMIN'] },
      },
    }),
  );
  const mentorId = await activeParticipant('mentor2@example.org', 'MENTOR', 'p2');
  const menteeId = await activeParticipant('mentee2@example.org', 'MENTEE', 'p2');
  const ids = { programId: 'p2', mentorUserId: mentorId, menteeUserId: menteeId };
  const requestedAt = '2025-09-04T14:00:00.000Z'; // a Thursday, 10:00 in New York
  const asked = await pipeline.execute(
    { ...admin, actor: { id: menteeId, role: 'mentee' }, now: requestedAt },
    await onMatch(
      { type: 'RequestMatch', data: { matchId: 'm2', programId: 'p2', mentorPersonaId: `${mentorId}:p1`, menteePersonaId: `${menteeId}:p1`, requestedBy: 'MENTEE', now: requestedAt } },
      decideRequestMatch,
      ids,
    ),
  );
  expect(asked.events.map((event) => event.type)).toEqual(['MatchRequested']);
  expect(asked.events[0]!.data).toMatchObject({ pendingApprovals: ['MENTOR', 'ADMIN'], expiresAt: '2025-09-09T14:00:00.000Z' });

  const answer = (party: 'MENTOR' | 'ADMIN') =>
    onMatch({ type: 'RespondToMatchRequest', data: { matchId: 'm2', party, decision: 'APPROVE', now: '2025-09-05T14:00:00.000Z' } }, decideRespondToMatchRequest);
  expect((await pipeline.execute(admin, await answer('MENTOR'))).events.map((event) => event.type)).toEqual(['MatchRequestApproved']);
  await expect(pipeline.execute(admin, await answer('MENTOR'))).rejects.toMatchObject({ code: 'RULE_VIOLATED', message: expect.stringContaining('has already approved') });

  const live = await pipeline.execute(admin, await answer('ADMIN'));
  expect(live.events.map((event) => `${event.streamId.slice(0, 5)} ${event.type}`)).toEqual([
    'match MatchRequestApproved',
    'match MatchActivated',
    'user- PersonaMatchStatusChanged',
    'user- PersonaMatchStatusChanged',
  ]);
  expect(live.events[1]!.data).toMatchObject({ endsAt: '2026-03-05T15:00:00.000Z' });
  expect(await types(matchStream('m2'))).toEqual(['MatchRequested', 'MatchRequestApproved', 'MatchRequestApproved', 'MatchActivated']);
});
