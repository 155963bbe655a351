import { chmod, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runExec } from '../../src/checks/exec.js'
import { MAX_TEXT } from '../../src/checks/nagios.js'
import { Status } from '../../src/checks/types.js'
import { waitFor } from '../support/wait.js'
import { alive, PLUGINS, tempDir } from './helpers.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
beforeEach(async () => { tmp = await tempDir() })
afterEach(async () => { await tmp.remove() })

const sh = (script: string, timeoutMs = 10_000): Parameters<typeof runExec>[0] => ({ command: ['sh', '-c', script], timeoutMs })

describe('runExec with check_dummy', () => {
  it.each([
    [0, Status.OK, 'OK: all fine'],
    [1, Status.WARNING, 'WARNING: all fine'],
    [2, Status.CRITICAL, 'CRITICAL: all fine'],
    [3, Status.UNKNOWN, 'UNKNOWN: all fine']
  ])('exit %i is status %i with the message', async (code, status, output) => {
    const r = await runExec({ command: [`${PLUGINS}/check_dummy`, String(code), 'all fine'], timeoutMs: 10_000 })
    expect(r).toMatchObject({ status, output, perfdata: '' })
    expect(r.durationSeconds).toBeGreaterThan(0)
  })
})

describe('runExec output', () => {
  it('parses perfdata from a plugin line', async () => {
    const r = await runExec(sh('echo "OK - fine | a=1;2;3"'))
    expect(r).toMatchObject({ status: Status.OK, output: 'OK - fine', perfdata: 'a=1;2;3' })
  })

  it('adds long-output perfdata lines', async () => {
    const r = await runExec(sh('printf "WARN - x | a=1\\ndetail\\nmore | b=2\\nc=3\\n"; exit 1'))
    expect(r).toMatchObject({ status: Status.WARNING, output: 'WARN - x', perfdata: 'a=1 b=2 c=3' })
  })

  it('falls back to stderr when stdout is empty', async () => {
    const r = await runExec(sh('echo "broken: no config" >&2; exit 2'))
    expect(r).toMatchObject({ status: Status.CRITICAL, output: 'broken: no config' })
  })

  it('reports exit codes outside 0..3 and signals as UNKNOWN', async () => {
    expect(await runExec(sh('echo odd; exit 4'))).toMatchObject({ status: Status.UNKNOWN, output: 'exit code 4: odd' })
    expect(await runExec(sh('echo dying; kill -SEGV $$'))).toMatchObject({ status: Status.UNKNOWN, output: 'killed by SIGSEGV: dying' })
    expect(await runExec(sh('exit 0'))).toMatchObject({ status: Status.OK, output: '(no output)' })
  })

  it('drains megabytes of output without blocking the child, keeping a capped line', async () => {
    // one 20 MB line: if we stopped reading, `tr` would block on a full pipe and the run would time out
    const r = await runExec(sh('head -c 20000000 /dev/zero | tr "\\0" y; exit 1', 30_000))
    expect(r.status).toBe(Status.WARNING)
    expect(r.output.length).toBeLessThanOrEqual(MAX_TEXT)
    expect(r.output.startsWith('yyyy')).toBe(true)
    const lines = await runExec(sh('yes | head -c 20000000; exit 1', 30_000))
    expect(lines).toMatchObject({ status: Status.WARNING, output: 'y' })
  })

  it('keeps at most maxOutputBytes of a stream', async () => {
    const r = await runExec({ ...sh('head -c 5000 /dev/zero | tr "\\0" x'), maxOutputBytes: 100 })
    expect(r.output).toBe('x'.repeat(100))
  })
})

describe('runExec failures', () => {
  it('kills the whole process group on timeout and says so', async () => {
    const pids = join(tmp.dir, 'pids')
    // the background sleep is a grandchild: it only dies if the whole group is killed
    const r = await runExec({ command: ['sh', '-c', `sleep 100 & echo $! > ${pids}; echo $$ >> ${pids}; sleep 100`], timeoutMs: 1000 })
    expect(r).toMatchObject({ status: Status.CRITICAL, output: 'timed out after 1s' })
    expect(r.durationSeconds).toBeGreaterThanOrEqual(0.9)
    const [grandchild, child] = (await readFile(pids, 'utf8')).trim().split('\n').map(Number)
    expect(grandchild).toBeGreaterThan(0)
    expect(child).toBeGreaterThan(0)
    expect(alive(child!)).toBe(false) // runExec resolves only after the child has exited
    await waitFor('the grandchild to die', () => !alive(grandchild!), 2000, 10)
  })

  it('does not wait for (and kills) a background child left holding the output pipe', async () => {
    const pidFile = join(tmp.dir, 'pid')
    const r = await runExec({ command: ['sh', '-c', `sleep 100 & echo $! > ${pidFile}; echo "OK - done"`], timeoutMs: 30_000 })
    expect(r).toMatchObject({ status: Status.OK, output: 'OK - done' })
    expect(r.durationSeconds).toBeLessThan(5) // not the 30 s timeout
    const leftover = Number(await readFile(pidFile, 'utf8'))
    await waitFor('the leftover to die', () => !alive(leftover), 2000, 10)
  })

  it('names a missing command', async () => {
    const missing = join(tmp.dir, 'no-such-plugin')
    expect(await runExec({ command: [missing], timeoutMs: 5000 }))
      .toMatchObject({ status: Status.UNKNOWN, output: `command not found: ${missing}` })
  })

  it('names a command that is not executable', async () => {
    const file = join(tmp.dir, 'check_noexec')
    await writeFile(file, '#!/bin/sh\necho OK\n')
    await chmod(file, 0o644) // no x bit for anyone: even root gets EACCES
    expect(await runExec({ command: [file], timeoutMs: 5000 }))
      .toMatchObject({ status: Status.UNKNOWN, output: `command not executable: ${file} (permission denied)` })
  })

  it('stops and reports UNKNOWN when aborted', async () => {
    const pidFile = join(tmp.dir, 'pid')
    const controller = new AbortController()
    const run = runExec({ command: ['sh', '-c', `echo $$ > ${pidFile}; exec sleep 100`], timeoutMs: 60_000, signal: controller.signal })
    await waitFor('the pid file', async () => (await readFile(pidFile, 'utf8').catch(() => '')).trim() !== '', 5000, 10)
    controller.abort()
    expect(await run).toMatchObject({ status: Status.UNKNOWN, output: 'aborted' })
    expect(alive(Number(await readFile(pidFile, 'utf8')))).toBe(false)
  })
})
