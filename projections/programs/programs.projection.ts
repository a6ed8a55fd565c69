import { assertNever } from '../../src/domain/shared/decider';
import { DEFAULT_PROGRAM_SETTINGS, PROGRAM_EVENT_TYPES, type ProgramEvent, type ProgramSettings } from '../../src/domain';
import { eventByEvent, projection } from '../../src/projectionEngine/projection';
import { LAST_POSITION_COLUMNS, asDomainEvent, jsonParam, notYetApplied, positionParams } from '../shared/projectionSupport';

/**
 * One row per program: its settings, sites, closure reasons and notification templates as the
 * program stream left them. Settings are stored complete: a setting the event predates (events
 * written before it existed) is stored at its default, as the decider folds it.
 */
export const PROGRAMS_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS rm_programs (
  program_id text PRIMARY KEY,
  name text NOT NULL,
  time_zone text NOT NULL,
  settings jsonb NOT NULL,
  partner_sites jsonb NOT NULL,
  mentor_site_lists jsonb NOT NULL,
  closure_reasons jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,${LAST_POSITION_COLUMNS}
);
CREATE INDEX IF NOT EXISTS rm_programs_by_name ON rm_programs (name, program_id);
ALTER TABLE rm_programs ADD COLUMN IF NOT EXISTS notification_templates jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE rm_programs ADD COLUMN IF NOT EXISTS auto_matching jsonb NOT NULL DEFAULT '{"version":0,"criteria":[],"objective":"MAX_SCORE"}'::jsonb;
ALTER TABLE rm_programs ADD COLUMN IF NOT EXISTS banned_pairs jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE rm_programs ADD COLUMN IF NOT EXISTS last_auto_matching_run jsonb;
`;

/** Settings as the decider folds them: defaults under what the event recorded. */
export const completeSettings = (settings: Partial<ProgramSettings>): ProgramSettings => ({ ...DEFAULT_PROGRAM_SETTINGS, ...settings });


/** `$1` program id, `$2` occurredAt, `$3`/`$4` position; `set` may use `$5`. */
const UPDATE = (set: string) => /* sql */ `
  UPDATE rm_programs
     SET ${set}, updated_at = $2::timestamptz, last_position_major = $3::numeric, last_position_minor = $4::numeric
   WHERE program_id = $1 AND ${notYetApplied('rm_programs', 3, 4)}`;

export const programsProjection = projection<ProgramEvent>({
  name: 'programs',
  handles: PROGRAM_EVENT_TYPES,
  schema: PROGRAMS_SCHEMA,
  tables: ['rm_programs'],
  applyBatch: eventByEvent<ProgramEvent>(async (tx, recorded) => {
    const event = asDomainEvent(recorded);
    const at = recorded.metadata.occurredAt;
    const [major, minor] = positionParams(recorded);
    const update = (set: string, ...extra: unknown[]) => tx.query(UPDATE(set), [event.data.programId, at, major, minor, ...extra]);
    switch (event.type) {
      case 'ProgramCreated': {
        const { programId, name, timeZone, settings, partnerSites, mentorSiteLists, closureReasons } = event.data;
        await tx.query(
          `INSERT INTO rm_programs (program_id, name, time_zone, settings, partner_sites, mentor_site_lists, closure_reasons,
                                    created_at, updated_at, last_position_major, last_position_minor)
           VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7::jsonb, $8::timestamptz, $8::timestamptz, $9::numeric, $10::numeric)
           ON CONFLICT (program_id) DO NOTHING`,
          [
            programId,
            name,
            timeZone,
            jsonParam(completeSettings(settings)),
            jsonParam(partnerSites),
            jsonParam(mentorSiteLists),
            jsonParam(closureReasons),
            at,
            major,
            minor,
          ],
        );
        return;
      }
      case 'ProgramSettingsChanged':
        await update('settings = $5::jsonb', jsonParam(completeSettings(event.data.to)));
        return;
      case 'ProgramTimeZoneChanged':
        await update('time_zone = $5::text', event.data.to);
        return;
      case 'NotificationTemplateSet': {
        const { kind, template } = event.data;
        if (template === null) await update('notification_templates = notification_templates - $5::text', kind);
        else await update('notification_templates = notification_templates || jsonb_build_object($5::text, $6::jsonb)', kind, jsonParam(template));
        return;
      }
      case 'MatchingCriteriaSet': {
        const { version, criteria, objective } = event.data;
        await update('auto_matching = $5::jsonb', jsonParam({ version, criteria, objective }));
        return;
      }
      case 'PairBanned':
        await update(
          'banned_pairs = banned_pairs || jsonb_build_array(jsonb_build_object($5::text, $6::text, $7::text, $8::text))',
          'mentorUserId',
          event.data.mentorUserId,
          'menteeUserId',
          event.data.menteeUserId,
        );
        return;
      case 'PairBanLifted':
        await update(
          `banned_pairs = COALESCE((SELECT jsonb_agg(p) FROM jsonb_array_elements(banned_pairs) p
                                     WHERE NOT (p ->> 'mentorUserId' = $5::text AND p ->> 'menteeUserId' = $6::text)), '[]'::jsonb)`,
          event.data.mentorUserId,
          event.data.menteeUserId,
        );
        return;
      case 'AutoMatchingRan':
        await update('last_auto_matching_run = $5::jsonb', jsonParam({ ...event.data, at: recorded.metadata.occurredAt }));
        return;
      case 'MatchingTurnedOn':
        await update(`settings = jsonb_set(settings, '{matchingEnabled}', 'true'::jsonb)`);
        return;
      case 'MatchingTurnedOff':
        await update(`settings = jsonb_set(settings, '{matchingEnabled}', 'false'::jsonb)`);
        return;
      case 'ClosureReasonAdded':
        await update('closure_reasons = closure_reasons || jsonb_build_array($5::text)', event.data.closureReason);
        return;
      case 'PartnerSiteAdded':
        await update('partner_sites = partner_sites || jsonb_build_array($5::jsonb)', jsonParam(event.data.partnerSite));
        return;
      case 'MentorSiteListAdded':
        await update('mentor_site_lists = mentor_site_lists || jsonb_build_array($5::jsonb)', jsonParam(event.data.mentorSiteList));
        return;
      default:
        assertNever(event);
    }
  }),
});
