export { createCa, issueCert, loadCa } from './issue.js';
export type { CertificateAuthority, CertSubject, IssuedCert, Validity } from './issue.js';
export { NODE_URI_PREFIX, certificateIdentity, nodeUri, subjectAltNames, subjectAttribute } from './identity.js';
export type { CertificateIdentity } from './identity.js';
