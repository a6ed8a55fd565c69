import type { MatchLifecycleStatus, MatchSource } from '../../src/domain';
import type { MatchView, Page, PageRequest } from '../lifecycle/lifecycle.types';

/**
 * Read side of the matching workflows (seed 002): the funnel an admin works from, the lists behind
 * it, participants' requests, and what the scheduler and the CSV export read. Built from the
 * tables of the lifecycle read models; see `matching.queries.ts`.
 */

/** Where a program's matching stands. */
export interface MatchingFunnel {
  readonly programId: string;
  /** Mentee personas ready to be matched (ACTIVE, RTBM) whose user is Active. */
  readonly unmatchedMentees: number;
  /** Of those, the ones not yet invited to submit mentor preferences. */
  readonly uninvitedMentees: number;
  /** Active mentors who can take one more match now (capacity left after live and staged matches). */
  readonly availableMentors: number;
  readonly stagedMatches: number;
  /** Requests still waiting for approvals. */
  readonly requestedMatches: number;
  readonly activeMatches: number;
  readonly completedMatches: number;
}

export interface UnmatchedMenteeView {
  readonly personaId: string;
  readonly userId: string;
  readonly name: string;
  readonly email: string;
  readonly programId: string;
  readonly partnerSiteId: string | null;
  /** When invited to submit mentor preferences; null if never. */
  readonly invitedAt: string | null;
  /** Requests naming this persona that wait for approvals. */
  readonly openRequests: number;
  readonly stagedMatches: number;
}

export interface AvailableMentorView {
  readonly userId: string;
  /**
   * The persona to match through: one ready to be matched, else one in a live match (the decider
   * then gives the additional match a persona of its own).
   */
  readonly personaId: string;
  readonly name: string;
  readonly email: string;
  readonly programId: string;
  /** How many live matches the mentor may have at once: their own setting, else the program's default. */
  readonly capacity: number;
  /** True when `capacity` is the program's default (no capacity set for this mentor). */
  readonly capacityIsProgramDefault: boolean;
  /** MATCHED personas whose match has not run its duration. */
  readonly liveMatches: number;
  readonly stagedMatches: number;
  /** Requests naming the mentor that wait for approvals (not counted against the capacity). */
  readonly openRequests: number;
  /** capacity − live − staged; always at least 1 here. */
  readonly capacityLeft: number;
}

/** A match with its participants' names and e-mail addresses, for lists. */
export interface MatchDetailView extends MatchView {
  readonly mentorName: string;
  readonly mentorEmail: string;
  readonly menteeName: string;
  readonly menteeEmail: string;
}

export interface MatchListRequest extends PageRequest {
  /** Only matches in these statuses (all when absent; none when empty). */
  readonly statuses?: readonly MatchLifecycleStatus[];
}

export interface UnmatchedMenteeRequest extends PageRequest {
  /** true: only invited mentees; false: only those not invited yet; absent: both. */
  readonly invited?: boolean;
}

/** A match the scheduler has to move (expire a request, complete a match), with the streams it touches. */
export interface DueMatch {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
  /** When the move became due: the request's expiry or the match's end (ISO-8601). */
  readonly dueAt: string;
}

/** A request or staged match that can no longer go live: the scheduler withdraws or discards it. */
export interface BlockedOpenMatch {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
  /** REQUESTED: withdraw it; STAGED: discard it. */
  readonly status: 'REQUESTED' | 'STAGED';
  /**
   * MENTEE_MATCHED: the mentee's persona went live in `otherMatchId`. PARTICIPANT_UNAVAILABLE: the
   * mentee's persona is no longer ready to be matched (not RTBM), or either persona was inactivated.
   */
  readonly reason: 'MENTEE_MATCHED' | 'PARTICIPANT_UNAVAILABLE';
  readonly otherMatchId: string | null;
}

export interface MatchingProgramSummary {
  readonly programId: string;
  readonly name: string;
  readonly timeZone: string;
}

/** One line of the matches export. */
export interface MatchExportRow {
  readonly matchId: string;
  readonly mentorUserId: string;
  readonly menteeUserId: string;
  readonly programName: string;
  /** IANA zone the matched date is written in. */
  readonly programTimeZone: string;
  readonly mentorName: string;
  readonly mentorEmail: string;
  readonly menteeName: string;
  readonly menteeEmail: string;
  readonly status: MatchLifecycleStatus;
  readonly source: MatchSource;
  /** When it went live; when it was created, for a match that has not (staged, requested). ISO-8601. */
  readonly matchedAt: string;
  readonly score: number | null;
}

export interface MatchingReadModel {
  /** Zeros for a program with nothing in it (or no such program). */
  funnel(programId: string): Promise<MatchingFunnel>;
  /** Ordered by name, then persona id; the cursor is opaque. */
  unmatchedMentees(programId: string, request: UnmatchedMenteeRequest): Promise<Page<UnmatchedMenteeView>>;
  /** Ordered by name, then user id; the cursor is opaque. */
  availableMentors(programId: string, page: PageRequest): Promise<Page<AvailableMentorView>>;
  /** Newest first (created), then match id; the cursor is opaque. */
  matches(programId: string, request: MatchListRequest): Promise<Page<MatchDetailView>>;
  /** Requests the user is the mentor or the mentee of, newest first; `openOnly`: those still REQUESTED. */
  matchRequestsFor(userId: string, options?: { readonly openOnly?: boolean }): Promise<readonly MatchDetailView[]>;
  match(matchId: string): Promise<MatchDetailView | null>;
  /** Every STAGED match of the program, oldest first, for "approve all" and "discard all". */
  stagedMatchIds(programId: string): Promise<readonly string[]>;
  /** Every unmatched mentee persona of the program not invited yet, for "invite all". */
  uninvitedMenteePersonas(programId: string): Promise<readonly { readonly personaId: string; readonly userId: string }[]>;
  /** REQUESTED matches whose expiry is at or before `now`, oldest expiry first. */
  dueRequestExpiries(now: string, limit: number): Promise<readonly DueMatch[]>;
  /** ACTIVE matches whose duration ran out at or before `now`, oldest end first. */
  dueCompletions(now: string, limit: number): Promise<readonly DueMatch[]>;
  /** REQUESTED and STAGED matches that can no longer go live, oldest first. */
  openMatchesBlockedFor(limit: number): Promise<readonly BlockedOpenMatch[]>;
  programSummary(programId: string): Promise<MatchingProgramSummary | null>;
  /** Every match of the program in these statuses, by matched date then match id, read in pages as it is iterated. */
  matchesForExport(programId: string, statuses: readonly MatchLifecycleStatus[]): AsyncIterable<MatchExportRow>;
}
