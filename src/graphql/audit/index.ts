import { AuditResolver } from './audit.resolver';

export const auditResolvers = [AuditResolver] as const;

export type { AuditServices } from './services';
