import { describe, expect, it } from 'vitest'
import { CHECK_TEXT_MAX, type CheckState } from '../../src/checks/types.js'
import { checkRecord, fitRecord, RECORD_LIMITS, recordBytes } from '../../src/heartbeat/record.js'
import { record } from '../support/record.js'
import { syntheticMachine } from '../support/synthetic.js'

const check = (i: number, output: string, perfdata: string): CheckState => ({
  name: `disk-${i}`, type: 'exec', status: 1, output, perfdata, durationSeconds: 0.1, lastRun: Date.now(), since: Date.now()
})

describe('the record a node sends is one its peers accept', () => {
  it('check_disk over many mounts (outputs and perfdata at their bound): fitted under 64 KiB, perfdata dropped first', () => {
    const long = 'DISK WARNING - free space: ' + 'x'.repeat(CHECK_TEXT_MAX)
    const r = record({ machine: syntheticMachine(1), checks: Array.from({ length: 40 }, (_, i) => check(i, long.slice(0, CHECK_TEXT_MAX), 'p'.repeat(CHECK_TEXT_MAX))) })
    expect(recordBytes(r)).toBeGreaterThan(RECORD_LIMITS.bytes)
    const fitted = fitRecord(r)
    expect(recordBytes(fitted)).toBeLessThanOrEqual(RECORD_LIMITS.bytes)
    expect(fitted.checks).toHaveLength(40)
    expect(fitted.checks.every(c => c.perfdata === '')).toBe(true)
    expect(fitted.checks[0]?.output).toBe(long.slice(0, CHECK_TEXT_MAX))
    expect(checkRecord(JSON.parse(JSON.stringify(fitted)), Date.now())).toMatchObject({ ok: true })
  })

  it('even 256 checks with the longest outputs fit, by cutting outputs then checks', () => {
    const r = record({ checks: Array.from({ length: RECORD_LIMITS.checks }, (_, i) => check(i, 'o'.repeat(CHECK_TEXT_MAX), 'p'.repeat(CHECK_TEXT_MAX))) })
    const fitted = fitRecord(r)
    expect(recordBytes(fitted)).toBeLessThanOrEqual(RECORD_LIMITS.bytes)
    expect(checkRecord(JSON.parse(JSON.stringify(fitted)), Date.now())).toMatchObject({ ok: true })
    expect(fitted.checks.length).toBeGreaterThan(100)
  })

  it('refuses times far ahead of this node\'s clock, naming the field', () => {
    const now = Date.now()
    const r = record({ checks: [{ ...check(1, 'x', ''), since: 1e20 }] })
    const v = checkRecord(JSON.parse(JSON.stringify(r)), now)
    expect(v.ok).toBe(false)
    if (!v.ok) expect(v.error).toMatchObject({ reason: 'clock', detail: expect.stringMatching(/check disk-1 since/) })
  })

  it('says whether its node is on the small side of a split: true or absent, nothing else', () => {
    expect(checkRecord(JSON.parse(JSON.stringify(record({ split: true }))), Date.now())).toMatchObject({ ok: true, record: { split: true } })
    expect(checkRecord({ ...JSON.parse(JSON.stringify(record({}))), split: 'yes' }, Date.now())).toMatchObject({ ok: false, error: { reason: 'schema', detail: expect.stringMatching(/^split/) } })
  })
})
