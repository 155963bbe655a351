/**
 * One sentence for a failed dial, telling "not reachable" apart from "reached,
 * but the private-network handshake failed" (a different swarm key): operators
 * fix those in different places.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET'])

export function describeDialError (err: any, ma: Multiaddr): string {
  const code: string | undefined = err?.code ?? err?.cause?.code
  const text = `${err?.name ?? 'Error'}: ${err?.message ?? String(err)}`
  if (code !== undefined && UNREACHABLE.has(code)) return `bootstrap/peer ${ma.toString()} is unreachable (${code}); is meshmon running there and the port open?`
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError' || /timed? ?out|aborted/i.test(text)) {
    return `dial to ${ma.toString()} timed out (${text}); the host is unreachable or slow, or it runs with a different swarm key`
  }
  if (/handshake|decrypt|noise|invalid.*(message|key)|EncryptionFailed|unexpected end|stream ended|end of input/i.test(text) || err?.name === 'EncryptionFailedError') {
    return `reached ${ma.toString()} but the private-network handshake failed (${text}): the peer most likely uses a different swarm key`
  }
  return `dial to ${ma.toString()} failed (${text})`
}
