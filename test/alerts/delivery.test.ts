/**
 * What goes on the wire, timed, against a stand-in for Alertmanager that
 * records every POST (Alertmanager's own API hides resolved alerts, so the
 * exact resolved payloads are checked here; the real one is in
 * alertmanager.test.ts and outage.test.ts).
 */
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { alerting, type Alerting, type AlertingInit } from '../../src/alerts/index.js'
import { FakeAlertmanager } from './fake-alertmanager.js'
import { freePort } from '../support/ports.js'
import { waitFor } from '../support/wait.js'
import { failing, MeshView, recordingLog } from './helpers.js'

describe('delivery to Alertmanager URLs', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => { for (const fn of cleanup.splice(0).reverse()) await fn() })

  const fake = async (): Promise<FakeAlertmanager> => {
    const f = await new FakeAlertmanager().start()
    cleanup.push(async () => { await f.stop() })
    return f
  }
  const pusher = (view: MeshView, init: Partial<AlertingInit> & { urls: string[] }, log = pino({ level: 'silent' })): Alerting => {
    const p = alerting({ table: view.table, log }, { resendIntervalMs: 60_000, mesh: 'm', generatorURL: 'http://a:9521/api/v1/peers', retryInitialMs: 50, ...init })
    cleanup.push(async () => { await p.stop() })
    p.start()
    return p
  }

  it('while a URL fails it keeps one state per alert, then delivers the current state of each once', async () => {
    const am = await fake()
    am.status = 503
    const { log, lines } = recordingLog()
    const view = new MeshView('a')
    for (const id of ['X', 'Y', 'Z']) view.hear(id, `n-${id}`)
    const p = pusher(view, { urls: [am.url], resendIntervalMs: 400 }, log)
    const downX = view.down('X').stateSince
    const downY = view.down('Y').stateSince
    await waitFor('a failed send', () => p.sends().error >= 1)
    view.hear('Y', 'n-Y') // Y came back during the outage
    for (const out of ['disk 91%', 'disk 92%', 'disk 93%']) view.hear('Z', 'n-Z', [failing('disk', 1, out, 1_000)])
    await waitFor('Y resolved and retries failing', () => p.alerts().length === 2 && p.sends().error >= 3)
    const resolvedBy = Date.now()
    am.status = 200
    await waitFor('a delivery, acknowledged', () => am.posts.length > 0 && p.sends().success >= 1)
    const [first] = am.posts
    // one entry per alert, each in its current state: not a replay of every failed batch
    expect(first?.alerts).toHaveLength(3)
    const x = am.sent({ peer: 'X' })[0]
    expect(x?.startsAt).toBe(new Date(downX).toISOString())
    expect(Date.parse(x?.endsAt ?? '') - (x?.at ?? 0)).toBeGreaterThan(1_000) // active: 4 x 400 ms ahead
    const y = am.sent({ peer: 'Y' })[0]
    expect(y?.startsAt).toBe(new Date(downY).toISOString())
    expect(Date.parse(y?.endsAt ?? '')).toBeLessThanOrEqual(resolvedBy) // resolved when it came back, during the outage
    expect(am.sent({ peer: 'Z' })[0]?.annotations.description).toBe('disk 93%')
    expect(lines.filter(l => l.level === 40)).toHaveLength(1)
    expect(lines.filter(l => l.level === 30)).toHaveLength(1)
  })

  it('re-sends active alerts every resendInterval with endsAt 4 intervals ahead; resolved ones a few times, then forgets them', async () => {
    const am = await fake()
    const view = new MeshView('a')
    view.hear('X', 'n-X')
    view.hear('Y', 'n-Y')
    pusher(view, { urls: [am.url], resendIntervalMs: 200, resolvedResendCount: 2 })
    view.down('X')
    view.down('Y')
    await waitFor('three sends of X', () => am.sent({ peer: 'X' }).length >= 3)
    for (const a of am.sent({ peer: 'X' })) expect(Date.parse(a.endsAt ?? '') - a.at).toBeGreaterThan(600)
    const ends = am.sent({ peer: 'X' }).map(a => Date.parse(a.endsAt ?? ''))
    expect(ends[2]).toBeGreaterThan(ends[0] ?? Infinity) // pushed forward at each resend
    view.hear('Y', 'n-Y')
    await waitFor('Y resolved', () => am.sent({ peer: 'Y' }).some(a => Date.parse(a.endsAt ?? '') <= a.at))
    const resolvedFrom = am.posts.length
    // X keeps time: after 4 more rounds Y must have been sent exactly 1 + resolvedResendCount times
    await waitFor('4 more rounds', () => am.posts.slice(resolvedFrom).filter(p => p.alerts.some(a => a.labels.peer === 'X')).length >= 4)
    const resolvedSends = am.sent({ peer: 'Y' }).filter(a => Date.parse(a.endsAt ?? '') <= a.at)
    expect(resolvedSends).toHaveLength(3)
    expect(new Set(resolvedSends.map(a => a.endsAt)).size).toBe(1) // always the time it resolved
  })

  it('pushes at once on the peer table\'s events, not at the next evaluation', async () => {
    const am = await fake()
    const view = new MeshView('a')
    view.hear('X', 'n-X')
    pusher(view, { urls: [am.url], evaluateMs: 60_000 })
    view.down('X')
    await waitFor('MeshPeerDown pushed', () => am.sent({ alertname: 'MeshPeerDown' }).length === 1, 1_000)
    view.hear('X', 'n-X', [failing('web', 2, 'HTTP CRITICAL')])
    await waitFor('MeshCheckFailed pushed, MeshPeerDown resolved', () => am.sent({ alertname: 'MeshCheckFailed' }).length === 1 &&
      am.sent({ alertname: 'MeshPeerDown' }).length === 2, 1_000)
  })

  it('each URL on its own: a dead one does not hold back a live one; sends are counted by result', async () => {
    const am = await fake()
    const dead = `http://127.0.0.1:${await freePort()}`
    const view = new MeshView('a')
    view.hear('X', 'n-X')
    const p = pusher(view, { urls: [dead, am.url] })
    view.down('X')
    await waitFor('delivered to the live URL', () => am.posts.length === 1 && p.sends().success === 1)
    await waitFor('the dead one retried', () => p.sends().error >= 2)
    expect(p.sends().success).toBe(1)
  })

  it('caps the alerts it holds and says so once', async () => {
    const am = await fake()
    const { log, lines } = recordingLog()
    const view = new MeshView('a')
    const p = pusher(view, { urls: [am.url], maxAlerts: 2 }, log)
    view.hear('X', 'n-X', ['a', 'b', 'c'].map(n => failing(n, 2, 'down')))
    await waitFor('two delivered', () => am.sent({ peer: 'X' }).length === 2)
    await waitFor('a few evaluations', () => lines.some(l => l.msg.startsWith('too many alerts')))
    expect(p.alerts()).toHaveLength(3) // the API still shows what the node derives
    expect(lines.filter(l => l.msg.startsWith('too many alerts'))).toHaveLength(1)
  })
})
