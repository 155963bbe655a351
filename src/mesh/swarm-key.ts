/**
 * The IPFS swarm.key v1 format (what @libp2p/pnet reads):
 *   /key/swarm/psk/1.0.0/
 *   /base16/
 *   <64 hex chars>
 * Parsed here so a malformed key is a clear config error, not a libp2p stack trace.
 */
import { randomBytes } from 'node:crypto'

const HEADER = '/key/swarm/psk/1.0.0/'

export function generateSwarmKey (): string {
  return `${HEADER}\n/base16/\n${randomBytes(32).toString('hex')}\n`
}

/** Why a text is not a swarm key, or undefined when it is one. */
export function swarmKeyProblem (text: string): string | undefined {
  const lines = text.split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
  if (lines[0] !== HEADER) return `the first line must be ${HEADER}`
  if (lines[1] !== '/base16/') return 'the second line must be /base16/'
  if (lines[2] === undefined || !/^[0-9a-fA-F]{64}$/.test(lines[2])) return 'the third line must be 64 hex characters (32 bytes)'
  if (lines.length > 3) return 'it has extra lines after the key'
  return undefined
}

/** The key in the exact bytes pnet expects (normalised line endings). */
export function normaliseSwarmKey (text: string): Uint8Array {
  const lines = text.split(/\r?\n/).map(l => l.trim()).filter(l => l !== '')
  return new TextEncoder().encode(`${lines[0]}\n${lines[1]}\n${lines[2]?.toLowerCase()}`)
}
