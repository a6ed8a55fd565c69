import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ProgramCommand } from '../../domain';
import { attempt, toUserErrors } from '../errors';
import { AddClosureReasonInput, AddSiteInput, CreateProgramInput, ProgramInput, UpdateProgramSettingsInput } from './inputs';
import { DomainError } from '../../domain/shared/decider';
import { ProgramPayload, refused, succeeded } from './payloads';
import { ProgramType } from './program.type';
import type { Context } from './services';
import { commandContextFor, consistentRead } from './support';

@Resolver(() => ProgramType)
export class ProgramResolver {
  @Authorized()
  @Query(() => ProgramType, { nullable: true, description: 'One program.' })
  async program(@Arg('id', () => ID) id: string, @Ctx() context: Context) {
    await consistentRead(context);
    return context.services.readModel.program(id);
  }

  @Authorized()
  @Query(() => [ProgramType], { description: 'Every program, by name.' })
  async programs(@Ctx() context: Context) {
    await consistentRead(context);
    return context.services.readModel.programs();
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Create a program. Matching starts off; turn it on when the program is ready.' })
  async createProgram(@Arg('input') input: CreateProgramInput, @Ctx() context: Context): Promise<ProgramPayload> {
    const { reason: _reason, idempotencyKey: _key, settings, ...data } = input;
    const result = await attempt(() =>
      context.services.commands.createProgram(commandContextFor(context, input), {
        ...data,
        ...(settings ? { settings: { ...settings } } : {}),
      }),
    );
    return result.ok
      ? succeeded(new ProgramPayload(), result.value.outcome, { programId: result.value.programId })
      : refused(new ProgramPayload(), result.errors, { programId: null });
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Turn matching on: matches can go live.' })
  turnMatchingOn(@Arg('input') input: ProgramInput, @Ctx() context: Context) {
    return onProgram(context, input, { type: 'TurnMatchingOn', data: { programId: input.programId } });
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Turn matching off (pause): no match goes live until it is turned on again.' })
  turnMatchingOff(@Arg('input') input: ProgramInput, @Ctx() context: Context) {
    return onProgram(context, input, { type: 'TurnMatchingOff', data: { programId: input.programId } });
  }

  /**
   * Admins only: coordinators run initiatives (seed 003), not programs. Who changed what and why is
   * the event's metadata (eventLog filter streamId "program-<id>"); the reason is required so that
   * every change in that history says why.
   */
  @Authorized('admin')
  @Mutation(() => ProgramPayload, {
    description:
      'Change a program\'s settings (process, approvals, expiry, duration, capacity, time zone, holidays and closed days, health ' +
      'thresholds). One ProgramSettingsChanged (and ProgramTimeZoneChanged) event records who, why, and each setting\'s old and new value; ' +
      'nothing is recorded when nothing changes. Open requests keep the approvals and expiry they were made with; staged matches stay staged.',
  })
  updateProgramSettings(@Arg('input') input: UpdateProgramSettingsInput, @Ctx() context: Context) {
    const { programId, reason, idempotencyKey: _key, timeZone, ...settings } = input;
    const given = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
    if (!reason?.trim()) {
      return refusedNow(new DomainError('VALIDATION_FAILED', 'Say why the settings change (reason): it is recorded in the program\'s history.', { field: 'reason' }));
    }
    if (Object.keys(given).length === 0 && timeZone === undefined) {
      return refusedNow(new DomainError('VALIDATION_FAILED', 'Name at least one setting to change.', { field: 'input' }));
    }
    return onProgram(context, input, {
      type: 'ChangeProgramSettings',
      data: { programId, settings: given, ...(timeZone !== undefined ? { timeZone } : {}) },
    });
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Add a closure reason to the program\'s list.' })
  addClosureReason(@Arg('input') input: AddClosureReasonInput, @Ctx() context: Context) {
    return onProgram(context, input, { type: 'AddClosureReason', data: { programId: input.programId, closureReason: input.closureReason } });
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Add a partner site (e.g. a school).' })
  addPartnerSite(@Arg('input') input: AddSiteInput, @Ctx() context: Context) {
    return onProgram(context, input, { type: 'AddPartnerSite', data: { programId: input.programId, partnerSite: { ...input.site } } });
  }

  @Authorized('admin')
  @Mutation(() => ProgramPayload, { description: 'Add a mentor site list.' })
  addMentorSiteList(@Arg('input') input: AddSiteInput, @Ctx() context: Context) {
    return onProgram(context, input, { type: 'AddMentorSiteList', data: { programId: input.programId, mentorSiteList: { ...input.site } } });
  }
}

/** A refusal found before any command runs: the same payload as the domain's, nothing recorded. */
const refusedNow = async (error: DomainError): Promise<ProgramPayload> => refused(new ProgramPayload(), toUserErrors(error), { programId: null });

const onProgram = async (context: Context, input: ProgramInput, command: ProgramCommand): Promise<ProgramPayload> => {
  const result = await attempt(() => context.services.commands.onProgram(commandContextFor(context, input), command));
  return result.ok
    ? succeeded(new ProgramPayload(), result.value, { programId: command.data.programId })
    : refused(new ProgramPayload(), result.errors, { programId: null });
};

@Resolver(() => ProgramPayload)
export class ProgramPayloadResolver {
  @FieldResolver(() => ProgramType, { nullable: true, description: 'The program after the command (null when refused).' })
  async program(@Root() payload: ProgramPayload, @Ctx() context: Context) {
    if (!payload.programId) return null;
    await consistentRead(context, payload.position);
    return context.services.readModel.program(payload.programId);
  }
}
