/**
 * OrbitDB entry signatures checked by Node's own crypto (OpenSSL) instead of
 * the pure-JS secp256k1 of @noble/curves that OrbitDB reaches through
 * @libp2p/crypto.
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
