import { assertNever } from '../src/domain/shared/decider';
import { describeUserStatus, userIdOfPersona, type LifecycleEvent, type MatchEvent, type MatchStatusCause, type UserEvent } from '../src/domain';
import type { HistoryField } from '../src/readmodels/lifecycle';

/**
 * What one event says in a user's history timeline: pure, so the sentences can be read and tested
 * without a database. A user-stream event makes one entry for its user; a match-stream event one
 * for the mentor and one for the mentee, each told from that participant's side.
 */
export interface HistoryEntry {
  readonly userId: string;
  readonly field: HistoryField;
  readonly personaId: string | null;
  readonly matchId: string | null;
  /** The change id of a status change or revert: what a later revert names. */
  readonly changeId: string | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly summary: string;
}

const roleName = (role: 'MENTOR' | 'MENTEE') => role.toLowerCase();

const causeClause = (cause: MatchStatusCause): string => {
  switch (cause.kind) {
    case 'USER_ACTIVATED':
      return ` automatically, because the user became Active (A) by ${cause.changeId}`;
    case 'ACTIVATION_REVERTED':
      return ` automatically, because ${cause.changeId} reverted the activation ${cause.revertedChangeId}`;
    case 'MATCH_ACTIVATED':
      return ` when match ${cause.matchId} went live`;
    case 'MATCH_CLOSED':
      return ` when match ${cause.matchId} closed (${cause.closureReason}; wants another match: ${cause.rematchIntent})`;
    case 'MATCH_REOPENED':
      return ` when match ${cause.matchId} was reopened`;
    case 'ADMIN':
      return '';
    default:
      return assertNever(cause);
  }
};

const matchIdOfCause = (cause: MatchStatusCause): string | null => ('matchId' in cause ? cause.matchId : null);

const userEntry = (event: UserEvent): HistoryEntry => {
  const base = { userId: event.data.userId, personaId: null, matchId: null, changeId: null };
  switch (event.type) {
    case 'UserRegistered': {
      const { name, email, role, programId, userStatus } = event.data;
      return {
        ...base,
        field: 'REGISTRATION',
        from: null,
        to: userStatus,
        summary: `${name} <${email}> registered as a ${roleName(role)} in program ${programId} with status ${describeUserStatus(userStatus)}`,
      };
    }
    case 'PersonaCreated': {
      const { personaId, role, matchStatus, origin } = event.data;
      const why =
        origin.kind === 'REGISTRATION'
          ? 'at registration'
          : origin.kind === 'REMATCH_REQUESTED'
            ? `because the ${roleName(role)} answered ${origin.rematchIntent} to another match when match ${origin.matchId} closed`
            : 'because the user was made Rescreening (RS)';
      return {
        ...base,
        field: 'PERSONA',
        personaId,
        matchId: origin.kind === 'REMATCH_REQUESTED' ? origin.matchId : null,
        from: null,
        to: matchStatus,
        summary: `Persona ${personaId} created as a ${roleName(role)} persona with match status ${matchStatus} ${why}`,
      };
    }
    case 'ApplicationCompleted':
      return { ...base, field: 'APPLICATION', from: 'INCOMPLETE', to: 'COMPLETED', summary: 'Application completed' };
    case 'UserStatusChanged': {
      const { changeId, from, to, automatic, trigger } = event.data;
      const summary =
        automatic && trigger === 'APPLICATION_COMPLETED'
          ? `Application completed; moved to ${to} automatically by the system`
          : `User status changed from ${describeUserStatus(from)} to ${describeUserStatus(to)}${automatic ? ' automatically by the system' : ''}`;
      return { ...base, field: 'USER_STATUS', changeId, from, to, summary };
    }
    case 'UserStatusChangeReverted': {
      const { changeId, revertedChangeId, from, to } = event.data;
      return {
        ...base,
        field: 'USER_STATUS',
        changeId,
        from,
        to,
        summary:
          `Status change ${revertedChangeId} reverted by ${changeId}: ` +
          `user status changed back from ${describeUserStatus(from)} to ${describeUserStatus(to)}`,
      };
    }
    case 'PersonaMatchStatusChanged': {
      const { personaId, from, to, matchId, cause } = event.data;
      return {
        ...base,
        field: 'MATCH_STATUS',
        personaId,
        matchId: matchId ?? matchIdOfCause(cause),
        from,
        to,
        summary: `Persona ${personaId} match status changed from ${from} to ${to}${causeClause(cause)}`,
      };
    }
    case 'PersonaInactivated': {
      const { personaId, matchId, communicationCut, cause } = event.data;
      const summary =
        cause.kind === 'CREATED_IN_ERROR'
          ? `Persona ${personaId} inactivated as created in error` +
            (communicationCut ? `; it was MATCHED in match ${matchId}, so its mentor and mentee can no longer communicate` : '')
          : `Persona ${personaId} inactivated because match ${cause.matchId} was reopened, so the rematch it waited for is no longer needed`;
      return {
        ...base,
        field: 'PERSONA_STATUS',
        personaId,
        matchId: matchId ?? (cause.kind === 'SUPERSEDED_BY_REOPENED_MATCH' ? cause.matchId : null),
        from: 'ACTIVE',
        to: 'INACTIVE',
        summary,
      };
    }
    case 'PersonaAssignedToSite': {
      const { personaId, partnerSiteId, mentorSiteListId, previousPartnerSiteId, previousMentorSiteListId } = event.data;
      const place = (site: string | null, list: string | null) => `partner site ${site ?? 'none'} (mentor site list ${list ?? 'none'})`;
      const hadSite = previousPartnerSiteId !== null || previousMentorSiteListId !== null;
      const before = hadSite ? `, was ${place(previousPartnerSiteId, previousMentorSiteListId)}` : '';
      return {
        ...base,
        field: 'SITE',
        personaId,
        from: previousPartnerSiteId,
        to: partnerSiteId,
        summary: `Persona ${personaId} assigned to ${place(partnerSiteId, mentorSiteListId)}${before}`,
      };
    }
    default:
      return assertNever(event);
  }
};

const SIDES = ['mentor', 'mentee'] as const;

const matchEntries = (event: MatchEvent): HistoryEntry[] => {
  const { matchId, mentorPersonaId, menteePersonaId } = event.data;
  const personaOf = { mentor: mentorPersonaId, mentee: menteePersonaId };
  const userOf = (side: 'mentor' | 'mentee'): string => {
    if (event.type === 'MatchCreated') return side === 'mentor' ? event.data.mentorUserId : event.data.menteeUserId;
    // Only MatchCreated names the users; the others name personas, whose ids carry their user's.
    const userId = userIdOfPersona(personaOf[side]);
    if (userId === null) throw new Error(`Match ${matchId}: ${side} persona id "${personaOf[side]}" is not a persona id.`);
    return userId;
  };
  return SIDES.map((side) => {
    const base = { userId: userOf(side), field: 'MATCH' as const, personaId: personaOf[side], matchId, changeId: null };
    switch (event.type) {
      case 'MatchCreated':
        return {
          ...base,
          from: null,
          to: null,
          summary: `Match ${matchId} created: mentor persona ${mentorPersonaId} with mentee persona ${menteePersonaId}`,
        };
      case 'MatchActivated':
        return { ...base, from: null, to: 'ACTIVE', summary: `Match ${matchId} went live; the mentor and mentee can now communicate` };
      case 'MatchClosed': {
        const intent = side === 'mentor' ? event.data.mentorRematchIntent : event.data.menteeRematchIntent;
        return {
          ...base,
          from: 'ACTIVE',
          to: 'CLOSED',
          summary: `Match ${matchId} closed: ${event.data.closureReason}; ${side} wants another match: ${intent}`,
        };
      }
      case 'MatchReopened':
        return { ...base, from: 'CLOSED', to: 'ACTIVE', summary: `Match ${matchId} reopened` };
      default:
        return assertNever(event);
    }
  });
};

/** The entries one lifecycle event adds to users' histories (none for program events). */
export const historyEntriesOf = (event: LifecycleEvent): HistoryEntry[] => {
  switch (event.type) {
    case 'MatchCreated':
    case 'MatchActivated':
    case 'MatchClosed':
    case 'MatchReopened':
      return matchEntries(event);
    case 'UserRegistered':
    case 'PersonaCreated':
    case 'ApplicationCompleted':
    case 'UserStatusChanged':
    case 'UserStatusChangeReverted':
    case 'PersonaMatchStatusChanged':
    case 'PersonaInactivated':
    case 'PersonaAssignedToSite':
      return [userEntry(event)];
    default:
      return [];
  }
};
