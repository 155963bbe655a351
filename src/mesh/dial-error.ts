/**
 * One sentence for a failed dial, telling "not reachable" apart from "reached,
 * but the private-network handshake failed" (a different swarm key): operators
 * fix those in different places. Told apart by the error's code or class, never
 * its wording: a system error's `code` (ECONNREFUSED ...), libp2p's named errors.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET'])
const TIMED_OUT = new Set(['TimeoutError', 'AbortError'])
/**
 * What a dial into a swarm with another key ends in: the pnet nonces pass, then
 * Noise reads garbage (EncryptionFailedError, seen here) or the far end hangs up
 * mid-handshake (it-byte-stream's UnexpectedEOFError, Noise's InvalidCryptoExchangeError).
 */
const HANDSHAKE = new Set(['EncryptionFailedError', 'InvalidCryptoExchangeError', 'UnexpectedEOFError'])

/** the error and its causes (libp2p wraps; a dial of several addresses fails with an AggregateError) */
function * chain (err: any): Generator<any> {
  for (let e = err, depth = 0; e != null && depth < 5; e = e.cause, depth++) {
    yield e
    if (Array.isArray(e.errors)) for (const inner of e.errors) yield inner
  }
}

export function describeDialError (err: any, ma: Multiaddr): string {
  const errors = [...chain(err)]
  const code = errors.map(e => e?.code).find((c): c is string => typeof c === 'string' && UNREACHABLE.has(c))
  const text = `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`
  if (code !== undefined) return `bootstrap/peer ${ma.toString()} is unreachable (${code}); is meshmon running there and the port open?`
  if (errors.some(e => TIMED_OUT.has(e?.name))) {
    return `dial to ${ma.toString()} timed out (${text}); the host is unreachable or slow, or it runs with a different swarm key`
  }
  if (errors.some(e => HANDSHAKE.has(e?.name))) {
    return `reached ${ma.toString()} but the private-network handshake failed (${text}): the peer most likely uses a different swarm key`
  }
  return `dial to ${ma.toString()} failed (${text})`
}
