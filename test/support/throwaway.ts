/**
 * Throwaway identities, as a rogue swarm member makes them by the thousand:
 * an ed25519 key, its peer id, and records signed by it. Made with node:crypto
 * directly (~0.4 ms each here, a third of @libp2p/crypto's path), signed
 * the way the node verifies (heartbeat/signature.ts).
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { Envelope } from '../../src/heartbeat/gossip.js'
import type { NodeRecord } from '../../src/heartbeat/record.js'

const DOMAIN = Buffer.from('meshmon/record/2\n')
/** an ed25519 SPKI (DER) is this prefix and the 32-byte raw key */
const SPKI_PREFIX = 12

export class Throwaway {
  readonly peerId: string
  readonly #key: KeyObject

  constructor () {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    this.peerId = peerIdFromPublicKey(publicKeyFromRaw(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX))).toString()
    this.#key = privateKey
  }

  /** `record` as this identity's own, validly signed */
  envelope (record: NodeRecord): Envelope {
    const r = JSON.stringify(record)
    return { o: this.peerId, b: record.boot, q: record.seq, r, s: sign(null, Buffer.concat([DOMAIN, Buffer.from(r)]), this.#key).toString('base64') }
  }
}
