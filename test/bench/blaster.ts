/**
 * A WebSocket server that blasts pre-built frames: after the handshake it writes one
 * buffer of N ready-made frames, repeatedly, until `total` messages are sent. Runs as a
 * child process so it does not share a core with the client being measured.
 * Usage: tsx test/bench/blaster.ts <total> <size>   (prints its port)
 */
import net from 'node:net'
import crypto from 'node:crypto'

const total = Number(process.argv[2] ?? 1_000_000)
const size = Number(process.argv[3] ?? 64)
const payload = Buffer.alloc(size, 0x61)
const head = size < 126 ? Buffer.from([0x81, size]) : Buffer.from([0x81, 126, size >> 8, size & 255])
const one = Buffer.concat([head, payload])
const PER = Math.max(1, Math.floor((256 * 1024) / one.length))
const block = Buffer.concat(new Array(PER).fill(one))

const server = net.createServer((socket) => {
  let buf = ''
  socket.on('error', () => undefined)
  const onData = (d: Buffer): void => {
    buf += d.toString('latin1')
    const end = buf.indexOf('\r\n\r\n')
    if (end < 0) return
    socket.removeListener('data', onData)
    socket.on('data', () => undefined)
    const key = /sec-websocket-key:\s*(\S+)/i.exec(buf)?.[1] ?? ''
    const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64')
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`)
    let sent = 0
    const pump = (): void => {
      while (sent < total) {
        const n = Math.min(PER, total - sent)
        const ok = socket.write(n === PER ? block : block.subarray(0, n * one.length))
        sent += n
        if (!ok) return void socket.once('drain', pump)
      }
    }
    pump()
  }
  socket.on('data', onData)
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`)
})
process.on('disconnect', () => process.exit(0))
