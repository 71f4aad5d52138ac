/**
 * The few Web APIs shared/common may use: they exist in Node, browsers and Electron alike.
 * Declared here (and only for tsconfig.common.json) so the common code is checked without
 * the DOM lib or Node types, which would let environment-specific APIs slip in.
 */
declare class URLSearchParams {
  constructor(init?: string | Record<string, string> | string[][])
  get(name: string): string | null
  set(name: string, value: string): void
  has(name: string): boolean
  delete(name: string): void
  append(name: string, value: string): void
  keys(): IterableIterator<string>
  entries(): IterableIterator<[string, string]>
  forEach(cb: (value: string, key: string) => void): void
  toString(): string
}

declare class URL {
  constructor(url: string, base?: string | URL)
  hash: string
  host: string
  hostname: string
  href: string
  readonly origin: string
  password: string
  pathname: string
  port: string
  protocol: string
  search: string
  readonly searchParams: URLSearchParams
  username: string
  toString(): string
  toJSON(): string
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean })
  readonly encoding: string
  decode(input?: ArrayBufferView | ArrayBuffer, options?: { stream?: boolean }): string
}

declare class TextEncoder {
  constructor()
  encode(input?: string): Uint8Array
  encodeInto(src: string, dest: Uint8Array): { read: number; written: number }
}
