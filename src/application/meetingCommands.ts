import { madeId, type CommandContext, type CommandDefinition, type CommandOutcome, type CommandPipeline, type StreamSpec } from '../commands/pipeline';
import { matchDecider, type MatchEvent, type MatchState } from '../domain/match/match';
import {
  decideRescheduleMeeting,
  decideScheduleMeeting,
  meetingDecider,
  requireMeeting,
  type MeetingCommand,
  type MeetingEvent,
  type MeetingState,
  type RescheduleMeeting,
  type ScheduleMeeting,
} from '../domain/meeting/meeting';
import { matchStream, meetingStream } from '../domain/streams';
import { fold } from '../domain/shared/decider';
import type { EventStore } from '../eventstore/eventStore';

/**
 * The meeting commands as the pipeline runs them (the streams each reads, the pure decision), and
 * `MeetingCommands`, which the API calls: it makes meeting ids and passes the request's clock.
 */

type MeetingOnlyStreams = { meeting: StreamSpec<MeetingState, MeetingEvent> };
type MeetingAndMatchStreams = MeetingOnlyStreams & { match: StreamSpec<MatchState, MatchEvent> };

const meetingSpec = (meetingId: string) => ({ streamId: meetingStream(meetingId), decider: meetingDecider });
const matchSpec = (matchId: string) => ({ streamId: matchStream(matchId), decider: matchDecider });

/**
 * Reads the meeting and its match, writes the meeting. The match is only read, but a match closed
 * or completed between the read and the append must stop the meeting: `checks` makes that a
 * conflict, and the command is decided again on the fresh match.
 */
export const scheduleMeeting = (data: ScheduleMeeting['data']): CommandDefinition<MeetingAndMatchStreams> => ({
  name: 'ScheduleMeeting',
  streams: { meeting: meetingSpec(data.meetingId), match: matchSpec(data.matchId) },
  decide: ({ meeting, match }) => ({ meeting: decideScheduleMeeting({ type: 'ScheduleMeeting', data }, { meeting: meeting.state, match: match.state }) }),
  checks: ['match'],
});

/** `matchId` from the meeting's own stream: a meeting never changes its match. */
export const rescheduleMeeting = (matchId: string, data: RescheduleMeeting['data']): CommandDefinition<MeetingAndMatchStreams> => ({
  name: 'RescheduleMeeting',
  streams: { meeting: meetingSpec(data.meetingId), match: matchSpec(matchId) },
  decide: ({ meeting, match }) => ({
    meeting: decideRescheduleMeeting({ type: 'RescheduleMeeting', data }, { meeting: meeting.state, match: match.state }),
  }),
  checks: ['match'],
});

/** Cancel, record, mark missed: the meeting stream alone (a closed match's meetings can still be settled). */
export const meetingCommand = (command: MeetingCommand): CommandDefinition<MeetingOnlyStreams> => ({
  name: command.type,
  streams: { meeting: meetingSpec(command.data.meetingId) },
  decide: ({ meeting }) => ({ meeting: meetingDecider.decide(command, meeting.state) }),
});

type Data<C extends { readonly data: object }> = C['data'];

export class MeetingCommands {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly store: EventStore,
    private readonly newId: () => string,
  ) {}

  async scheduleMeeting(context: CommandContext, data: Omit<Data<ScheduleMeeting>, 'meetingId' | 'now'>) {
    const meetingId = this.newId();
    const outcome = await this.pipeline.execute(context, scheduleMeeting({ ...data, meetingId, now: context.now }));
    return { meetingId: madeId(outcome, 'meetingId', meetingId), outcome };
  }

  async rescheduleMeeting(context: CommandContext, data: Omit<Data<RescheduleMeeting>, 'now'>): Promise<CommandOutcome> {
    const meeting = requireMeeting(await this.readMeeting(data.meetingId), data.meetingId);
    return this.pipeline.execute(context, rescheduleMeeting(meeting.matchId, { ...data, now: context.now }));
  }

  cancelMeeting(context: CommandContext, meetingId: string, reason: string | null = null): Promise<CommandOutcome> {
    return this.pipeline.execute(context, meetingCommand({ type: 'CancelMeeting', data: { meetingId, reason, now: context.now } }));
  }

  recordMeeting(context: CommandContext, meetingId: string, notes: string | null = null): Promise<CommandOutcome> {
    return this.pipeline.execute(context, meetingCommand({ type: 'RecordMeeting', data: { meetingId, notes, now: context.now } }));
  }

  markMeetingMissed(context: CommandContext, meetingId: string): Promise<CommandOutcome> {
    return this.pipeline.execute(context, meetingCommand({ type: 'MarkMeetingMissed', data: { meetingId, now: context.now } }));
  }

  /** The meeting as its stream has it now (for the caller to check who may act on it). */
  async readMeeting(meetingId: string): Promise<MeetingState> {
    return fold(meetingDecider, (await this.store.readStream(meetingStream(meetingId))).events as never[]);
  }
}
