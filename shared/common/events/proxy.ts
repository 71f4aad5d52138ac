import type { EventBase, HeaderPairs } from './base.ts'

/** Which rule picked the route: PAC return value, env variable, NO_PROXY match, manual setting. */
export interface ProxyRuleEvent extends EventBase {
  type: 'proxy.rule'
  source: 'direct' | 'manual' | 'env' | 'pac' | 'system'
  /** The raw rule text, e.g. a PAC result "PROXY a:8080; DIRECT" or "HTTPS_PROXY". */
  rule: string
  /** The route chosen for this attempt, e.g. "http://proxy:3128" (credentials redacted) or "DIRECT". */
  chosen: string
  /** Remaining fallbacks, in order. */
  fallbacks: string[]
  detail?: string
}

/** One HTTP CONNECT exchange (or absolute-URI forward) with the proxy, each auth leg its own event. */
export interface ProxyConnectEvent extends EventBase {
  type: 'proxy.connect'
  proxy: string
  mode: 'connect' | 'forward'
  leg: number
  auth?: 'basic' | 'digest' | 'ntlm' | null
  requestLine: string
  requestHeaders: HeaderPairs
  statusLine: string
  status: number
  httpVersion: string
  responseHeaders: HeaderPairs
  bodyPreview?: string
  durationMs: number
}

/** SOCKS negotiation. */
export interface ProxySocksEvent extends EventBase {
  type: 'proxy.socks'
  proxy: string
  version: 4 | 5
  step: 'greeting' | 'auth' | 'connect'
  method?: string
  replyCode: number
  replyText: string
  boundAddress?: string
  durationMs: number
}

export type ProxyEvents = ProxyRuleEvent | ProxyConnectEvent | ProxySocksEvent
