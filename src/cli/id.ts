/** `meshmon id [--data-dir DIR]`: this node's peer id, creating its key if missing. */
import { resolve } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreatePeerKey } from '../mesh/peer-key.js'

export async function idCommand (options: { dataDir?: string }): Promise<number> {
  const dir = resolve(options.dataDir ?? process.env.MESHMON_DATA_DIR ?? './data')
  const key = await loadOrCreatePeerKey(dir)
  process.stdout.write(`${peerIdFromPrivateKey(key).toString()}\n`)
  return 0
}
