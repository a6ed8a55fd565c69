import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import {
  CONFIRMING_PARTIES,
  MESSAGE_PARTIES,
  REGISTRATION_STATUSES,
  REMINDER_KINDS,
  type ConfirmingParty,
  type MessageParty,
  type RegistrationStatus,
  type ReminderKind,
} from '../../domain/initiative';
import { CommandPayload } from '../lifecycle/payloads';

const asEnum = <T extends string>(values: readonly T[]): { [K in T]: K } =>
  Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };

export const REGISTRATION_STATUS_ENUM = asEnum(REGISTRATION_STATUSES);
export const CONFIRMING_PARTY_ENUM = asEnum(CONFIRMING_PARTIES);
export const REMINDER_KIND_ENUM = asEnum(REMINDER_KINDS);
export const MESSAGE_PARTY_ENUM = asEnum(MESSAGE_PARTIES);

registerEnumType(REGISTRATION_STATUS_ENUM, {
  name: 'RegistrationStatus',
  description: 'Where a volunteer\'s registration to an initiative stands.',
  valuesConfig: {
    APPLICATION: { description: '"Application / Exchange": the volunteer talks with the coordinator and completes any tasks assigned.' },
    SEARCHING_MENTEE: { description: '"Search for a mentee": validated; the volunteer enters engagement dates once they found a mentee. Monthly reminder.' },
    AWAITING_MANAGER_VALIDATION: { description: '"Waiting for manager validation": only where the company requires it.' },
    IN_PROGRESS: { description: '"In progress": engaged; dates can be added or changed. Quarterly reminder.' },
    AWAITING_CONFIRMATION: { description: '"Awaiting confirmation (mission completed!)": the volunteer or the partner organization confirms.' },
    CONFIRMED: { description: 'The participation is confirmed: the mentoring journey is complete.' },
  },
});
registerEnumType(MESSAGE_PARTY_ENUM, {
  name: 'MessageParty',
  description: 'Who wrote a message of a registration\'s conversation: the volunteer, or the coordinator (a coordinator or admin).',
});
registerEnumType(CONFIRMING_PARTY_ENUM, { name: 'ConfirmingParty', description: 'Who confirmed a participation.' });
registerEnumType(REMINDER_KIND_ENUM, {
  name: 'RegistrationReminderKind',
  description: 'MONTHLY_SEARCH while searching for a mentee; QUARTERLY_PROGRESS while in progress.',
});

@ObjectType('Initiative', { description: 'A company\'s mentoring initiative: its employees volunteer and find their mentee themselves.' })
export class InitiativeType {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  company!: string;

  @Field({ description: 'IANA time zone; reminders count months and quarters in it.' })
  timeZone!: string;

  @Field({ description: 'Whether the volunteer\'s manager must approve the engagement dates.' })
  managerValidationRequired!: boolean;

  @Field({ description: 'ISO-8601.' })
  createdAt!: string;
}

@ObjectType('EngagementPeriod', { description: 'A stretch of engagement, in days of the initiative\'s calendar.' })
export class EngagementPeriodType {
  @Field({ description: 'YYYY-MM-DD.' })
  start!: string;

  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD; null while it goes on.' })
  end!: string | null;
}

@ObjectType('RegistrationTask', { description: 'A task the coordinator gave the volunteer during the application.' })
export class RegistrationTaskType {
  @Field(() => ID)
  taskId!: string;

  @Field()
  title!: string;

  @Field({ description: 'ISO-8601.' })
  assignedAt!: string;

  @Field(() => String, { nullable: true, description: 'ISO-8601; null while open.' })
  completedAt!: string | null;
}

@ObjectType('RegistrationReminder', { description: 'A reminder e-mail the volunteer was sent.' })
export class RegistrationReminderType {
  @Field(() => REMINDER_KIND_ENUM)
  kind!: ReminderKind;

  @Field({ description: 'The month (2026-11) or quarter (2026-Q4), in the initiative\'s time zone.' })
  period!: string;

  @Field({ description: 'ISO-8601.' })
  sentAt!: string;
}

@ObjectType('RegistrationMessage', {
  description:
    'One message of the conversation between a volunteer and the coordinator on a registration (seed 003: "initiate a conversation with ' +
    'the coordinator"). Seen by the volunteer, coordinators and admins only.',
})
export class RegistrationMessageType {
  @Field(() => ID)
  messageId!: string;

  @Field(() => ID)
  registrationId!: string;

  @Field(() => MESSAGE_PARTY_ENUM)
  from!: MessageParty;

  @Field({ description: 'The sender\'s token subject: the volunteer\'s user id, or the coordinator\'s.' })
  senderId!: string;

  @Field(() => String, { nullable: true, description: 'The text; null once the volunteer\'s personal data was erased.' })
  message!: string | null;

  @Field({ description: 'Whether the text was erased with the volunteer\'s personal data.' })
  erased!: boolean;

  @Field({ description: 'ISO-8601.' })
  sentAt!: string;

  /** The volunteer whose conversation it is, for the access policy. */
  userId!: string;
}

@ObjectType('Registration', { description: 'A volunteer\'s registration to an initiative.' })
export class RegistrationType {
  @Field(() => ID)
  registrationId!: string;

  @Field(() => ID)
  initiativeId!: string;

  @Field(() => ID, { description: 'The volunteer\'s user id.' })
  userId!: string;

  @Field()
  volunteerName!: string;

  @Field()
  volunteerEmail!: string;

  @Field(() => String, { nullable: true })
  managerName!: string | null;

  @Field(() => String, { nullable: true })
  managerEmail!: string | null;

  @Field(() => REGISTRATION_STATUS_ENUM)
  status!: RegistrationStatus;

  @Field({ description: 'ISO-8601.' })
  registeredAt!: string;

  @Field(() => String, { nullable: true, description: 'When the coordinator validated the application (ISO-8601).' })
  validatedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'When the engagement dates were last entered (ISO-8601).' })
  datesSetAt!: string | null;

  @Field(() => String, { nullable: true, description: 'When the manager approved the dates (ISO-8601).' })
  datesApprovedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'The manager\'s message when they sent the dates back.' })
  rejectionMessage!: string | null;

  @Field(() => String, { nullable: true, description: 'When the volunteer marked the mission completed (ISO-8601).' })
  completedAt!: string | null;

  @Field(() => CONFIRMING_PARTY_ENUM, { nullable: true })
  confirmedBy!: ConfirmingParty | null;

  @Field(() => String, { nullable: true, description: 'ISO-8601.' })
  confirmedAt!: string | null;

  @Field(() => [EngagementPeriodType], { description: 'As last entered, by start date (kept when the manager sent them back).' })
  engagementPeriods!: EngagementPeriodType[];

  @Field(() => [RegistrationTaskType])
  tasks!: RegistrationTaskType[];

  @Field(() => [RegistrationReminderType])
  reminders!: RegistrationReminderType[];
}

@ObjectType('InitiativePayload', { implements: CommandPayload })
export class InitiativePayload extends CommandPayload {
  @Field(() => ID, { nullable: true, description: 'The initiative the command was about (null when a new one was refused).' })
  initiativeId!: string | null;
}

@ObjectType('RegistrationPayload', { implements: CommandPayload })
export class RegistrationPayload extends CommandPayload {
  @Field(() => ID, { nullable: true, description: 'The registration the command was about.' })
  registrationId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The task assigned (assignRegistrationTask).' })
  taskId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The message sent (sendRegistrationMessage).' })
  messageId!: string | null;
}
