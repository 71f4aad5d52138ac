/**
 * A readable banner for a failure the engine has not (yet) diagnosed: the error's own
 * message, the code's meaning from the shared error table, and what to try next.
 */
import { ERRORS, isErrorCode } from '../../../shared/common/errors/index.ts'
import type { ErrorEvent } from '../../../shared/common/events/index.ts'
import type { ConnectionSummary } from '../../../shared/common/live.ts'

const TRY: Record<string, string[]> = {
  WT_TCP_REFUSED: ['Check the port in the URL.', 'Make sure the server is running and listening on that address (127.0.0.1 vs ::1 vs 0.0.0.0).', 'If a proxy is required on this network, pick a network profile next to the URL.'],
  WT_DNS_FAILED: ['Check the host name for typos.', 'On a corporate network the name may only resolve through the proxy: try a proxy profile (socks5h resolves remotely).'],
  WT_CONNECT_TIMEOUT: ['A firewall may be dropping packets: try the system or a manual proxy.', 'Raise connectTimeoutMs if the path is just slow.'],
  WT_TCP_UNREACHABLE: ['Check the network connection and VPN.', 'Try through a proxy.'],
  WT_CONNECTION_RESET: ['An intermediary may be cutting the connection: compare direct and proxied paths.'],
  WT_TLS_UNTRUSTED: ['If a corporate proxy intercepts TLS, add its CA certificate in Options (Extra CA).', 'For a local test server, "Accept any TLS certificate" skips verification (recorded as a warning).'],
  WT_TLS_HOSTNAME: ['Use the host name the certificate was issued for, or set the TLS server name.'],
  WT_HANDSHAKE_STATUS: ['Open the Establishment tab to read the response the server sent instead of 101.', 'Check the path, authentication headers and Origin.'],
  WT_UPGRADE_STRIPPED: ['An intermediary removed the Upgrade header: use wss:// so the proxy cannot read the request, or a CONNECT proxy.'],
  WT_PROXY_AUTH_REQUIRED: ['Add the proxy credentials in the proxy URL (http://user:pass@proxy:port).'],
  WT_PROXY_CONNECT_REFUSED: ['The proxy refuses CONNECT to this port: ask for the port to be allowed, or use 443.'],
  WT_WS_ABNORMAL_CLOSE: ['Turn on the heartbeat (Options) to keep idle paths alive and detect half-open connections.'],
  WT_HTTP_STATUS: ['Open the Establishment tab to read the response headers and body preview.'],
  WT_SSE_CONTENT_TYPE: ['The endpoint does not serve text/event-stream: check the URL, or open it as a Stream.'],
}

export type Banner = NonNullable<ConnectionSummary['diagnosis']>

export function errorBanner(err: ErrorEvent): Banner {
  const info = isErrorCode(err.code) ? ERRORS[err.code] : null
  return {
    code: err.code,
    severity: err.fatal ? 'error' : 'warning',
    title: err.message,
    explanation: info ? info.summary : `Error ${err.code} during ${err.phase}.`,
    suggestions: TRY[err.code] ?? [],
  }
}
