import { AuditResolver } from './audit.resolver';
import { TamperEvidenceResolver } from './tamper.resolver';
import { ReadAuditResolver } from './readAudit.resolver';

export const auditResolvers = [AuditResolver, TamperEvidenceResolver, ReadAuditResolver] as const;

export type { AuditServices } from './services';
