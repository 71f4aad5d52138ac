import type { ErrorInfo } from './index.ts'

export const PROXY_ERRORS = {
  WT_PROXY_URL_INVALID: { summary: 'The proxy URL cannot be parsed or has an unsupported scheme.', exit: 2 },
  WT_PROXY_UNREACHABLE: { summary: 'The proxy itself could not be reached (DNS, refused, timeout).', exit: 4 },
  WT_PROXY_AUTH_REQUIRED: { summary: 'The proxy answered 407 and no usable credentials were configured.', exit: 4 },
  WT_PROXY_AUTH_REJECTED: { summary: 'The proxy rejected the credentials.', exit: 4 },
  WT_PROXY_AUTH_UNSUPPORTED: { summary: 'The proxy offers only authentication schemes we cannot do (e.g. Negotiate/Kerberos).', exit: 4 },
  WT_PROXY_CONNECT_REFUSED: { summary: 'The proxy refused the CONNECT (403, typically a port policy).', exit: 4 },
  WT_PROXY_ORIGIN_UNREACHABLE: { summary: 'The proxy could not reach the origin (502, 503, 504).', exit: 4 },
  WT_PROXY_BAD_RESPONSE: { summary: 'The proxy answered with something that is not HTTP.', exit: 4 },
  WT_PROXY_CLOSED: { summary: 'The proxy closed the connection during the exchange.', exit: 4 },
  WT_SOCKS_FAILED: { summary: 'The SOCKS proxy refused the request; the reply code is named in words.', exit: 4 },
  WT_SOCKS_AUTH: { summary: 'SOCKS authentication failed or no acceptable method.', exit: 4 },
  WT_PAC_ERROR: { summary: 'The PAC file failed to load, threw, timed out or returned an invalid result.', exit: 4 },
  WT_PAC_TIMEOUT: { summary: 'FindProxyForURL did not return within the PAC timeout and was killed.', exit: 4 },
  WT_PROXY_TLS: { summary: 'TLS to an HTTPS proxy itself failed (its certificate or the handshake), before any tunnel.', exit: 3 },
  WT_PROXY_TLS_HOSTNAME: { summary: 'The certificate does not name the host, through a TLS-intercepting proxy (diagnosis).', exit: 3 },
  WT_PROXY_ENV_INVALID: { summary: 'A proxy environment variable is set to something unusable.', exit: 2 },
} as const satisfies Record<string, ErrorInfo>
