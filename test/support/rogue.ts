/**
 * A rogue swarm member for tests: the project's own libp2p setup with the
 * mesh's swarm key (one compromised host is enough to hold it), which can
 * send anything on the membership protocols of a real node.
 */
import { readFile } from 'node:fs/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream, type LengthPrefixedStream } from 'it-length-prefixed-stream'
import type { Envelope, GossipMessage } from '../../src/heartbeat/gossip.js'
import type { NodeRecord } from '../../src/heartbeat/record.js'
import { recordSigner } from '../../src/heartbeat/signature.js'
import { GOSSIP_PROTOCOL, MAX_GOSSIP_BYTES } from '../../src/heartbeat/streams.js'
import { createMeshLibp2p, type MeshLibp2p } from '../../src/mesh/libp2p.js'
import { normaliseSwarmKey } from '../../src/mesh/swarm-key.js'

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

  /** Open a gossip stream to the node at `addr` (a /p2p/ multiaddr); a new one after the node closed the last. */
  async open (addr: string): Promise<void> {
    const stream = await this.libp2p.dialProtocol(multiaddr(addr), GOSSIP_PROTOCOL)
    this.#lp = lpStream(stream, { maxDataLength: MAX_GOSSIP_BYTES * 4 })
  }

  /** Raw bytes as one gossip frame. */
  async sendRaw (bytes: Uint8Array): Promise<void> {
    if (this.#lp === undefined) throw new Error('open() first')
    await this.#lp.write(bytes)
  }

  async send (msg: GossipMessage | unknown): Promise<void> { await this.sendRaw(new TextEncoder().encode(JSON.stringify(msg))) }

  /** An envelope of `record` as `origin` (default: this rogue), signed by this rogue's key. */
  envelope (record: NodeRecord, origin = this.peerId): Envelope {
    const r = JSON.stringify(record)
    return { o: origin, b: record.boot, q: record.seq, r, s: this.#sign(r) }
  }

  async stop (): Promise<void> { await this.libp2p.stop() }
}
