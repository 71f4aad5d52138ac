/**
 * The proxy half of the one network pipeline. `resolveRoute` turns a NetworkProfile (manual,
 * env, PAC, system) into ordered candidate routes; `connectViaProxy` reaches the origin through
 * one of them (TCP to the proxy, TLS to an HTTPS proxy, CONNECT with each auth leg, or SOCKS);
 * `dialViaRoutes` tries them in order, records which rule chose each, does TLS to the origin
 * through the tunnel, and turns failures into diagnoses.
 */
import net, { type Socket } from 'node:net'
import tls from 'node:tls'
import dns from 'node:dns'
import { X509Certificate } from 'node:crypto'
import type { EventDraft, ProxyRuleEvent, TlsEvent } from '../../../common/events/index.ts'
import type { NetworkProfile, ProxyAuth, ProxyKind, ProxyServer, ProxyTlsOptions } from '../../../common/spec/index.ts'
import { WiretraceError, toErrorData } from '../../../common/errors/index.ts'
import { parsePacResult, routeText, type PacRoute } from '../../../common/pac.ts'
import { diagnoseError, diagnoseTls } from '../../../common/diagnose/index.ts'
import { redactSecretsInText } from '../../../common/redact.ts'
import type { DialRequest, DialResult } from '../../engine/types.ts'
import { mono, ms } from '../../engine/clock.ts'
import { connectTcp, defaultPort, hostOf, lastPhases, startTls, type DialContext } from '../dial.ts'
import { evaluatePac, loadPacScript } from '../pac/index.ts'
import { httpConnect } from './connect.ts'
import { socksHandshake } from './socks.ts'
import { basicHeader } from './auth.ts'
import { noProxyMatch, parseProxyUrl, pickEnvProxy, proxyLabel } from './rules.ts'

export { parseProxyUrl, proxyLabel, noProxyMatch } from './rules.ts'

/** One candidate way to reach the origin. */
export interface Route {
  kind: 'direct' | ProxyKind
  host?: string
  port?: number
  auth?: ProxyAuth
  /** "DIRECT" or scheme://host:port (never credentials). */
  label: string
  source: ProxyRuleEvent['source']
  /** The rule text that produced it: the PAC result, the env variable, the NO_PROXY match. */
  rule: string
  detail?: string
  /** For plain-HTTP origins through an HTTP(S) proxy. */
  httpMode?: 'connect' | 'forward'
  proxyTls?: ProxyTlsOptions
}

export type Emit = (d: EventDraft) => unknown

const FORWARD_DETAIL = 'forward mode: absolute-URI request to the proxy, no CONNECT'

const direct = (source: Route['source'], rule: string, detail?: string): Route => ({ kind: 'direct', label: 'DIRECT', source, rule, ...(detail ? { detail } : {}) })

function fromServer(p: ProxyServer, source: Route['source'], rule: string, extra: Partial<Route> = {}): Route {
  return { kind: p.kind, host: p.host, port: p.port, ...(p.auth ? { auth: p.auth } : {}), label: proxyLabel(p), source, rule, ...extra }
}

function fromPac(r: PacRoute, rule: string, auth: ProxyAuth | undefined, source: Route['source']): Route {
  if (r.kind === 'direct') return direct(source, rule)
  return { kind: r.kind, host: r.host, port: r.port, ...(auth ? { auth } : {}), label: routeText(r), source, rule }
}

/** A PAC failure that was turned into a DIRECT fallback; reported with the route. */
export interface RouteProblem {
  code: string
  message: string
  detail?: Record<string, unknown>
}

/**
 * TLS options for the proxy hop. They belong to the profile, not to the rule that picked the
 * proxy: an HTTPS proxy named by PAC (`HTTPS host:port`), by `https_proxy=https://...` or by the
 * system answer needs its CA or client certificate just as a manual one does.
 */
function profileProxyTls(network: NetworkProfile): ProxyTlsOptions | undefined {
  return network.mode === 'direct' ? undefined : network.proxyTls
}

/**
 * Ordered candidate routes for a URL. PAC failures fall back to DIRECT as browsers do, unless
 * the profile says `onPacError: 'fail'`; the failure is returned in `problem` to be reported.
 * The profile's `proxyTls` goes with every HTTPS-proxy route, whatever chose it.
 */
export async function resolveRoutes(
  url: URL,
  network: NetworkProfile | undefined,
  signal: AbortSignal,
): Promise<{ routes: Route[]; problem?: RouteProblem }> {
  if (!network || network.mode === 'direct') return { routes: [direct('direct', 'DIRECT')] }
  const resolved = await routesFor(url, network, signal)
  const proxyTls = profileProxyTls(network)
  if (proxyTls) for (const r of resolved.routes) if (r.kind === 'https' && !r.proxyTls) r.proxyTls = proxyTls
  return resolved
}

async function routesFor(url: URL, network: Exclude<NetworkProfile, { mode: 'direct' }>, signal: AbortSignal): Promise<{ routes: Route[]; problem?: RouteProblem }> {
  const host = hostOf(url)
  const port = defaultPort(url)
  switch (network.mode) {
    case 'manual': {
      const np = noProxyMatch(network.noProxy, host, port)
      if (np) return { routes: [direct('manual', `no-proxy: ${np}`, `${host} matches the no-proxy entry "${np}"`)] }
      const plain = url.protocol === 'ws:' || url.protocol === 'http:'
      const httpMode = plain && (network.proxy.kind === 'http' || network.proxy.kind === 'https') ? (network.httpMode ?? 'connect') : undefined
      return {
        routes: [
          fromServer(network.proxy, 'manual', 'manual proxy', {
            ...(httpMode ? { httpMode, detail: httpMode === 'forward' ? FORWARD_DETAIL : 'CONNECT tunnel' } : {}),
          }),
        ],
      }
    }
    case 'env': {
      const env = network.env ?? (process.env as Record<string, string | undefined>)
      const noProxy = env.no_proxy ?? env.NO_PROXY
      const np = noProxyMatch(noProxy, host, port)
      if (np) return { routes: [direct('env', `NO_PROXY=${noProxy}`, `${host} matches "${np}"`)] }
      const pick = pickEnvProxy(env, url)
      if (!pick) return { routes: [direct('env', 'no proxy variable set', `none of the variables for ${url.protocol.slice(0, -1)}:// is set`)] }
      const server = parseProxyUrl(pick.value, 'WT_PROXY_ENV_INVALID', `the ${pick.name} variable`)
      if (!server.auth && network.auth) server.auth = network.auth
      return { routes: [fromServer(server, 'env', pick.name)] }
    }
    case 'system': {
      if (network.resolveError !== undefined) {
        // The host's lookup failed: DIRECT, never silently. The rule says so and the problem becomes the warning diagnosis.
        const why = redactSecretsInText(network.resolveError.trim() || 'no reason given')
        return {
          routes: [direct('system', `system proxy lookup failed: ${why}`, 'the system proxy lookup failed; going DIRECT')],
          problem: { code: 'WT_SYSTEM_PROXY_LOOKUP', message: `the system proxy lookup failed: ${why}`, detail: { why } },
        }
      }
      if (!network.resolved) return { routes: [direct('system', 'system proxy unavailable', 'the system proxy is resolved only in the desktop app; going direct')] }
      // Routed by the answer as given; shown (the rule, the recording) without any user:password@ in it.
      const parsed = parsePacResult(network.resolved)
      const shown = redactSecretsInText(network.resolved)
      const routes = parsed.routes.map((r) => fromPac(r, shown, undefined, 'system'))
      return { routes: routes.length ? routes : [direct('system', shown)] }
    }
    case 'pac': {
      const onError = (network as { onPacError?: 'direct' | 'fail' }).onPacError ?? 'direct'
      try {
        const { script, fromFile } = await loadPacScript(network, signal, network.timeoutMs ? { timeoutMs: network.timeoutMs } : undefined)
        const res = await evaluatePac(script, url, network.timeoutMs ? { timeoutMs: network.timeoutMs } : undefined, { fromFile })
        const rule = `FindProxyForURL → "${res.raw}"`
        const routes = res.routes.map((r) => fromPac(r, rule, network.auth, 'pac'))
        if (res.problems.length && routes[0]) routes[0].detail = `ignored: ${res.problems.join('; ')}`
        return { routes }
      } catch (e) {
        const data = toErrorData(e, 'WT_PAC_ERROR')
        if (onError === 'fail') throw e
        return { routes: [direct('pac', `PAC failed (${data.code})`, `${data.message}; falling back to DIRECT`)], problem: data }
      }
    }
  }
}

/** As in the brief: ordered candidates (DIRECT fallbacks included); emits the rule of the first. */
export async function resolveRoute(url: URL, network: NetworkProfile | undefined, _purpose: DialRequest['purpose'], emit: Emit, signal: AbortSignal, conn = ''): Promise<Route[]> {
  const { routes } = await resolveRoutes(url, network, signal)
  const first = routes[0]
  if (first) emit(ruleEvent(conn, first, routes.slice(1)))
  return routes
}

function ruleEvent(conn: string, r: Route, rest: Route[]): EventDraft {
  return { type: 'proxy.rule', conn, source: r.source, rule: r.rule, chosen: r.label, fallbacks: rest.map((x) => x.label), ...(r.detail ? { detail: r.detail } : {}) }
}

function authority(url: URL): string {
  const h = hostOf(url)
  return `${h.includes(':') ? `[${h}]` : h}:${defaultPort(url)}`
}

/** Resolves the origin locally for SOCKS4/5 (not 4a/5h), recording the lookup. */
async function lookupOrigin(host: string, ctx: DialContext): Promise<Array<{ address: string; family: number }>> {
  const t0 = mono()
  try {
    const addresses = await dns.promises.lookup(host, { all: true, verbatim: true })
    ctx.emit({ type: 'dns', conn: ctx.conn, host, addresses, durationMs: ms(mono() - t0), via: 'local', target: 'origin' })
    return addresses
  } catch (e) {
    throw new WiretraceError('WT_DNS_FAILED', `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (with socks5h:// or socks4a:// the proxy resolves it instead)`, { phase: 'dns', host, target: 'origin' })
  }
}

/** Forward mode carries plain HTTP/1.1 exchanges only; h2c (ALPN h2 offered) and TLS origins always need a tunnel. */
function forwards(route: Route, req: DialRequest): boolean {
  return !req.secure && route.httpMode === 'forward' && !(req.alpn ?? []).includes('h2')
}

/** The route as it will really be used: a forward-mode route that must tunnel says so in its rule. */
function effective(route: Route, req: DialRequest): Route {
  if (route.httpMode !== 'forward' || forwards(route, req)) return route
  return { ...route, httpMode: 'connect', detail: 'CONNECT tunnel: forward mode was asked, but h2c cannot be forwarded (only plain HTTP/1.1 requests can)' }
}

/**
 * Records who resolves the origin's name when a proxy is in the way: nobody for an address
 * (`literal`), the proxy for a name sent in a CONNECT request or an absolute URI (`proxy`, no
 * addresses). SOCKS records its own (local for socks4/socks5, proxy for socks4a/socks5h).
 */
function originDnsAtProxy(req: DialRequest, ctx: DialContext): void {
  const host = hostOf(req.url)
  const family = net.isIP(host)
  ctx.emit({ type: 'dns', conn: ctx.conn, host, addresses: family ? [{ address: host, family }] : [], durationMs: 0, via: family ? 'literal' : 'proxy', target: 'origin' })
}

export interface ProxyDial {
  socket: Socket
  phases: DialResult['phases']
  route: string
  forward?: DialResult['forward']
}

/**
 * Reaches the origin through a proxy route: TCP to the proxy (dns/tcp events with target
 * 'proxy'), TLS to an HTTPS proxy (hop 'proxy'), then CONNECT (proxy.connect per leg) or SOCKS
 * (proxy.socks per step). Returns the socket for TLS to the origin, or a forward-mode socket.
 */
export async function connectViaProxy(route: Route, req: DialRequest, ctx: DialContext, signal: AbortSignal): Promise<ProxyDial> {
  if (route.kind === 'direct' || !route.host || !route.port) throw new WiretraceError('WT_INTERNAL', 'connectViaProxy needs a proxy route')
  const phases: DialResult['phases'] = {}
  const proxyHost = route.host
  const proxyPort = route.port
  let first = true
  const httpProxy = route.kind === 'http' || route.kind === 'https'
  const open = async (): Promise<Socket> => {
    const s = await connectTcp(proxyHost, proxyPort, 'proxy', ctx, signal)
    const isFirst = first
    if (first) {
      // The first connection's dns/tcp phases are the proxy's (later ones are auth retries).
      Object.assign(phases, lastPhases(s))
      first = false
    }
    let out = s
    if (route.kind === 'https') {
      const t0 = mono()
      const r = await startTls(s, proxyHost, route.proxyTls ?? {}, ['http/1.1'], 'proxy', ctx, signal)
      phases.proxy = (phases.proxy ?? 0) + ms(mono() - t0)
      out = r.socket as unknown as Socket
    }
    // Once per dial, just before the origin's name goes to the proxy.
    if (isFirst && httpProxy) originDnsAtProxy(req, ctx)
    return out
  }
  const t0 = mono()
  if (route.kind === 'http' || route.kind === 'https') {
    if (forwards(route, req)) {
      const socket = await open()
      const headers: Array<[string, string]> = []
      if (route.auth && (!route.auth.schemes || route.auth.schemes.includes('basic'))) headers.push(['Proxy-Authorization', basicHeader(route.auth.username, route.auth.password)])
      const target = new URL(req.url.href)
      if (target.protocol === 'ws:') target.protocol = 'http:'
      phases.proxy = ms(mono() - t0)
      return { socket, phases, route: route.label, forward: { headers, requestTarget: target.href } }
    }
    const r = await httpConnect({
      conn: ctx.conn,
      emit: ctx.emit,
      proxyLabel: route.label,
      authority: authority(req.url),
      ...(route.auth ? { auth: route.auth } : {}),
      signal,
      maxHeaderBytes: ctx.limits.maxHeaderBytes,
      maxBodyPreviewBytes: ctx.limits.maxBodyPreviewBytes,
      open,
    })
    phases.proxy = ms(mono() - t0)
    return { socket: r.socket, phases, route: route.label }
  }
  const socket = await open()
  const hs0 = mono()
  if (net.isIP(hostOf(req.url))) originDnsAtProxy(req, ctx)
  await socksHandshake(socket, {
    conn: ctx.conn,
    emit: ctx.emit,
    proxyLabel: route.label,
    kind: route.kind,
    host: hostOf(req.url),
    port: defaultPort(req.url),
    ...(route.auth ? { auth: route.auth } : {}),
    signal,
    resolve: (h) => lookupOrigin(h, ctx),
  })
  phases.proxy = ms(mono() - hs0)
  return { socket, phases, route: route.label }
}

/** Errors after which the next candidate route is tried (the proxy itself failed). */
function mayFallBack(e: unknown): boolean {
  if (!(e instanceof WiretraceError)) return false
  if (e.code === 'WT_PROXY_UNREACHABLE' || e.code === 'WT_PROXY_CLOSED') return true
  return e.detail?.target === 'proxy' || e.detail?.hop === 'proxy'
}

const publicRootSubjects = new Set<string>()
function isPublicRoot(subjectOrIssuer: string): boolean {
  if (!publicRootSubjects.size) {
    for (const pem of tls.rootCertificates) {
      try {
        const c = new X509Certificate(pem)
        publicRootSubjects.add(c.subject.split('\n').join(', '))
      } catch {
        /* skip */
      }
    }
  }
  return publicRootSubjects.has(subjectOrIssuer)
}

function caSubjects(pems: string[] | undefined): string[] {
  const out: string[] = []
  for (const pem of pems ?? []) {
    try {
      out.push(new X509Certificate(pem).subject.split('\n').join(', '))
    } catch {
      /* unusable CA text is reported by TLS itself */
    }
  }
  return out
}

/** The pipeline for every non-direct profile: routes in order, each attempt recorded and diagnosed. */
export async function dialViaRoutes(req: DialRequest, ctx: DialContext, signal: AbortSignal): Promise<DialResult> {
  let resolved: { routes: Route[]; problem?: RouteProblem }
  try {
    resolved = await resolveRoutes(req.url, req.network, signal)
  } catch (e) {
    const err = e instanceof WiretraceError ? e : new WiretraceError('WT_PROXY_URL_INVALID', (e as Error).message)
    ctx.emit({ type: 'proxy.rule', conn: ctx.conn, source: req.network?.mode === 'direct' || !req.network ? 'direct' : req.network.mode, rule: `failed: ${err.code}`, chosen: 'none', fallbacks: [], detail: err.message })
    const d = diagnoseError(ctx.conn, err.toJSON())
    if (d) ctx.emit(d)
    if (!err.detail?.phase) throw new WiretraceError(err.code, err.message, { ...err.detail, phase: 'proxy' })
    throw err
  }
  const { routes, problem } = resolved
  if (problem) {
    const d = diagnoseError(ctx.conn, problem)
    if (d) ctx.emit({ ...d, severity: 'warning' })
  }
  let lastErr: unknown
  for (let i = 0; i < routes.length; i++) {
    const route = effective(routes[i]!, req)
    ctx.emit(ruleEvent(ctx.conn, route, routes.slice(i + 1)))
    const viaProxy = route.kind !== 'direct'
    try {
      let socket: Socket
      let phases: DialResult['phases']
      let forward: DialResult['forward']
      if (route.kind === 'direct') {
        socket = await connectTcp(hostOf(req.url), defaultPort(req.url), 'origin', ctx, signal)
        phases = { ...lastPhases(socket) }
      } else {
        const r = await connectViaProxy(route, req, ctx, signal)
        socket = r.socket
        phases = r.phases
        forward = r.forward
      }
      if (!req.secure) return { socket, alpn: null, phases, route: route.label, ...(forward ? { forward } : {}) }
      let tlsEvent: TlsEvent | null = null
      const tctx: DialContext = {
        ...ctx,
        emit: (d) => {
          if (d.type === 'tls') tlsEvent = d as TlsEvent
          return ctx.emit(d)
        },
      }
      const t = await startTls(socket, hostOf(req.url), req.tls, req.alpn ?? [], 'origin', tctx, signal)
      phases.tls = t.durationMs
      const seen = tlsEvent as TlsEvent | null
      if (viaProxy && seen) {
        for (const d of diagnoseTls(ctx.conn, seen, { viaProxy, route: route.label, userCaSubjects: caSubjects(req.tls?.ca), isPublicRoot })) ctx.emit(d)
      }
      return { socket: t.socket, alpn: t.alpn, phases, route: route.label }
    } catch (e) {
      lastErr = e
      if (signal.aborted) throw e
      if (i < routes.length - 1 && mayFallBack(e)) {
        ctx.emit({ type: 'note', conn: ctx.conn, text: `route ${route.label} failed (${(e as WiretraceError).code}: ${(e as Error).message}); trying ${routes[i + 1]!.label}`, source: 'engine' })
        continue
      }
      const data = toErrorData(e, 'WT_PROXY_BAD_RESPONSE')
      const d = diagnoseError(ctx.conn, data, { route: route.label, viaProxy })
      if (d) ctx.emit(d)
      if (e instanceof WiretraceError && !e.detail?.phase) throw new WiretraceError(e.code, e.message, { ...e.detail, phase: 'proxy' })
      throw e
    }
  }
  throw lastErr ?? new WiretraceError('WT_PROXY_UNREACHABLE', 'no route to try')
}

