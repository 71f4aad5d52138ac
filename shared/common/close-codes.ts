/** WebSocket close codes in words (RFC 6455 §7.4 and the IANA registry). */
const MEANINGS: Record<number, string> = {
  1000: 'Normal closure',
  1001: 'Going away (server shutting down or page navigating away)',
  1002: 'Protocol error',
  1003: 'Unsupported data (e.g. binary where only text is accepted)',
  1004: 'Reserved',
  1005: 'No status code in the close frame',
  1006: 'Abnormal closure: the connection dropped without a close frame',
  1007: 'Invalid payload data (e.g. invalid UTF-8 in a text message)',
  1008: 'Policy violation',
  1009: 'Message too big',
  1010: 'Mandatory extension missing (the client wanted an extension the server did not negotiate)',
  1011: 'Internal server error',
  1012: 'Service restart',
  1013: 'Try again later',
  1014: 'Bad gateway (an intermediary got an invalid response upstream)',
  1015: 'TLS handshake failure',
}

export function closeCodeMeaning(code: number): string {
  const known = MEANINGS[code]
  if (known) return known
  if (code >= 4000 && code <= 4999) return 'Private use (application-defined code)'
  if (code >= 3000 && code <= 3999) return 'Registered for libraries and frameworks'
  if (code >= 1016 && code <= 2999) return 'Reserved for future WebSocket extensions'
  return 'Not a valid close code'
}

/** Codes a client may put in a close frame. */
export function isSendableCloseCode(code: number): boolean {
  return code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006)
}
