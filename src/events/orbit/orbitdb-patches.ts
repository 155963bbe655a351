/**
 * The two places meshmon reaches into @orbitdb/core 3.0.2, fenced as patches
 * `orbitdb-heads` and `orbitdb-verify` (src/patches.ts: pinned, checked at
 * start-up, reported, switchable).
 *
 * 1. Received heads kept in hand (keepReceivedHeads), by wrapping the log's
 * `joinEntry`. Upstream would make it unnecessary by storing a head's block
 * from the bytes it arrived in.
 * A head arrives whole (pubsub or the head exchange), but OrbitDB hands the
 * log only the decoded entry, and the log then "persists" it by hash: through
 * Helia that is a network fetch of a block we already had in hand. Over
 * bitswap (before block-exchange.ts) every event entry became ~19 fetches at
 * 20 nodes, each want sent to every connected peer. While the log joins
 * a head, the entry is kept here, and `persist` stores its bytes (re-encoded:
 * the same dag-cbor, checked against its hash) instead of fetching them. Only
 * entries the log has verified are persisted, so only those are stored, and
 * a head the log already holds is never encoded.
 *
 * 2. OrbitDB entry signatures checked by Node's own crypto (OpenSSL) instead of
 * the pure-JS secp256k1 of @noble/curves that OrbitDB reaches through
 * @libp2p/crypto, by replacing the identity's `verify`. Upstream would make it
 * unnecessary by verifying through a native implementation where there is one.
 *
 * Every entry a peer replicates is verified once. Profiled here (a fresh peer
 * catching up on one-event entries): noble's verify took ~2.4 ms an entry, a
 * third of the CPU of the catch-up. The same check through OpenSSL takes a
 * small fraction of that.
 *
 * Same answer as OrbitDB's `verifyMessage` (key-store.js): ECDSA over SHA-256
 * of the data, secp256k1 public key (hex, compressed or not), DER signature
 * (hex), high-S signatures refused as noble refuses them. Anything else it
 * was given (a compact signature, a string payload, a key OpenSSL won't take)
 * goes to OrbitDB's own verify, unchanged.
 */
import { createPublicKey, verify as ecdsaVerify, type KeyObject } from 'node:crypto'
import { Entry, type Identity, type Log, type LogEntry } from '@orbitdb/core'

/** While the log joins an entry, hold it so its block is stored from hand, not fetched (see 1. above). */
export function keepReceivedHeads (log: Log, inHand: Map<string, LogEntry>): void {
  const join = log.joinEntry.bind(log)
  log.joinEntry = async (entry: LogEntry): Promise<boolean> => {
    if (inHand.has(entry.hash)) return await join(entry)
    inHand.set(entry.hash, entry)
    try {
      return await join(entry)
    } finally {
      inHand.delete(entry.hash)
    }
  }
}

/** Start-up check of `orbitdb-heads`: the log still joins entries through a `joinEntry` it looks up on itself. */
export const canKeepReceivedHeads = (log: Log): boolean => typeof log.joinEntry === 'function'

/** The bytes of an entry held in hand, if it encodes to its hash. */
export async function bytesInHand (inHand: Map<string, LogEntry> | undefined, hash: string): Promise<Uint8Array | undefined> {
  const entry = inHand?.get(hash)
  if (entry === undefined) return undefined
  const encoded = await Entry.encode(entry)
  return encoded.hash === hash ? encoded.bytes : undefined
}

export type VerifyFn = (signature: string, publicKey: string, data: Uint8Array | string) => Promise<boolean>

// SubjectPublicKeyInfo headers: id-ecPublicKey, secp256k1, then the point
const SPKI_COMPRESSED = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex')
const SPKI_UNCOMPRESSED = Buffer.from('3056301006072a8648ce3d020106052b8104000a034200', 'hex')
/** secp256k1 group order / 2: noble only accepts s <= this */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n
const HEX = /^(?:[0-9a-fA-F]{2})+$/

/** s of a DER ECDSA signature, or undefined when `sig` is not one */
export function derS (sig: Uint8Array): bigint | undefined {
  if (sig.length < 8 || sig[0] !== 0x30 || sig[1] !== sig.length - 2 || sig[2] !== 0x02) return undefined
  const rLen = sig[3] as number
  const sAt = 4 + rLen
  if (sig[sAt] !== 0x02) return undefined
  const sLen = sig[sAt + 1] as number
  if (sAt + 2 + sLen !== sig.length || sLen === 0 || sLen > 33) return undefined
  return BigInt('0x' + Buffer.from(sig.subarray(sAt + 2)).toString('hex'))
}

export function nativeVerify (fallback: VerifyFn, maxKeys = 256): VerifyFn {
  const keys = new Map<string, KeyObject | null>()
  const keyOf = (publicKey: string): KeyObject | null => {
    let key = keys.get(publicKey)
    if (key !== undefined) return key
    const raw = Buffer.from(publicKey, 'hex')
    const header = raw.length === 33 ? SPKI_COMPRESSED : raw.length === 65 ? SPKI_UNCOMPRESSED : undefined
    try {
      key = header === undefined ? null : createPublicKey({ key: Buffer.concat([header, raw]), format: 'der', type: 'spki' })
    } catch {
      key = null
    }
    if (keys.size >= maxKeys) keys.delete(keys.keys().next().value as string)
    keys.set(publicKey, key)
    return key
  }
  return async (signature, publicKey, data) => {
    if (typeof data === 'string' || typeof signature !== 'string' || typeof publicKey !== 'string' || !HEX.test(signature) || !HEX.test(publicKey)) {
      return await fallback(signature, publicKey, data)
    }
    const key = keyOf(publicKey)
    const sig = Buffer.from(signature, 'hex')
    const s = derS(sig)
    if (key === null || s === undefined) return await fallback(signature, publicKey, data)
    if (s > HALF_N) return false
    try {
      return ecdsaVerify('sha256', data, { key, dsaEncoding: 'der' }, sig)
    } catch {
      return false
    }
  }
}

/**
 * Start-up check of `orbitdb-verify`: the identity signs as OrbitDB does, and
 * the native check takes that signature itself (never handing it to the
 * fallback) and finds it good.
 */
export async function nativeVerifyWorks (identity: Identity): Promise<boolean> {
  if (typeof identity.sign !== 'function' || typeof identity.verify !== 'function') return false
  const data = new TextEncoder().encode('meshmon orbitdb-verify start-up check')
  let fellBack = false
  try {
    const sig = await identity.sign(identity, data)
    const ok = await nativeVerify(async () => { fellBack = true; return false })(sig, identity.publicKey, data)
    return ok && !fellBack
  } catch {
    return false
  }
}
