import { Arg, Authorized, Ctx, Field, ID, InputType, ObjectType, Query, Resolver } from 'type-graphql';
import { Length } from '../validators';
import { DateTime } from 'luxon';
import { DEFAULT_TEMPLATES, NOTIFICATION_KINDS, TEMPLATE_PLACEHOLDERS, type NotificationKind } from '../../domain/notification/templates';
import { DomainError } from '../../domain/shared/decider';
import { engagementDatesSummary, humanDateTime, renderNotification, type ProgramTemplates } from '../../notifications/rendering';
import type { LifecycleServices } from '../lifecycle';
import type { GraphQLContext } from '../context';
import { NOTIFICATION_KIND_ENUM } from '../matching/matching.enums';
import { consistentRead } from '../lifecycle/support';

type Context = GraphQLContext<LifecycleServices>;

@InputType('PreviewValueInput', { description: 'A sample value for one placeholder of the template ({{name}}).' })
export class PreviewValueInput {
  @Field()
  @Length(1, 60)
  name!: string;

  @Field()
  @Length(0, 2000)
  value!: string;
}

@ObjectType('PreviewValue')
export class PreviewValueType {
  @Field()
  name!: string;

  @Field()
  value!: string;

  @Field({ description: 'True when the caller gave this value; false for the built-in sample.' })
  given!: boolean;
}

@ObjectType('NotificationPreview', { description: 'An e-mail as the program would send it, filled with sample values. Nothing is sent or recorded.' })
export class NotificationPreviewType {
  @Field(() => NOTIFICATION_KIND_ENUM)
  kind!: NotificationKind;

  @Field(() => ID)
  programId!: string;

  @Field()
  subject!: string;

  @Field()
  body!: string;

  @Field({ description: 'False when the program uses the default template for this kind.' })
  custom!: boolean;

  @Field(() => [PreviewValueType], { description: 'Every placeholder of the kind and the value it was rendered with.' })
  values!: PreviewValueType[];
}

/** Sample values, in the program's time zone where they are dates; `programName` comes from the program itself. */
const sampleValues = (kind: NotificationKind, now: Date, timeZone: string): Record<string, string> => {
  const inDays = (days: number) => humanDateTime(new Date(now.getTime() + days * 86_400_000).toISOString(), timeZone);
  const local = DateTime.fromJSDate(now).setZone(timeZone);
  const today = (local.isValid ? local : DateTime.fromJSDate(now).toUTC()).startOf('day');
  const samples: Record<string, string> = {
    recipientName: 'Alex Example',
    requesterName: 'Sam Sample',
    declinerName: 'Robin Reviewer',
    mentorName: 'Morgan Mentor',
    menteeName: 'Jamie Mentee',
    mentorEmail: 'morgan.mentor@example.org',
    menteeEmail: 'jamie.mentee@example.org',
    message: 'I would love to learn from your experience.',
    expiresAt: inDays(3),
    endsAt: inDays(182),
    mentorCount: '3',
    period: kind === 'REGISTRATION_PROGRESS_REMINDER' ? `${today.year}-Q${today.quarter}` : today.toFormat('yyyy-MM'),
    engagementDates: engagementDatesSummary([
      { start: today.minus({ months: 2 }).toISODate()!, end: today.minus({ months: 1 }).toISODate()! },
      { start: today.toISODate()!, end: null },
    ]),
    addDatesLink: 'https://mentoring.example/links/(a signed one-click link to add dates)',
    missionEndedLink: 'https://mentoring.example/links/(a signed one-click link to say the mission has ended)',
    reviewLink: 'https://mentoring.example/(the admin console)',
  };
  return samples;
};

@Resolver()
export class NotificationPreviewResolver {
  @Authorized('admin', 'coordinator')
  @Query(() => NotificationPreviewType, {
    description:
      'Render one of the program\'s e-mails (its own template, or the default) with sample values: the ones given in `sample`, built-in ones for the rest. ' +
      'Nothing is sent and nothing is recorded. For an initiative\'s reminders, pass the initiative id as programId.',
  })
  async previewNotification(
    @Arg('kind', () => NOTIFICATION_KIND_ENUM) kind: NotificationKind,
    @Arg('programId', () => ID) programId: string,
    @Ctx() context: Context,
    @Arg('sample', () => [PreviewValueInput], { nullable: true, description: 'Values for some placeholders; the others get samples.' })
    sample?: PreviewValueInput[] | null,
  ): Promise<NotificationPreviewType> {
    if (!NOTIFICATION_KINDS.includes(kind)) {
      throw new DomainError('VALIDATION_FAILED', `kind must be one of ${NOTIFICATION_KINDS.join(', ')}.`, { field: 'kind' });
    }
    await consistentRead(context);
    const allowed = TEMPLATE_PLACEHOLDERS[kind];
    const given = new Map<string, string>();
    for (const [index, entry] of (sample ?? []).entries()) {
      if (!allowed.includes(entry.name)) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `The ${kind} e-mail has no placeholder {{${entry.name.slice(0, 60)}}}; it uses ${allowed.map((name) => `{{${name}}}`).join(', ')}.`,
          { field: `sample.${index}.name` },
        );
      }
      if (given.has(entry.name)) {
        throw new DomainError('VALIDATION_FAILED', `The sample gives {{${entry.name}}} twice; give each placeholder once.`, { field: `sample.${index}.name` });
      }
      given.set(entry.name, entry.value);
    }
    const target = await this.programOrInitiative(context, programId, kind);
    const samples: Record<string, string> = { ...sampleValues(kind, context.now(), target.timeZone), programName: target.name };
    const values = allowed.map((name) => Object.assign(new PreviewValueType(), {
      name,
      value: given.get(name) ?? samples[name] ?? `(${name})`,
      given: given.has(name),
    }));
    const rendered = renderNotification(kind, target.templates, Object.fromEntries(values.map((v) => [v.name, v.value])));
    return Object.assign(new NotificationPreviewType(), {
      kind,
      programId,
      subject: rendered.subject,
      body: rendered.body,
      custom: target.templates[kind] !== undefined && target.templates[kind] !== DEFAULT_TEMPLATES[kind],
      values,
    });
  }

  private async programOrInitiative(
    context: Context,
    id: string,
    kind: NotificationKind,
  ): Promise<{ name: string; timeZone: string; templates: ProgramTemplates }> {
    const program = await context.services.readModel.program(id);
    if (program) return { name: program.name, timeZone: program.timeZone, templates: program.notificationTemplates };
    // Initiatives (seed 003) send their reminders with the default templates.
    const initiative = kind.startsWith('REGISTRATION_') ? await context.services.initiativeReadModel.initiative(id) : null;
    if (initiative) return { name: initiative.name, timeZone: initiative.timeZone, templates: {} };
    throw new DomainError('NOT_FOUND', `There is no program${kind.startsWith('REGISTRATION_') ? ' or initiative' : ''} ${id}.`, { field: 'programId' });
  }
}
