/** JetStream's answer to a publish whose expected last (subject) sequence did not match: API error 10071. */
export const WRONG_LAST_SEQUENCE = 10071;

/** Whether `e` is that answer (a compare-and-set that lost), as opposed to no answer or another failure. */
export function isWrongLastSequence(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string } | undefined;
  return err?.api_error?.err_code === WRONG_LAST_SEQUENCE || /wrong last sequence/.test(String(err?.message ?? ''));
}

/** JetStream's answer to a get of a sequence the stream no longer (or never) held: API error 10037. */
export const NO_MESSAGE_FOUND = 10037;

export function isNoMessage(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string } | undefined;
  return err?.api_error?.err_code === NO_MESSAGE_FOUND || /no message found/.test(String(err?.message ?? ''));
}
