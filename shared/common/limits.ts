/**
 * Every limit in Wiretrace, with its default. Each one is an option (per connection
 * `spec.limits`, or engine-wide) and fails with a stable error code when hit; the table in
 * docs/limits.md lists them all.
 */
export interface Limits {
  /** Largest WebSocket message accepted (ws maxPayload). WT_WS_MAX_PAYLOAD. */
  maxMessageBytes: number
  /** Bytes of one payload stored in the recording; the rest is cut and marked `truncated`. */
  maxRecordedPayload: number
  /** Largest response head (status line + headers) accepted. WT_HTTP_HEADERS_TOO_LARGE. */
  maxHeaderBytes: number
  /** Longest SSE line without a line end. WT_SSE_LINE_TOO_LONG. */
  maxSseLineBytes: number
  /** Largest SSE event data. WT_SSE_EVENT_TOO_LARGE. */
  maxSseEventBytes: number
  /** Body bytes kept per long-poll cycle in the recording. */
  maxPollBodyBytes: number
  /** Preview bytes of an error body (proxy 407 page, non-101 response). */
  maxBodyPreviewBytes: number
  /** Time allowed for DNS + TCP + proxy + TLS + handshake. WT_CONNECT_TIMEOUT. */
  connectTimeoutMs: number
  /** Frames the wire inspector may hold ahead of ws's parser. WT_LIMIT_INSPECTOR_BACKLOG. */
  maxInspectorBacklog: number
  /** Events the live view keeps per connection (older ones are read back from the recording). */
  liveRingSize: number
  /** Bytes queued before the recording writer's worker is woken (in-thread fallback: its write buffer). */
  recorderFlushBytes: number
  /** Shared ring between the engine and the recording writer's worker; when full, the engine waits (never drops). Set by the first writer of a process. */
  recorderRingBytes: number
  /** Events per batch sent to a UI. */
  maxBatchEvents: number
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 100 * 1024 * 1024,
  maxRecordedPayload: 16 * 1024 * 1024,
  maxHeaderBytes: 64 * 1024,
  maxSseLineBytes: 8 * 1024 * 1024,
  maxSseEventBytes: 16 * 1024 * 1024,
  maxPollBodyBytes: 1024 * 1024,
  maxBodyPreviewBytes: 4096,
  connectTimeoutMs: 15_000,
  maxInspectorBacklog: 65_536,
  liveRingSize: 10_000,
  recorderFlushBytes: 256 * 1024,
  recorderRingBytes: 8 * 1024 * 1024,
  maxBatchEvents: 1000,
})

export function resolveLimits(...layers: Array<Partial<Limits> | undefined>): Limits {
  const out: Limits = { ...DEFAULT_LIMITS }
  for (const layer of layers) {
    if (!layer) continue
    for (const key of Object.keys(DEFAULT_LIMITS) as Array<keyof Limits>) {
      const v = layer[key]
      if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[key] = v
    }
  }
  return out
}
