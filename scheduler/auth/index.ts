export { authConfigSchema, compileAuthPolicy } from './config.js';
export type { AuthConfig } from './config.js';
export { peerCertificateAuthenticator } from './peer-certificate.js';
export type { CallAuthenticator, CallCredentials } from './peer-certificate.js';
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
