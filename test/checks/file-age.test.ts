import { mkdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { globToRegExp, runFileAge } from '../../src/checks/file-age.js'
import { Status } from '../../src/checks/types.js'
import { tempDir } from './helpers.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeEach(async () => { tmp = await tempDir() })
afterEach(async () => { await tmp.remove() })

/** Create `name` with its mtime `secondsAgo` in the past. */
async function file (name: string, secondsAgo: number): Promise<string> {
  const path = join(tmp.dir, name)
  await writeFile(path, name)
  const t = new Date(Date.now() - secondsAgo * 1000)
  await utimes(path, t, t)
  return path
}

describe('runFileAge', () => {
  it('grades one file by age against warnAge and critAge', async () => {
    const path = await file('stamp', 30)
    const r = await runFileAge({ path, warnAgeMs: 60_000, critAgeMs: 120_000 })
    expect(r.status).toBe(Status.OK)
    expect(r.output).toMatch(new RegExp(`^${path} is 3\\ds old$`))
    expect(r.perfdata).toMatch(/^age=3\ds;60;120;0$/)
    await file('stamp', 90)
    expect((await runFileAge({ path, warnAgeMs: 60_000, critAgeMs: 120_000 })).status).toBe(Status.WARNING)
    await file('stamp', 200)
    expect((await runFileAge({ path, warnAgeMs: 60_000, critAgeMs: 120_000 })).status).toBe(Status.CRITICAL)
    expect((await runFileAge({ path, critAgeMs: 300_000 })).status).toBe(Status.OK) // no warnAge: only critAge counts
  })

  it('uses the newest file matching a glob', async () => {
    await file('app_log_1', 5000)
    const newest = await file('app_log_2', 10)
    await file('app_log_3', 3000)
    await file('other_2', 1) // newer, but does not match
    const r = await runFileAge({ path: join(tmp.dir, 'app_log_?'), critAgeMs: 60_000 })
    expect(r.status).toBe(Status.OK)
    expect(r.output).toMatch(new RegExp(`^${newest} \\(newest matching ${tmp.dir}/app_log_\\?\\) is 1\\ds old$`))
    expect((await runFileAge({ path: join(tmp.dir, 'app_*'), critAgeMs: 5_000 })).status).toBe(Status.CRITICAL)
  })

  it('is CRITICAL when nothing matches', async () => {
    const path = join(tmp.dir, 'app_log_*')
    expect(await runFileAge({ path, critAgeMs: 60_000 })).toMatchObject({ status: Status.CRITICAL, output: `no file matches ${path}` })
    const missing = join(tmp.dir, 'nope', 'x')
    expect(await runFileAge({ path: missing, critAgeMs: 60_000 })).toMatchObject({ status: Status.CRITICAL, output: `no file matches ${missing}` })
  })

  it('refuses wildcards outside the last path component', async () => {
    await mkdir(join(tmp.dir, 'd1'))
    const r = await runFileAge({ path: join(tmp.dir, 'd*', 'x'), critAgeMs: 60_000 })
    expect(r.status).toBe(Status.UNKNOWN)
  })
})

describe('globToRegExp', () => {
  it('matches * and ? like sh, literally otherwise, and not a leading dot', () => {
    const re = globToRegExp('db-*.sql.?z')
    expect(['db-1.sql.gz', 'db-.sql.xz'].every(n => re.test(n))).toBe(true)
    expect(['db-1.sqlXgz', 'db-1.sql.gzz', 'xdb-1.sql.gz'].some(n => re.test(n))).toBe(false)
    expect(globToRegExp('*').test('.hidden')).toBe(false)
    expect(globToRegExp('.*').test('.hidden')).toBe(true)
    expect(globToRegExp('a(b)+[c]').test('a(b)+[c]')).toBe(true)
  })
})
