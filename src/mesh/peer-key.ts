/** The node's identity lives in the data dir, so a restart keeps its peer id. */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

export async function loadOrCreatePeerKey (dataDir: string): Promise<PrivateKey> {
  const file = join(dataDir, 'peer.key')
  try {
    return privateKeyFromProtobuf(await readFile(file))
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw new Error(`cannot read the peer key ${file}: ${err.message}; move it away to make a new identity`)
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  // 'wx': never overwrite an identity another process just wrote
  await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  return key
}
