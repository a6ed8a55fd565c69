/**
 * The persona match-status table (seeds 000 and 001): the only moves a persona's match status can
 * make, and how each is made.
 */

export type ParticipantRole = 'MENTOR' | 'MENTEE';
export const PARTICIPANT_ROLES: readonly ParticipantRole[] = ['MENTOR', 'MENTEE'];

export type MatchStatus = 'N/A' | 'RTBM' | 'MATCHED' | 'CLOSED' | 'RESCREENING' | 'NOT_MATCHING';
export const MATCH_STATUSES: readonly MatchStatus[] = ['N/A', 'RTBM', 'MATCHED', 'CLOSED', 'RESCREENING', 'NOT_MATCHING'];

/** The command (or automatic step) that makes a move. */
export type MatchStatusMoveVia =
  | 'USER_ACTIVATED'
  | 'MATCH'
  | 'CLOSE_MATCH'
  | 'OPEN_MATCH'
  | 'MAKE_RTBM'
  | 'MAKE_NOT_MATCHING'
  | 'MAKE_RESCREENING';

export interface MatchStatusMove {
  readonly from: MatchStatus;
  readonly to: MatchStatus;
  readonly via: MatchStatusMoveVia;
  /** Roles for which the move exists. */
  readonly roles: readonly ParticipantRole[];
  /** How an administrator makes the move, for messages. */
  readonly how: string;
}

export const MATCH_STATUS_MOVES: readonly MatchStatusMove[] = [
  { from: 'N/A', to: 'RTBM', via: 'USER_ACTIVATED', roles: PARTICIPANT_ROLES, how: "by changing the user's status to Active (A)" },
  { from: 'RTBM', to: 'MATCHED', via: 'MATCH', roles: PARTICIPANT_ROLES, how: 'by matching it' },
  { from: 'MATCHED', to: 'CLOSED', via: 'CLOSE_MATCH', roles: PARTICIPANT_ROLES, how: 'by closing its match' },
  { from: 'CLOSED', to: 'MATCHED', via: 'OPEN_MATCH', roles: PARTICIPANT_ROLES, how: 'by reopening its match ("Open Match")' },
  { from: 'RESCREENING', to: 'RTBM', via: 'MAKE_RTBM', roles: PARTICIPANT_ROLES, how: '"Make RTBM"' },
  { from: 'RESCREENING', to: 'NOT_MATCHING', via: 'MAKE_NOT_MATCHING', roles: ['MENTEE'], how: '"Make Not Matching", mentees only' },
  { from: 'NOT_MATCHING', to: 'RESCREENING', via: 'MAKE_RESCREENING', roles: ['MENTEE'], how: '"Make RS", mentees only' },
];

/** "Can log in & see curriculum?" per match status (seed 000): a CLOSED persona cannot. */
export const MATCH_STATUS_ALLOWS_ACCESS: Readonly<Record<MatchStatus, boolean>> = {
  'N/A': true,
  RTBM: true,
  MATCHED: true,
  CLOSED: false,
  RESCREENING: true,
  NOT_MATCHING: true,
};

export const movesFrom = (from: MatchStatus, role: ParticipantRole): readonly MatchStatusMove[] =>
  MATCH_STATUS_MOVES.filter((move) => move.from === from && move.roles.includes(role));

/** The move, if the table has it for this role and this way of making it. */
export const findMove = (from: MatchStatus, to: MatchStatus, role: ParticipantRole, via: MatchStatusMoveVia): MatchStatusMove | null =>
  movesFrom(from, role).find((move) => move.to === to && move.via === via) ?? null;

/** "from RTBM it can only move to MATCHED (by matching it)." */
export const describeMovesFrom = (from: MatchStatus, role: ParticipantRole): string => {
  const moves = movesFrom(from, role);
  if (moves.length === 0) return `from ${from} a ${role.toLowerCase()}'s persona cannot move to any other match status`;
  return `from ${from} it can only move to ${moves.map((move) => `${move.to} (${move.how})`).join(' or ')}`;
};
