/**
 * Records are signed by their origin's libp2p key (ed25519; the peer id
 * embeds the public key, so no key exchange is needed) and checked by every
 * receiver, because any peer may relay them. Through node:crypto directly:
 * synchronous, OpenSSL, and the public key object cached per origin.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

const DOMAIN = Buffer.from('meshmon/record/2\n')
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')

export class SignatureError extends Error {
  override name = 'SignatureError'
}

/** A signer for this node's records: base64 signature of the record's JSON. */
export function recordSigner (key: PrivateKey): (json: string) => string {
  if (key.type !== 'Ed25519') throw new SignatureError(`records are signed with ed25519 keys; this node's key is ${key.type}`)
  const pk = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, key.raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
  return json => sign(null, Buffer.concat([DOMAIN, Buffer.from(json)]), pk).toString('base64')
}

/** Checks records' signatures against their origin's peer id; remembers the last `maxKeys` public keys. */
export function recordVerifier (maxKeys = 4096): (origin: string, json: string, signature: string) => boolean {
  const keys = new Map<string, KeyObject | null>()
  const keyOf = (origin: string): KeyObject | null => {
    let key = keys.get(origin)
    if (key !== undefined) return key
    try {
      const id = peerIdFromString(origin)
      key = id.type === 'Ed25519' && id.publicKey !== undefined
        ? createPublicKey({ key: Buffer.concat([SPKI_ED25519, id.publicKey.raw]), format: 'der', type: 'spki' })
        : null
    } catch {
      key = null
    }
    if (keys.size >= maxKeys) keys.delete(keys.keys().next().value as string)
    keys.set(origin, key)
    return key
  }
  return (origin, json, signature) => {
    const key = keyOf(origin)
    if (key === null) return false
    try {
      return verify(null, Buffer.concat([DOMAIN, Buffer.from(json)]), key, Buffer.from(signature, 'base64'))
    } catch {
      return false
    }
  }
}
