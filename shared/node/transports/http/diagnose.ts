/** Plain-words diagnoses for HTTP answers a streaming transport cannot use. */
import type { EventDraft, HeaderPairs } from '../../../common/events/index.ts'
import type { ConnectionSpec } from '../../../common/spec/index.ts'
import type { ErrorCode } from '../../../common/errors/index.ts'
import { diagnoseForwardedAnswer } from '../../../common/diagnose/index.ts'
import type { DialResult } from '../../engine/types.ts'
import { headerOf } from './exchange.ts'

export interface DiagnosisDraft {
  type: 'diagnosis'
  code: string
  severity: 'info' | 'warning' | 'error'
  title: string
  explanation: string
  suggestions: string[]
}

/** Why a status is not a stream, in words; `what` names the transport ("an event stream"). */
export function diagnoseStatus(code: string, status: number, statusText: string, headers: HeaderPairs, what: string, preview: string): DiagnosisDraft {
  const via = headerOf(headers, 'via')
  const server = headerOf(headers, 'server')
  const loc = headerOf(headers, 'location')
  const head = `${status}${statusText ? ` ${statusText}` : ''}`
  let explanation: string
  const suggestions: string[] = []
  if (status === 204) {
    explanation = 'A 204 No Content tells an SSE client to stop reconnecting (WHATWG HTML); the server does not want this client streaming.'
    suggestions.push('Check the server logic that decides to answer 204 (auth, feature flag, rate limit).')
  } else if (status >= 300 && status < 400) {
    explanation = `The server redirects${loc ? ` to ${loc}` : ''}. Wiretrace does not follow redirects for streams so the hop stays visible.`
    suggestions.push(loc ? `Use ${loc} as the URL.` : 'Use the final URL.')
  } else if (status === 401 || status === 403) {
    explanation = `The server refused the request (${head}): credentials are missing, expired or not allowed for this resource.`
    suggestions.push('Add the Authorization header or cookie the endpoint expects (-H "Authorization: Bearer ...").')
  } else if (status === 407) {
    explanation = 'A proxy asked for authentication (407) and the request went on without it.'
    suggestions.push('Give the proxy credentials in the proxy settings.')
  } else if (status === 404 || status === 405) {
    explanation = `The path or method is not served (${head}).`
    suggestions.push('Check the URL path; some streams need POST with a body (--method POST --body ...).')
  } else if (status === 502 || status === 503 || status === 504) {
    explanation = `${head} usually comes from a gateway or load balancer in front of the application${via ? ` (Via: ${via})` : server ? ` (Server: ${server})` : ''}: it could not reach, or gave up on, the upstream.`
    suggestions.push('Check the upstream is up, and the gateway\'s timeouts for long-lived responses.')
  } else if (status >= 500) {
    explanation = `The server failed (${head}).`
    suggestions.push('See the body preview and the server logs.')
  } else {
    explanation = `${what} needs 200 OK, the server answered ${head}.`
  }
  if (preview) suggestions.push(`The body starts with: ${JSON.stringify(preview.slice(0, 160))}`)
  return { type: 'diagnosis', code, severity: 'error', title: `${head} instead of ${what}`, explanation, suggestions }
}

export function diagnoseContentType(contentType: string | undefined, preview: string): DiagnosisDraft {
  const ct = contentType ?? ''
  const essence = ct.split(';')[0]!.trim().toLowerCase()
  let explanation: string
  const suggestions: string[] = []
  if (!ct) {
    explanation = 'The 200 response has no Content-Type; an SSE client must fail the connection (WHATWG HTML).'
    suggestions.push('Make the server send Content-Type: text/event-stream.')
  } else if (essence === 'text/html') {
    explanation = 'An HTML page came back instead of an event stream: often a login page, a captive portal, or a proxy\'s block or error page.'
    suggestions.push('Open the URL in a browser on the same network, or read the body preview.')
  } else if (essence === 'application/json' || essence.endsWith('+json')) {
    explanation = 'The endpoint answered JSON: it may stream only when asked (Accept: text/event-stream, a "stream": true body field), or it is not a stream.'
    suggestions.push('Try --body with the streaming flag the API documents, or the stream transport for NDJSON.')
  } else if (essence === 'application/x-ndjson' || essence === 'application/jsonl') {
    explanation = 'The server streams newline-delimited JSON, not Server-Sent Events.'
    suggestions.push('Use --transport stream --lines.')
  } else {
    explanation = `The Content-Type is ${ct}, not text/event-stream; an SSE client must fail the connection (WHATWG HTML).`
    suggestions.push('Make the server send Content-Type: text/event-stream, or use --transport stream to see the raw body.')
  }
  if (preview) suggestions.push(`The body starts with: ${JSON.stringify(preview.slice(0, 160))}`)
  return { type: 'diagnosis', code: 'WT_SSE_CONTENT_TYPE', severity: 'error', title: `Content-Type ${ct || '(none)'} instead of text/event-stream`, explanation, suggestions }
}

/**
 * Through a forwarding proxy (absolute-URI request, no CONNECT), an answer that is the proxy's
 * own: 407, or 502/503/504 with its Via or error header. The error code, message and diagnosis
 * are those of the same failure over CONNECT; null when the answer is the origin's (or no
 * forwarding proxy is in the path). Only called on non-2xx answers: never on a message path.
 */
export function forwardedProxyAnswer(
  conn: string,
  spec: ConnectionSpec,
  dialed: DialResult,
  status: number,
  statusText: string,
  pairs: HeaderPairs,
): { code: ErrorCode; message: string; diagnosis: Extract<EventDraft, { type: 'diagnosis' }> } | null {
  const fwd = dialed.forward
  if (!fwd || (status !== 407 && status !== 502 && status !== 503 && status !== 504)) return null
  const sentBasic = fwd.headers.some(([k]) => k.toLowerCase() === 'proxy-authorization')
  const net = spec.network
  const hasCredentials = sentBasic || !!(net && net.mode === 'manual' && net.proxy.auth)
  const d = diagnoseForwardedAnswer(conn, { status, statusText, headers: pairs }, { route: dialed.route, sentBasic, hasCredentials })
  if (!d) return null
  const head = `${status}${statusText ? ` ${statusText}` : ''}`
  const message = `${d.title.charAt(0).toLowerCase()}${d.title.slice(1)} (it answered the forwarded request itself with ${head})`
  return { code: d.code as ErrorCode, message, diagnosis: d }
}
