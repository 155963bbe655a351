import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { checkScheduler, type CheckScheduler } from '../../src/checks/scheduler.js'
import { Status, type CheckResult, type CheckState } from '../../src/checks/types.js'
import { checkSchema, type CheckConfig } from '../../src/config/schema.js'
import { waitFor } from '../support/wait.js'
import { alive, tempDir } from './helpers.js'

let tmp: Awaited<ReturnType<typeof tempDir>>
let scheduler: CheckScheduler | undefined
beforeEach(async () => { tmp = await tempDir() })
afterEach(async () => {
  vi.useRealTimers()
  await scheduler?.stop()
  scheduler = undefined
  await tmp.remove()
})

const exec = (name: string, script: string, more: Record<string, unknown> = {}): CheckConfig =>
  checkSchema.parse({ name, type: 'exec', command: ['sh', '-c', script], ...more })
const lines = async (path: string): Promise<string[]> => (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(l => l !== '')
const result = (status: CheckResult['status'], output = 'x'): CheckResult => ({ status, output, perfdata: '', durationSeconds: 0.001 })

describe('checkScheduler', () => {
  it('reports every check as pending before its first run, in config order', () => {
    scheduler = checkScheduler({ checks: [exec('b', 'true'), exec('a', 'true')], now: () => 42 })
    expect(scheduler.states()).toEqual([
      { name: 'b', type: 'exec', status: Status.UNKNOWN, output: 'pending first run', perfdata: '', durationSeconds: 0, lastRun: 0, since: 42 },
      { name: 'a', type: 'exec', status: Status.UNKNOWN, output: 'pending first run', perfdata: '', durationSeconds: 0, lastRun: 0, since: 42 }
    ])
  })

  it('never overlaps runs of a check slower than its interval', async () => {
    const log = join(tmp.dir, 'log')
    const check = exec('slow', `echo start >> ${log}; sleep 0.2; echo end >> ${log}`, { interval: '20ms' })
    scheduler = checkScheduler({ checks: [check], jitterMs: () => 0 })
    scheduler.start()
    await waitFor('three finished runs', async () => (await lines(log)).filter(l => l === 'end').length >= 3, 10_000, 10)
    await scheduler.stop()
    const seen = await lines(log)
    // strictly start, end, start, end...: a second start before an end would be an overlap
    seen.forEach((l, i) => expect(l).toBe(i % 2 === 0 ? 'start' : 'end'))
  })

  it('counts a new status only after confirmRuns consecutive runs', async () => {
    const code = join(tmp.dir, 'code')
    let clock = 1000 // construction reads it once (1001); run n finishes at 1001 + n
    const changes: CheckState[] = []
    scheduler = checkScheduler({
      checks: [exec('flappy', `c=$(cat ${code}); echo "run says $c"; exit $c`, { confirmRuns: 3 })],
      now: () => ++clock,
      onChange: s => changes.push(s)
    })
    const step = async (exit: number): Promise<CheckState> => {
      await writeFile(code, String(exit))
      const [state] = await scheduler!.runOnce()
      return state!
    }
    expect(await step(0)).toMatchObject({ status: Status.OK, output: 'run says 0', since: 1002, lastRun: 1002 }) // the first run counts at once
    expect(await step(2)).toMatchObject({ status: Status.OK, output: 'run says 2', since: 1002, lastRun: 1003 })
    expect(await step(2)).toMatchObject({ status: Status.OK, since: 1002 })
    expect(await step(0)).toMatchObject({ status: Status.OK, since: 1002 }) // the streak of 2s is broken
    expect(await step(2)).toMatchObject({ status: Status.OK })
    expect(await step(2)).toMatchObject({ status: Status.OK })
    expect(await step(2)).toMatchObject({ status: Status.CRITICAL, output: 'run says 2', since: 1008, lastRun: 1008 })
    expect(await step(1)).toMatchObject({ status: Status.CRITICAL, output: 'run says 1' })
    expect(changes.map(c => [c.status, c.since])).toEqual([[Status.OK, 1002], [Status.CRITICAL, 1008]])
  })

  it('changes status at once with the default confirmRuns of 1', async () => {
    const code = join(tmp.dir, 'code')
    scheduler = checkScheduler({ checks: [exec('quick', `exit $(cat ${code})`)] })
    await writeFile(code, '0')
    expect((await scheduler.runOnce())[0]?.status).toBe(Status.OK)
    await writeFile(code, '1')
    expect((await scheduler.runOnce())[0]?.status).toBe(Status.WARNING)
  })

  it('stop() kills a running check, keeps the last real state and resolves after the processes are gone', async () => {
    const pids = join(tmp.dir, 'pids')
    const check = exec('stuck', `sleep 100 & echo $! > ${pids}; echo $$ >> ${pids}; wait`, { interval: '1h', timeout: '1h' })
    scheduler = checkScheduler({ checks: [check], jitterMs: () => 0 })
    scheduler.start()
    await waitFor('the check to start', async () => (await lines(pids)).length === 2, 5000, 10)
    await scheduler.stop()
    const [grandchild, child] = (await lines(pids)).map(Number)
    expect(alive(child!)).toBe(false)
    await waitFor('the grandchild to die', () => !alive(grandchild!), 2000, 10)
    // the killed run says nothing about the service
    expect(scheduler.states()[0]).toMatchObject({ status: Status.UNKNOWN, output: 'pending first run', lastRun: 0 })
  })

  it('stop() clears every timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const runs: string[] = []
    const run = async (c: CheckConfig): Promise<CheckResult> => { runs.push(c.name); return result(Status.OK) }
    scheduler = checkScheduler({ checks: [exec('a', 'true', { interval: '1s' }), exec('b', 'true', { interval: '3s' })], run })
    scheduler.start()
    await vi.advanceTimersByTimeAsync(7000) // jitter < 1s, then every interval
    expect(runs.filter(n => n === 'a').length).toBeGreaterThanOrEqual(6)
    expect(runs.filter(n => n === 'b').length).toBeGreaterThanOrEqual(2)
    expect(vi.getTimerCount()).toBe(2)
    await scheduler.stop()
    expect(vi.getTimerCount()).toBe(0)
    const before = runs.length
    await vi.advanceTimersByTimeAsync(60_000)
    expect(runs.length).toBe(before)
  })

  it('skips a tick while the run is going and runOnce waits for that run instead of starting another', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    let active = 0
    let maxActive = 0
    let calls = 0
    let release = (): void => {}
    const run = async (): Promise<CheckResult> => {
      calls++
      active++
      maxActive = Math.max(maxActive, active)
      await new Promise<void>(resolve => { release = resolve })
      active--
      return result(Status.WARNING, 'finally')
    }
    scheduler = checkScheduler({ checks: [exec('a', 'true', { interval: '1s' })], run, jitterMs: () => 0 })
    scheduler.start()
    await vi.advanceTimersByTimeAsync(10_500) // ten ticks due while the first run hangs
    expect(calls).toBe(1)
    const once = scheduler.runOnce()
    release()
    expect((await once)[0]).toMatchObject({ status: Status.WARNING, output: 'finally' })
    expect(calls).toBe(1)
    expect(maxActive).toBe(1)
  })

  it('reports an error thrown by onChange to onError', async () => {
    const errors: unknown[] = []
    scheduler = checkScheduler({
      checks: [exec('a', 'true')],
      run: async () => result(Status.OK),
      onChange: () => { throw new Error('listener broke') },
      onError: e => errors.push(e)
    })
    expect((await scheduler.runOnce())[0]?.status).toBe(Status.OK)
    expect(errors.map(e => (e as Error).message)).toEqual(['listener broke'])
  })

  it('a failure recording a run never escapes the timer: it goes to onError', async () => {
    const errors: unknown[] = []
    let ticks = 0
    scheduler = checkScheduler({
      checks: [exec('a', 'true', { interval: '20ms' })],
      run: async () => result(Status.OK),
      // the clock is read while recording the result: a broken one makes the bookkeeping throw
      now: () => { if (++ticks > 1) throw new Error('clock broke'); return 1 },
      jitterMs: () => 0,
      onError: e => errors.push(e)
    })
    scheduler.start()
    await waitFor('two failed ticks reported', () => errors.length >= 2, 5_000, 10)
    expect((errors[0] as Error).message).toBe('clock broke')
  })
})
