/**
 * Block exchange: Helia's block broker here, in place of bitswap. A block the
 * log lacks (an OrbitDB entry, identity or manifest) is asked of one connected
 * peer at a time, and the first peer that holds it sends it.
 *
 * Why not bitswap (@helia/bitswap 2.2.0, the last 2.x): every want went to
 * every connected peer and was never cancelled, and each peer re-read its
 * blockstore for every want it still held on each later message. At 20 nodes,
 * start-up replication of a few dozen entries kept both cores busy for
 * minutes, and a 21st node joining an established mesh spent 252 ms/s in
 * LevelDB reads under bitswap's ledger (profiled; docs/decisions/block-exchange.md). Here
 * a request costs its peer one blockstore read, and nothing is left behind.
 *
 * Protocol `/meshmon/blocks/1.0.0`, one request per stream, length-prefixed:
 *   -> the CID's bytes
 *   <- 0x01 + the block      (held)
 *   <- 0x00                  (not held here)
 * The answering side reads its own blockstore only, never the network, so a
 * request never starts a fetch elsewhere. Helia checks every block against its
 * CID (`validateFn`); a peer that sends a wrong one is logged and the next peer
 * is asked. When no connected peer holds the block yet (its writer's head can
 * arrive before the peers in between have the entries), the round is tried
 * again after 0.25, 0.5, 1, 2, then every 4 s until the caller's signal ends.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { Libp2p, PeerId, Startable, Stream } from '@libp2p/interface'
import { lpStream } from 'it-length-prefixed-stream'
import type { Logger } from 'pino'
import { CID } from 'multiformats/cid'
import { backoffDelay } from '../../backoff.js'
import { shuffled } from '../../random.js'
import { isTooLarge, ProtocolComplaints } from '../complaints.js'

export const BLOCKS_PROTOCOL = '/meshmon/blocks/1.0.0'

/** OrbitDB entries here are at most ~32 KB; identities and manifests are smaller */
export const MAX_BLOCK_BYTES = 1 << 20
/** a CID of any hash we use is well under this */
const MAX_REQUEST_BYTES = 256
/** one peer's answer, dial included */
const ASK_TIMEOUT_MS = 5_000
/** a retrieval without a signal of its own gives up after this */
const DEFAULT_RETRIEVE_MS = 30_000
/** waits between rounds when no connected peer holds the block */
const RETRY = { initialMs: 250, maxMs: 4_000 }
const HELD = 1
const NOT_HELD = 0

export interface BlockExchangeStats {
  /** blocks this node fetched from peers */
  fetched: number
  /** requests this node sent */
  asked: number
  /** requests answered "not held" */
  notHeld: number
  /** requests that failed: no answer, stream error, or a block that did not match its CID */
  failed: number
  /** requests this node answered with a block */
  served: number
  /** requests this node answered "not held" */
  servedNotHeld: number
}

/** the part of Helia's BlockBroker (@helia/interface) this broker implements */
export interface RetrieveOptions {
  signal?: AbortSignal
  validateFn?: (block: Uint8Array) => Promise<void>
}

export interface BlockExchangeComponents {
  libp2p: Libp2p
  /** the node's own blockstore, not Helia's networked one: answers never fetch */
  blockstore: { get: (cid: CID) => Promise<Uint8Array> }
  log: Logger
  /** where peers that break the protocol are counted and logged @default its own */
  complaints?: ProtocolComplaints
}

/** a peer's request or answer that breaks the protocol (logged as a warning, not at debug level) */
export class BadMessageError extends Error {
  override name = 'BadMessageError'
}

export class BlockExchange implements Startable {
  readonly stats: BlockExchangeStats = { fetched: 0, asked: 0, notHeld: 0, failed: 0, served: 0, servedNotHeld: 0 }
  readonly #c: BlockExchangeComponents
  readonly #log: Logger
  readonly #complaints: ProtocolComplaints
  #stop = new AbortController()
  /** the peer that last had a block we lacked: it has likely the rest of that log too */
  #preferred?: string

  constructor (components: BlockExchangeComponents) {
    this.#c = components
    this.#log = components.log.child({ part: 'blocks' })
    this.#complaints = components.complaints ?? new ProtocolComplaints(this.#log)
  }

  async start (): Promise<void> {
    this.#stop = new AbortController()
    await this.#c.libp2p.handle(BLOCKS_PROTOCOL, ({ stream, connection }) => { void this.#serve(stream, connection.remotePeer.toString()) }, { maxInboundStreams: 64, maxOutboundStreams: 64 })
  }

  async stop (): Promise<void> {
    this.#stop.abort()
    await this.#c.libp2p.unhandle(BLOCKS_PROTOCOL).catch(() => {})
  }

  async retrieve (cid: CID, options: RetrieveOptions = {}): Promise<Uint8Array> {
    const signal = AbortSignal.any([this.#stop.signal, options.signal ?? AbortSignal.timeout(DEFAULT_RETRIEVE_MS)])
    for (let round = 0; ; round++) {
      for (const peer of this.#candidates()) {
        signal.throwIfAborted()
        const block = await this.#ask(peer, cid, signal)
        if (block === undefined) continue
        try {
          await options.validateFn?.(block)
        } catch (err: any) {
          this.stats.failed++
          this.#log.warn({ peer: peer.toString(), cid: cid.toString(), err: err.message }, 'a peer sent a block that does not match its CID')
          continue
        }
        this.stats.fetched++
        this.#preferred = peer.toString()
        return block
      }
      // rejects with the signal's own reason (timeout or stop), not the timer's AbortError
      await delay(backoffDelay(round, RETRY), undefined, { signal }).catch(() => { signal.throwIfAborted() })
    }
  }

  /** connected peers, the last one that had a block first, the others shuffled */
  #candidates (): PeerId[] {
    const peers = shuffled(this.#c.libp2p.getPeers())
    const first = peers.findIndex(p => p.toString() === this.#preferred)
    if (first > 0) peers.unshift(...peers.splice(first, 1))
    return peers
  }

  /** the block, or undefined when the peer does not hold it or does not answer */
  async #ask (peer: PeerId, cid: CID, outer: AbortSignal): Promise<Uint8Array | undefined> {
    const signal = AbortSignal.any([outer, AbortSignal.timeout(ASK_TIMEOUT_MS)])
    this.stats.asked++
    let stream: Stream | undefined
    try {
      stream = await this.#c.libp2p.dialProtocol(peer, BLOCKS_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_BLOCK_BYTES + 1 })
      await lp.write(cid.bytes, { signal })
      const answer = (await lp.read({ signal })).subarray()
      await stream.close({ signal })
      if (answer.length === 1 && answer[0] === NOT_HELD) {
        this.stats.notHeld++
        return undefined
      }
      if (answer.length > 1 && answer[0] === HELD) return answer.subarray(1)
      throw new BadMessageError(`answer of ${answer.length} bytes starting ${answer[0] ?? 'with nothing'}`)
    } catch (err: any) {
      stream?.abort(err)
      this.stats.failed++
      if (!outer.aborted) this.#failed(err, peer.toString(), { cid: cid.toString() }, 'asking a peer for a block failed')
      return undefined
    }
  }

  async #serve (stream: Stream, peer: string): Promise<void> {
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(ASK_TIMEOUT_MS)])
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES })
      const request = (await lp.read({ signal })).subarray()
      let cid: CID
      try {
        cid = CID.decode(request)
      } catch {
        throw new BadMessageError(`request of ${request.length} bytes is not a CID`)
      }
      const block = await this.#held(cid)
      if (block === undefined) {
        await lp.write(Uint8Array.of(NOT_HELD), { signal })
        this.stats.servedNotHeld++
      } else {
        const answer = new Uint8Array(block.length + 1)
        answer[0] = HELD
        answer.set(block, 1)
        await lp.write(answer, { signal })
        this.stats.served++
      }
      await stream.close({ signal })
    } catch (err: any) {
      stream.abort(err)
      if (!this.#stop.signal.aborted) this.#failed(err, peer, {}, 'block request not answered')
    }
  }

  /** a peer's bad message is counted and complained of; a peer gone or slow is only a debug line */
  #failed (err: Error, peer: string, fields: Record<string, unknown>, msg: string): void {
    if (err instanceof BadMessageError || isTooLarge(err)) this.#complaints.complain(peer, 'blocks', isTooLarge(err) ? 'too_large' : 'malformed', err.message, `${msg}: the peer broke the protocol`)
    else this.#log.debug({ peer, ...fields, err: err.message }, msg)
  }

  async #held (cid: CID): Promise<Uint8Array | undefined> {
    try {
      return await this.#c.blockstore.get(cid)
    } catch (err: any) {
      if (err?.name === 'NotFoundError') return undefined
      throw err
    }
  }
}
