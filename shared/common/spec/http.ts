/** Transport options for SSE, long-poll, HTTP/2 and raw streams. */
export interface SseOptions {
  /** Reconnect on network error or end of stream (default true, as EventSource). */
  reconnect?: boolean
  /** Our reconnection time when the server sets none, ms (default 3000). */
  retryMs?: number
  /** Exponential backoff with jitter on top of the retry time. */
  backoff?: boolean
  /** Warn when no byte arrives within N ms (0 = off). */
  expectHeartbeatMs?: number
  /** Sent as Last-Event-ID on the first request. */
  lastEventId?: string
}

export interface PollOptions {
  /** Where the next cursor comes from: a JSON path into the body ("$.cursor", "data.next") or a response header. */
  cursorFrom?: { json?: string; header?: string }
  /** Where the cursor goes: a query parameter or a request header. */
  cursorTo?: { query?: string; header?: string }
  initialCursor?: string
  /** Client timeout per request, ms (default 60000). */
  timeoutMs?: number
  /** Delay between polls, ms (default 0). */
  delayMs?: number
  /** Stop after N cycles (0 = unlimited). */
  maxCycles?: number
  /** Backoff with full jitter after failed cycles (default true); bounds from spec.reconnect. false: retry after reconnect.initialDelayMs every time. */
  backoff?: boolean
  /** Give up after N failed cycles in a row (default 10; 0 = never). */
  maxConsecutiveErrors?: number
  /** Independent poll loops on this connection, each with its own cursor (default 1). */
  concurrency?: number
}

export interface H2Options {
  /** h2c with prior knowledge for http:// URLs. */
  priorKnowledge?: boolean
  /** Concurrent copies of the request. */
  concurrency?: number
  /** Extra paths requested on the same session. */
  paths?: string[]
  /** Local settings; the node defaults (64 KB windows) are a throughput trap. */
  initialWindowSize?: number
  sessionWindowSize?: number
  maxFrameSize?: number
  /** PING interval for RTT, ms (0 = off). */
  pingIntervalMs?: number
  /** Every wait has a timeout that says where it stuck, ms (default 10000). */
  timeoutMs?: number
}

export interface StreamOptions {
  /** Split the body into lines (NDJSON) and record each line. */
  lines?: boolean
  /** Longest line accepted when splitting, bytes (default limits.maxSseLineBytes). WT_STREAM_LINE_TOO_LONG. */
  maxLineBytes?: number
}
