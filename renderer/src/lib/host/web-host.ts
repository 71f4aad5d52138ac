/** The web-mode host link: the API over a WebSocket at /api on the page's own origin. */
import { ChannelClient, type Channel, type HostClient } from '../../../../shared/common/protocol/index.ts'
import type { HostMessage } from '../../../../shared/common/protocol/index.ts'

export function connectWeb(): Promise<HostClient> {
  const token = new URLSearchParams(location.search).get('token') ?? ''
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api${token ? `?token=${encodeURIComponent(token)}` : ''}`
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url)
    let onMsg: (m: HostMessage) => void = () => {}
    let onClose: (why: string) => void = () => {}
    let opened = false
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return
      try {
        onMsg(JSON.parse(e.data) as HostMessage)
      } catch {
        /* a malformed message from the host is dropped */
      }
    }
    ws.onclose = (e) => {
      if (!opened) reject(new Error(`cannot reach the Wiretrace host at ${location.host} (close ${e.code}); is \`wiretrace web\` still running, and did you open the URL it printed (with its token)?`))
      onClose(`the web host closed the link (${e.code}${e.reason ? ` ${e.reason}` : ''})`)
    }
    ws.onopen = () => {
      opened = true
      // The host set an HttpOnly cookie with the token: take it out of the address bar and history.
      if (token) history.replaceState(null, '', location.pathname)
      const channel: Channel = {
        send: (m) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m))
        },
        onMessage: (fn) => (onMsg = fn),
        onClose: (fn) => (onClose = fn),
        close: () => ws.close(1000),
      }
      resolve(new ChannelClient('web', channel))
    }
  })
}
