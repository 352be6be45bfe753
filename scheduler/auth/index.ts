export { authConfigSchema, compileAuthPolicy } from './config.js';
export type { AuthConfig } from './config.js';
export {
  ANONYMOUS,
  PERMISSIONS,
  ROLES,
  ROLE_PERMISSIONS,
  authorize,
  authorizeJob,
  authorizeSubmit,
  permissionsOf,
  resolveRunAs,
  rolesOf,
  runAsAccounts,
  seesAllJobs,
} from './policy.js';
export type { AuthMethod, AuthPolicy, Decision, Identity, IdentityKind, JobVerb, Permission, Role, RoleBinding, RunAsDecision } from './policy.js';
export { Authenticator, MAX_TOKEN_BYTES, presentedCredential } from './authn.js';
export type { AuthCall, CallAuthenticator, ReloadReport } from './authn.js';
export { TokenVerifier, validIdentityName } from './tokens.js';
export type { TokenOptions } from './tokens.js';
export { normalizeSerial, parseRevokedSerials } from '../../shared/pki/index.js';
export { ServerTlsMaterial } from './server-tls.js';
export type { ServedCertificate } from './server-tls.js';
export { Auditor, actorOf, unverifiedActor } from './audit.js';
export type { AuditRecord } from './audit.js';
