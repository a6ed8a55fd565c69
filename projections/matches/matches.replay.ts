import type { MatchEvent } from '../../src/domain';
import type { GlobalPosition } from '../../src/eventstore/eventStore';
import { FEW_EVENTS, type InDatabaseReplay } from '../../src/projectionEngine/projection';
import { AT, LATEST_STAMP, STAMP_COLUMNS, inList, latestWritten, upToCondition } from '../shared/replaySql';

/**
 * rm_matches replayed in SQL, straight from es_events: the row `evolve` in matches.projection.ts
 * leaves, one aggregate per match over the events of its stream. Each column is said once with the
 * events that write it (`latestWritten`: the latest of them wins, and may clear it), so the table
 * below reads as `evolve` does, column by column instead of event by event. The read-model tests
 * replay with and without this and compare every row.
 */

type MatchType = MatchEvent['type'];
const data = (field: string) => `e.data->>'${field}'`;
/** A jsonb field as jsonb text, JSON null as SQL null. */
const json = (field: string) => `NULLIF(e.data->'${field}', 'null'::jsonb)::text`;
const NULL = 'NULL';
const CREATIONS = ['MatchCreated', 'MatchRequested'] as const;
const ofCreation = (value: string) => ({ MatchCreated: value, MatchRequested: value });
const ENDINGS = ['MatchRequestDeclined', 'MatchRequestExpired', 'MatchRequestWithdrawn', 'MatchDiscarded'] as const;

/** The status each event leaves the match in (MatchRequestApproved leaves it as it is). */
const STATUS: Record<Exclude<MatchType, 'MatchRequestApproved'>, string> = {
  MatchCreated: 'STAGED',
  MatchRequested: 'REQUESTED',
  MatchRequestDeclined: 'DECLINED',
  MatchRequestExpired: 'EXPIRED',
  MatchRequestWithdrawn: 'WITHDRAWN',
  MatchDiscarded: 'DISCARDED',
  MatchActivated: 'ACTIVE',
  MatchCompleted: 'COMPLETED',
  MatchClosed: 'CLOSED',
  MatchReopened: 'ACTIVE',
};
/** Every match event type: the events a match's row is made of. */
const MATCH_TYPES = [...Object.keys(STATUS), 'MatchRequestApproved'];

/** Each column, its SQL type, and the events that write it with the value they write. */
const COLUMNS: readonly { readonly name: string; readonly type: string; readonly writers: Partial<Record<MatchType, string>> }[] = [
  { name: 'program_id', type: 'text', writers: ofCreation(data('programId')) },
  { name: 'mentor_user_id', type: 'text', writers: ofCreation(data('mentorUserId')) },
  // A mentor with capacity for several mentees goes live through a new persona.
  { name: 'mentor_persona_id', type: 'text', writers: { ...ofCreation(data('mentorPersonaId')), MatchActivated: data('mentorPersonaId') } },
  { name: 'mentee_user_id', type: 'text', writers: ofCreation(data('menteeUserId')) },
  { name: 'mentee_persona_id', type: 'text', writers: { ...ofCreation(data('menteePersonaId')), MatchActivated: data('menteePersonaId') } },
  { name: 'status', type: 'text', writers: Object.fromEntries(Object.entries(STATUS).map(([type, status]) => [type, `'${status}'`])) },
  { name: 'closure_reason', type: 'text', writers: { MatchClosed: data('closureReason'), MatchReopened: NULL } },
  { name: 'mentor_rematch_intent', type: 'text', writers: { MatchClosed: data('mentorRematchIntent'), MatchReopened: NULL } },
  { name: 'mentee_rematch_intent', type: 'text', writers: { MatchClosed: data('menteeRematchIntent'), MatchReopened: NULL } },
  { name: 'created_at', type: 'timestamptz', writers: ofCreation(AT) },
  { name: 'closed_at', type: 'timestamptz', writers: { MatchClosed: AT, MatchReopened: NULL } },
  { name: 'explanation', type: 'jsonb', writers: { MatchCreated: json('explanation') } },
  { name: 'run_id', type: 'text', writers: { MatchCreated: data('runId') } },
  { name: 'criteria_version', type: 'integer', writers: { MatchCreated: data('criteriaVersion') } },
  { name: 'source', type: 'text', writers: { MatchCreated: `COALESCE(${data('source')}, 'ADMIN')`, MatchRequested: `'REQUEST'` } },
  { name: 'score', type: 'double precision', writers: { MatchCreated: data('score') } },
  { name: 'requested_by', type: 'text', writers: { MatchRequested: data('requestedBy') } },
  { name: 'required_approvals', type: 'jsonb', writers: { MatchRequested: json('requiredApprovals') } },
  { name: 'pending_approvals', type: 'jsonb', writers: { MatchRequested: json('pendingApprovals'), MatchRequestApproved: json('pendingApprovals') } },
  { name: 'request_message', type: 'text', writers: { MatchRequested: data('message') } },
  { name: 'expires_at', type: 'timestamptz', writers: { MatchRequested: data('expiresAt') } },
  { name: 'declined_by', type: 'text', writers: { MatchRequestDeclined: data('party') } },
  { name: 'decline_message', type: 'text', writers: { MatchRequestDeclined: data('message') } },
  { name: 'end_reason', type: 'text', writers: { MatchRequestWithdrawn: data('reason'), MatchDiscarded: data('reason') } },
  { name: 'other_match_id', type: 'text', writers: { MatchRequestWithdrawn: data('otherMatchId'), MatchDiscarded: data('otherMatchId') } },
  { name: 'activated_at', type: 'timestamptz', writers: { MatchActivated: AT } },
  { name: 'ends_at', type: 'timestamptz', writers: { MatchActivated: data('endsAt'), MatchCompleted: data('endsAt') } },
  { name: 'completed_at', type: 'timestamptz', writers: { MatchCompleted: AT, MatchReopened: NULL } },
  { name: 'ended_at', type: 'timestamptz', writers: Object.fromEntries(ENDINGS.map((type) => [type, AT])) },
];


/**
 * Events a match's stream holds at most one of from each group: it opens with a creation or a
 * request (its revision 0), and an ending is the last event it has. A column only they write needs
 * no 'latest': the one writer there is gives its value (a plain max over the one non-null value,
 * much cheaper than ordering every event by revision).
 */
const AT_MOST_ONE_OF: readonly (readonly MatchType[])[] = [CREATIONS, ENDINGS];
const columnValue = (writers: Partial<Record<MatchType, string>>): string => {
  const types = Object.keys(writers) as MatchType[];
  if (!AT_MOST_ONE_OF.some((group) => types.every((type) => group.includes(type)))) return latestWritten(writers as Record<string, string>);
  return `max(CASE e.event_type ${types.map((type) => `WHEN '${type}' THEN ${writers[type]}`).join(' ')} END) FILTER (WHERE e.event_type IN ${inList(types)})`;
};

const matchesSelect = (upTo: GlobalPosition) => /* sql */ `
SELECT match_id, ${COLUMNS.map((c) => `${c.name}::${c.type}`).join(', ')},
       ${STAMP_COLUMNS}
  FROM (
    SELECT e.data->>'matchId' AS match_id,
           ${COLUMNS.map((c) => `${columnValue(c.writers)} AS ${c.name}`).join(',\n           ')},
           -- Every event of a match changes its row: its time and position are the latest event's.
           ${LATEST_STAMP} AS stamp,
           bool_or(e.event_type IN ${inList(CREATIONS)}) AS made
      FROM ${FEW_EVENTS} e
     WHERE e.event_type IN ${inList(MATCH_TYPES)} AND ${upToCondition(upTo)}
     GROUP BY e.data->>'matchId'
  ) m
 WHERE made`;

export const matchesInDatabase = (upTo: GlobalPosition): InDatabaseReplay => ({
  loads: [
    {
      table: 'rm_matches',
      columns: ['match_id', ...COLUMNS.map((c) => c.name), 'updated_at', 'last_position_major', 'last_position_minor'],
      select: matchesSelect(upTo),
      weight: 13,
      readsFewEvents: true,
    },
  ],
  // A tenth of a log, read by this load and two of the user history's: copied in the replay's one pass.
  fewTypes: MATCH_TYPES,
});
