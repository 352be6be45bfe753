/**
 * Certificate serial numbers as the revoked lists (the scheduler's auth.revokedSerialsFile, the
 * agent's scheduler.tls.revokedSerialsFile) and the TLS layer write
 * them. Pure: text in, a set out.
 *
 * One normal form for both sides of the comparison: hex digits only (colons and blanks dropped, as
 * `openssl x509 -serial` and browsers print them), upper case, leading zeros dropped (a DER
 * integer may carry a 00 byte to stay positive; node:crypto's serialNumber keeps it, openssl's
 * listing may not).
 */

const HEX = /^[0-9A-F]+$/;

/** The normal form of a serial, or undefined when it is no hex number. */
export function normalizeSerial(text: string): string | undefined {
  const s = text.replace(/[:\s]/g, '').toUpperCase();
  if (!HEX.test(s)) return undefined;
  return s.replace(/^0+(?=.)/, '');
}

/**
 * A revoked list: one serial a line, `#` starts a comment, blank lines are skipped. A line that is
 * no hex serial is reported (with its line number) and skipped, so one typo does not revoke
 * nothing or everything.
 */
export function parseRevokedSerials(text: string): { serials: Set<string>; errors: string[] } {
  const serials = new Set<string>();
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const s = normalizeSerial(line);
    if (s === undefined) errors.push(`line ${i + 1}: ${JSON.stringify(line.slice(0, 80))} is not a hex serial`);
    else serials.add(s);
  });
  return { serials, errors };
}
