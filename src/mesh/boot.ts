/**
 * Each start gets a boot number that only grows, even if the clock steps back:
 * receivers reject heartbeats whose (boot, seq) does not grow (replays).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export async function nextBoot (dataDir: string, now = Date.now()): Promise<number> {
  const file = join(dataDir, 'boot')
  const previous = Number((await readFile(file, 'utf8').catch(() => '0')).trim()) || 0
  const boot = Math.max(now, previous + 1)
  await writeFile(file, `${boot}\n`)
  return boot
}
