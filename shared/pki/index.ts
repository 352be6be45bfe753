export { NODE_URI_PREFIX, certificateIdentity, nodeUri, subjectAltNames, subjectAttribute } from './identity.js';
export type { CertificateIdentity } from './identity.js';
export { normalizeSerial, parseRevokedSerials } from './serials.js';
