/**
 * Random and oversized payloads for the protocols a node speaks, from a
 * seeded source (bench/sim.ts's mulberry32): the same seed gives the same
 * payloads, so a failure is replayed with MESHMON_FUZZ_SEED. Each payload is
 * random bytes, a random JSON value, a near-valid message of its protocol
 * with one part broken, or (rarely) one just over the protocol's size bound.
 */
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { seeded } from '../../bench/sim.js'
import { SYNC_PROTOCOL } from '../../src/events/sync/protocol.js'
import { BLOCKS_PROTOCOL } from '../../src/events/orbit/block-exchange.js'
import { BEAT_PROTOCOL, GOSSIP_PROTOCOL, MAX_GOSSIP_BYTES } from '../../src/heartbeat/streams.js'

export const PROTOCOLS = [GOSSIP_PROTOCOL, BEAT_PROTOCOL, SYNC_PROTOCOL, BLOCKS_PROTOCOL] as const
export type Protocol = typeof PROTOCOLS[number]

/** one byte past what each protocol reads in one frame */
const OVER: Record<Protocol, number> = { [GOSSIP_PROTOCOL]: MAX_GOSSIP_BYTES + 1, [BEAT_PROTOCOL]: 65, [SYNC_PROTOCOL]: (1 << 20) + 1, [BLOCKS_PROTOCOL]: 257 }

export interface Payload { protocol: Protocol, bytes: Uint8Array, kind: 'bytes' | 'json' | 'near' | 'oversized' }

const enc = new TextEncoder()

export class Payloads {
  readonly seed: number
  readonly #r: () => number

  constructor (seed: number) {
    this.seed = seed
    this.#r = seeded(seed)
  }

  #int (n: number): number { return Math.floor(this.#r() * n) }
  #pick<T> (xs: readonly T[]): T { return xs[this.#int(xs.length)] as T }

  #value (depth = 0): unknown {
    const k = this.#int(depth > 4 ? 5 : 8)
    if (k === 0) return null
    if (k === 1) return this.#r() < 0.5
    if (k === 2) return this.#pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e20])
    if (k === 3) return this.#text()
    if (k === 4) return this.#pick(['NaN', 'Infinity', '-0', '__proto__', 'constructor', ''])
    if (k === 5) return Array.from({ length: this.#int(6) }, () => this.#value(depth + 1))
    return Object.fromEntries(Array.from({ length: this.#int(6) }, () => [this.#pick(['k', 'o', 'b', 'q', 'r', 's', 'u', 'v', 'have', 'items', 'events', 'done', '__proto__', this.#text()]), this.#value(depth + 1)]))
  }

  #text (): string { return Array.from({ length: this.#int(40) }, () => String.fromCharCode(this.#int(0x2ff))).join('') }

  /** a message of the protocol, then one part of it replaced by a random value */
  #near (protocol: Protocol): unknown {
    const base: Record<string, unknown> | unknown[] = protocol === GOSSIP_PROTOCOL
      ? this.#r() < 0.5
        ? { k: 'push', items: [{ o: '12D3KooWRogue', b: 1, q: this.#int(1e6), r: '{"v":2}', s: 'AAAA' }] }
        : { k: 'sync', have: { '12D3KooWRogue': [1, this.#int(1e6)] }, reply: 1 }
      : protocol === SYNC_PROTOCOL
        ? { v: 1, bucketMs: 86_400_000, notBefore: new Date(Date.now() - 86_400_000).toISOString(), counts: { 20000: 3 } }
        : [Date.now(), this.#int(1e6)]
    if (Array.isArray(base)) { base[this.#int(3)] = this.#value(); return base }
    const key = this.#pick(Object.keys(base))
    base[key] = this.#value()
    return base
  }

  next (): Payload {
    const protocol = this.#pick(PROTOCOLS)
    const roll = this.#r()
    if (roll < 0.004) return { protocol, kind: 'oversized', bytes: new Uint8Array(OVER[protocol]).fill(0x5b) }
    if (roll < 0.3) return { protocol, kind: 'bytes', bytes: Uint8Array.from({ length: this.#int(protocol === BLOCKS_PROTOCOL ? 300 : 2048) }, () => this.#int(256)) }
    if (protocol === BLOCKS_PROTOCOL) {
      // a CID the node surely does not hold, or a CID's bytes cut short
      const cid = CID.createV1(0x71, identity.digest(Uint8Array.from({ length: 32 }, () => this.#int(256)))).bytes
      return { protocol, kind: 'near', bytes: roll < 0.65 ? cid : cid.subarray(0, this.#int(cid.length)) }
    }
    if (roll < 0.65) return { protocol, kind: 'json', bytes: enc.encode(JSON.stringify(this.#value())) }
    return { protocol, kind: 'near', bytes: enc.encode(JSON.stringify(this.#near(protocol))) }
  }
}
