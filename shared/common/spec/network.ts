/** How a connection reaches its target. */
export type ProxyKind = 'http' | 'https' | 'socks4' | 'socks4a' | 'socks5' | 'socks5h'

export interface ProxyAuth {
  username: string
  password: string
  /** Schemes we may use, in preference order (default: whatever the proxy offers that we support). */
  schemes?: Array<'basic' | 'digest' | 'ntlm'>
  /** NTLM domain and workstation. */
  domain?: string
  workstation?: string
}

export interface ProxyServer {
  kind: ProxyKind
  host: string
  port: number
  auth?: ProxyAuth
}

/** TLS to an HTTPS proxy, configured apart from TLS to the origin. */
export interface ProxyTlsOptions {
  ca?: string[]
  insecure?: boolean
  servername?: string
  /** Client certificate and key (PEM) for proxies that authenticate clients by certificate. */
  cert?: string
  key?: string
  passphrase?: string
  /** Paths of CA files (PEM); a host reads them into `ca` before the spec reaches the engine (and keeps the paths for display). */
  caFiles?: string[]
  /** Path of the client certificate (PEM); read into `cert` by the host. */
  certFile?: string
  /** Path of the client key (PEM); read into `key` by the host. */
  keyFile?: string
}

/**
 * TLS to the origin for every connection using the profile (an "Office" profile whose proxy
 * re-signs TLS with the corporate CA): added at dial time to the connection's own `tls`, CAs
 * concatenated, insecure when either says so. Client certificates stay per connection.
 */
export interface OriginTlsOptions {
  /** Extra CA certificates, PEM text (a host reads `caFiles` into it). */
  ca?: string[]
  /** Paths of CA files (PEM); read into `ca` by the host when a connection opens, kept for display. */
  caFiles?: string[]
  /** Accept any origin certificate. Recorded, and diagnosed as a warning. */
  insecure?: boolean
  /**
   * Also trust the operating system's CA store (not only Node's bundled roots). Needs a runtime
   * with tls.getCACertificates (Node 22.15+, Electron 45+); elsewhere the connection fails with
   * WT_TLS_CONFIG. (Named apart from the connection's `tls.systemCa`, which keeps Node's bundled roots.)
   */
  osCaStore?: boolean
}

export type NetworkProfile =
  | { mode: 'direct'; name?: string; /** TLS to the origin, for every connection using the profile. */ originTls?: OriginTlsOptions }
  | {
      mode: 'manual'
      name?: string
      proxy: ProxyServer
      /** For ws:// and http:// through an HTTP proxy: CONNECT tunnel (default) or absolute-URI forwarding. */
      httpMode?: 'connect' | 'forward'
      noProxy?: string
      /** TLS to an HTTPS proxy, apart from TLS to the origin. */
      proxyTls?: ProxyTlsOptions
      /** TLS to the origin, for every connection using the profile. */
      originTls?: OriginTlsOptions
    }
  | {
      mode: 'pac'
      name?: string
      pacUrl?: string
      pacScript?: string
      pacFile?: string
      timeoutMs?: number
      auth?: ProxyAuth
      /** When the PAC file fails: go DIRECT with a warning (default) or fail the connection. */
      onPacError?: 'direct' | 'fail'
      /** TLS to an HTTPS proxy the PAC result chooses (`HTTPS host:port`). */
      proxyTls?: ProxyTlsOptions
      originTls?: OriginTlsOptions
    }
  | { mode: 'env'; name?: string; env?: Record<string, string>; auth?: ProxyAuth; /** TLS to an https:// proxy variable's proxy. */ proxyTls?: ProxyTlsOptions; originTls?: OriginTlsOptions }
  | {
      mode: 'system'
      name?: string
      /** Filled in by the desktop host from session.resolveProxy (a PAC-style result, "PROXY p:3128; DIRECT"). */
      resolved?: string
      /**
       * Set by the desktop host when session.resolveProxy failed or timed out: the route goes
       * DIRECT, its rule says the lookup failed (never a silent DIRECT), with a warning diagnosis.
       */
      resolveError?: string
      /** TLS to an HTTPS proxy the system answer chooses. */
      proxyTls?: ProxyTlsOptions
      originTls?: OriginTlsOptions
    }
