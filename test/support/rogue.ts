/**
 * A rogue swarm member for tests: the project's own libp2p setup with the
 * mesh's swarm key (one compromised host is enough to hold it), which can
 * send anything on any protocol of a real node: one gossip stream kept open
 * (open/send), or one frame per fresh stream on any protocol (frame), over
 * the shared connection or a connection of its own (to pass per-connection
 * stream limits). Acting as a member (beats, records, lies) is rogue-member.ts;
 * throwaway identities are throwaway.ts.
 */
import { readFile } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, PrivateKey, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream, type LengthPrefixedStream } from 'it-length-prefixed-stream'
import type { Envelope } from '../../src/heartbeat/gossip.js'
import type { NodeRecord } from '../../src/heartbeat/record.js'
import { recordSigner } from '../../src/heartbeat/signature.js'
import { GOSSIP_PROTOCOL, MAX_GOSSIP_BYTES } from '../../src/heartbeat/streams.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { normaliseSwarmKey } from '../../src/mesh/swarm-key.js'

const encoder = new TextEncoder()
/** frames the rogue writes may be far over any limit the node enforces: that is the point */
const MAX_ROGUE_FRAME = MAX_GOSSIP_BYTES * 8

/** How a stream the rogue wrote to ended: the node closed or reset it, or still held it open when the rogue gave up waiting. */
export type Ending = 'closed' | 'reset' | 'open'

export interface FrameOptions {
  /** over a connection of its own rather than the shared one @default false */
  fresh?: boolean
  /** end the write side after the frame, as a peer that has said all it will @default true */
  closeWrite?: boolean
  /** how long to wait for the node to end the stream, ms @default 5000 */
  waitMs?: number
}

export class Rogue {
  readonly libp2p: MeshLibp2p
  readonly key: PrivateKey
  readonly #sign: (json: string) => string
  #lp?: LengthPrefixedStream<Stream>

  private constructor (libp2p: MeshLibp2p, key: PrivateKey) {
    this.libp2p = libp2p
    this.key = key
    this.#sign = recordSigner(key)
  }

  static async join (swarmKeyFile: string, key?: PrivateKey): Promise<Rogue> {
    const k = key ?? await generateKeyPair('Ed25519')
    const libp2p = await createMeshLibp2p({ privateKey: k, swarmKey: normaliseSwarmKey(await readFile(swarmKeyFile, 'utf8')), listen: ['/ip4/127.0.0.1/tcp/0'] })
    return new Rogue(libp2p, k)
  }

  get peerId (): string { return this.libp2p.peerId.toString() }

  /** Where peers reach the rogue (its listen addresses with its peer id). */
  addrs (): string[] { return this.libp2p.getMultiaddrs().map(a => a.toString()) }

  /** A connection to the node at `addr` (a /p2p/ multiaddr): the shared one, or with `fresh` a new one. */
  async connect (addr: string, fresh = false): Promise<Connection> {
    return await this.libp2p.dial(multiaddr(addr), { force: fresh, signal: AbortSignal.timeout(10_000) })
  }

  /** A new stream on `protocol` to the node at `addr`, length-prefixed. */
  async stream (addr: string, protocol: string, fresh = false): Promise<LengthPrefixedStream<Stream>> {
    const conn = await this.connect(addr, fresh)
    const stream = await conn.newStream(protocol, { signal: AbortSignal.timeout(10_000) })
    return lpStream(stream, { maxDataLength: MAX_ROGUE_FRAME })
  }

  /**
   * One frame (raw bytes, or an object as JSON) on a fresh stream of `protocol`, and
   * how the node ended that stream. A node that reads nothing leaves it open.
   */
  async frame (addr: string, protocol: string, payload: Uint8Array | unknown, options: FrameOptions = {}): Promise<Ending> {
    const lp = await this.stream(addr, protocol, options.fresh === true)
    const stream = lp.unwrap()
    const signal = AbortSignal.timeout(options.waitMs ?? 5000)
    try {
      await lp.write(payload instanceof Uint8Array ? payload : encoder.encode(JSON.stringify(payload)), { signal })
      if (options.closeWrite !== false) await stream.closeWrite({ signal })
      // whatever the node answers is read and dropped, until it ends the stream
      for (;;) await lp.read({ signal })
    } catch (err: any) {
      if (signal.aborted) { stream.abort(new Error('the rogue gave up')); return 'open' }
      return err?.name === 'UnexpectedEOFError' ? 'closed' : 'reset'
    }
  }

  /** Open a gossip stream to the node at `addr` (a /p2p/ multiaddr); a new one after the node closed the last. */
  async open (addr: string): Promise<void> {
    this.#lp = await this.stream(addr, GOSSIP_PROTOCOL)
  }

  /** Raw bytes as one gossip frame on the stream open() opened. */
  async sendRaw (bytes: Uint8Array): Promise<void> {
    if (this.#lp === undefined) throw new Error('open() first')
    await this.#lp.write(bytes)
  }

  async send (msg: unknown): Promise<void> { await this.sendRaw(encoder.encode(JSON.stringify(msg))) }

  /** An envelope of `record` as `origin` (default: this rogue), signed by this rogue's key. */
  envelope (record: NodeRecord, origin = this.peerId): Envelope {
    const r = JSON.stringify(record)
    return { o: origin, b: record.boot, q: record.seq, r, s: this.#sign(r) }
  }

  async stop (): Promise<void> { await this.libp2p.stop() }
}
