/**
 * Events are signed by their writer's libp2p key (ed25519), and `source` is
 * that writer: a peer id embeds its ed25519 public key, so any node checks an
 * event with nothing but the event. The signature covers every field, in a
 * fixed order, behind a domain tag so it cannot be replayed as anything else.
 * Checked with Node's own crypto and a cache of keys (a peer id parse and key
 * import per event would cost more than the check).
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { BoundedSet } from '../bounded-set.js'
import type { MeshEvent, SignedEvent } from '../types.js'

const DOMAIN = 'meshmon/event/v1\n'
/** SubjectPublicKeyInfo header of an ed25519 key: the raw 32 bytes follow */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex')
/** PKCS#8 header of an ed25519 private key: the 32-byte seed follows */
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex')
const MAX_KEYS = 1024
const keys = new Map<string, KeyObject | null>()
const signers = new WeakMap<PrivateKey, KeyObject>()
/**
 * Signatures checked lately, by signature and a hash of what it covers: an
 * event taken by index sync arrives again in its log entry, and is not
 * checked twice (a check costs ~0.1-0.3 ms here, a hash a few µs).
 */
const verified = new BoundedSet(20_000)

/** The bytes a signature covers. */
export function signedBytes (e: MeshEvent): Buffer {
  const labels = Object.entries(e.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Buffer.from(DOMAIN + JSON.stringify([e.id, e.ts, e.type, e.severity, e.source, e.subject.peer, e.subject.name, e.subject.check ?? null, e.message, labels]))
}

/** Signed with Node's crypto and the key imported once (@libp2p/crypto imports it for every signature). */
export async function signEvent (e: MeshEvent, key: PrivateKey): Promise<SignedEvent> {
  if (key.type !== 'Ed25519') return { ...e, sig: Buffer.from(await key.sign(signedBytes(e))).toString('base64') }
  let signer = signers.get(key)
  if (signer === undefined) {
    signer = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, key.raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' })
    signers.set(key, signer)
  }
  return { ...e, sig: sign(null, signedBytes(e), signer).toString('base64') }
}

/** The public key of an ed25519 peer id, or null for anything else. */
function keyOf (source: string): KeyObject | null {
  let key = keys.get(source)
  if (key !== undefined) return key
  try {
    const id = peerIdFromString(source)
    key = id.type === 'Ed25519' ? createPublicKey({ key: Buffer.concat([ED25519_SPKI, id.publicKey.raw]), format: 'der', type: 'spki' }) : null
  } catch {
    key = null
  }
  if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value as string)
  keys.set(source, key)
  return key
}

/** Did `source`'s key sign this event as it is? */
export function verifyEvent (e: SignedEvent): boolean {
  const key = keyOf(e.source)
  if (key === null) return false
  const sig = Buffer.from(e.sig, 'base64')
  if (sig.length !== 64) return false
  const bytes = signedBytes(e)
  const seen = `${e.sig} ${createHash('sha256').update(bytes).digest('base64')}`
  if (verified.has(seen)) return true
  try {
    if (!verify(null, bytes, key, sig)) return false
  } catch {
    return false
  }
  verified.add(seen)
  return true
}
