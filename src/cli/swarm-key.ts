/** `meshmon swarm-key generate [--out FILE]` */
import { writeFile } from 'node:fs/promises'
import { generateSwarmKey } from '../mesh/swarm-key.js'
import { UsageError } from './exit.js'

export async function swarmKeyGenerate (options: { out?: string }): Promise<number> {
  const key = generateSwarmKey()
  if (options.out === undefined) {
    process.stdout.write(key)
    return 0
  }
  try {
    await writeFile(options.out, key, { mode: 0o600, flag: 'wx' })
  } catch (err: any) {
    if (err.code === 'EEXIST') throw new UsageError(`${options.out} already exists; a swarm key is never overwritten (remove it first if you mean to rotate the key)`)
    throw new UsageError(`cannot write ${options.out} (${err.code ?? err.message})`)
  }
  process.stderr.write(`wrote a new swarm key to ${options.out} (mode 0600); give the same file to every node of the mesh\n`)
  return 0
}
