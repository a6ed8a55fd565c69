import { CommandPipeline, type CommandDefinition, type CommandOutcome, type StreamSpec } from '../../src/commands/pipeline';
import * as define from '../../src/application/lifecycleDefinitions';
import { personaIdFor, type CloseMatch, type ParticipantRole } from '../../src/domain';
import type { Actor, EventStore } from '../../src/eventstore/eventStore';

/**
 * Drives the real deciders through the real pipeline with the same command definitions the API
 * uses, so the projections are fed exactly the events production writes. Clock and correlation ids
 * are deterministic so the test can name them.
 */

export const onProgram = define.programCommand;
export const onUser = define.userCommand;
export const registerUser = define.registerUser;
export const assignPersonaToSite = define.assignPersonaToSite;
export type MatchIds = define.MatchStreamIds;

/** Matches the first persona of each user, live at once, at the scenario's clock reading. */
export const matchPersonas =
  (ids: MatchIds) =>
  (now: string) =>
    define.matchPersonas({
      matchId: ids.matchId,
      programId: ids.programId,
      mentorPersonaId: personaIdFor(ids.mentorUserId, 1),
      menteePersonaId: personaIdFor(ids.menteeUserId, 1),
      now,
    });

export const closeMatch = (ids: MatchIds, data: Omit<CloseMatch['data'], 'matchId'>) =>
  define.closeMatch(ids, { ...data, matchId: ids.matchId });

export const reopenMatch =
  (ids: MatchIds) =>
  (now: string) =>
    define.reopenMatch(ids, { matchId: ids.matchId, now });

// ---------------------------------------------------------------------------------------------

export const ADMIN: Actor = { id: 'admin-ada', role: 'admin' };
export const COORDINATOR: Actor = { id: 'coord-cole', role: 'coordinator' };
export const self = (userId: string, role: ParticipantRole): Actor => ({ id: userId, role: role === 'MENTOR' ? 'mentor' : 'mentee' });

/** Each command one minute after the previous one, from 2025-01-06 09:00 UTC. */
export const minute = (n: number): string => new Date(Date.UTC(2025, 0, 6, 9, n)).toISOString();

export interface Executed {
  readonly now: string;
  readonly correlationId: string;
  readonly outcome: CommandOutcome;
}

export class Scenario {
  private readonly pipeline: CommandPipeline;
  private clock = 0;

  constructor(store: EventStore) {
    this.pipeline = new CommandPipeline(store);
  }

  /** `command` may be a function of the clock reading, for commands that carry it (`now`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async run<S extends Record<string, StreamSpec<any, any>>>(
    actor: Actor,
    commandOrAt: CommandDefinition<S> | ((now: string) => CommandDefinition<S>),
    reason?: string,
  ): Promise<Executed> {
    const n = this.clock++;
    const now = minute(n);
    const command = typeof commandOrAt === 'function' ? commandOrAt(now) : commandOrAt;
    const correlationId = `corr-${n}`;
    const outcome = await this.pipeline.execute({ actor, now, correlationId, ...(reason !== undefined ? { reason } : {}) }, command);
    if (outcome.events.length === 0) throw new Error(`${command.name} wrote nothing; the scenario expects every step to record a fact.`);
    return { now, correlationId, outcome };
  }
}
