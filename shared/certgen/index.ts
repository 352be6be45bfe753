export { createCa, issueCert, loadCa } from './issue.js';
export type { CertificateAuthority, CertSubject, IssuedCert, Validity } from './issue.js';
