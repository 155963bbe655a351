import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

export interface Tree { dir: string, remove: () => Promise<void> }

/** A temp directory filled with `files` (relative path -> content): a stand-in /proc or /sys. */
export async function tree (files: Record<string, string> = {}): Promise<Tree> {
  const dir = await mkdtemp(join(tmpdir(), 'meshmon-machine-'))
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), content, { mode: 0o755 })
  }
  return { dir, remove: async () => { await rm(dir, { recursive: true, force: true }) } }
}
