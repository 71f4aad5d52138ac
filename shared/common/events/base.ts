/**
 * The event model. Every event the engine reports is a flat JSON object with
 * `seq` (strictly increasing within a recording), `ts` (wall-clock ms since the
 * epoch, sub-millisecond precision from a monotonic clock), `conn` (connection id)
 * and `type`. This file and its siblings use no Node and no DOM API.
 */
export interface EventBase {
  seq: number
  ts: number
  conn: string
  type: string
}

/** Header name/value pairs exactly as sent or received: order, case and duplicates kept. */
export type HeaderPairs = Array<[string, string]>

/** Direction relative to us, the client. */
export type Dir = 'in' | 'out'

/** A payload: text when it is valid UTF-8 text on the wire, otherwise base64 of the exact bytes. */
export interface Payload {
  /** Byte length of the payload as delivered (after inflate, if any). */
  size: number
  text?: string
  base64?: string
  /** Set when the recording kept only the first `limits.maxRecordedPayload` bytes. */
  truncated?: boolean
  /** Set by export redaction when a rule changed the payload (`size` stays the recorded size). */
  redacted?: boolean
}

export interface CertInfo {
  subject: string
  issuer: string
  validFrom: string
  validTo: string
  fingerprint256: string
  serialNumber?: string
  subjectAltName?: string
  selfSigned?: boolean
}

/** Distributes `Omit` over a union so each member keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
