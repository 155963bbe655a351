import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root, found from this file whether it runs from source (tests) or compiled into .bench/ (the benchmark). */
export function repoRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'bin', 'meshmon.js'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find the repository root (bin/meshmon.js) above ' + fileURLToPath(import.meta.url))
    dir = up
  }
  return dir
}
