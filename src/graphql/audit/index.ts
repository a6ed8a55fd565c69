import { AuditResolver } from './audit.resolver';
import { TamperEvidenceResolver } from './tamper.resolver';

export const auditResolvers = [AuditResolver, TamperEvidenceResolver] as const;

export type { AuditServices } from './services';
