/**
 * Alertmanager behind credentials and TLS, the real one (its
 * --web.config.file: basic_auth_users with a bcrypt hash from htpasswd,
 * tls_server_config with a CA made by openssl in the test). Alerts arrive;
 * refused credentials are reported, counted and retried, never dropped; no
 * credential shows in any log line or error.
 */
import { execFile } from 'node:child_process'
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { alerting, type Alerting, type AlertingInit } from '../../src/alerts/index.js'
import { metricsEndpoint } from '../../src/metrics/index.js'
import { lacks } from '../support/packages.js'
import { freePort } from '../support/ports.js'
import { Procs } from '../support/procs.js'
import { makeTestPki, OPENSSL, type TestPki } from '../support/tls.js'
import { waitFor } from '../support/wait.js'
import { ALERTMANAGER, amAlerts, MeshView, recordingLog, startAlertmanager } from './helpers.js'

const HTPASSWD = '/usr/bin/htpasswd'
const PASSWORD = 'pw-7Hq2xZ9kLm'
const WRONG = 'wrong-Xy81Qp'

async function bcrypt (password: string): Promise<string> {
  const { stdout } = await promisify(execFile)(HTPASSWD, ['-nbB', 'meshmon', password], { timeout: 20_000 })
  return stdout.trim().split(':')[1] as string
}

/** the pusher's log lines, as text, for looking for secrets */
const logText = (lines: unknown[]): string => lines.map(l => JSON.stringify(l)).join('\n')

const missing = lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('apache2-utils', HTPASSWD) || lacks('openssl', OPENSSL)

describe.skipIf(missing)('Alertmanager with basic auth and TLS', () => {
  const procs = new Procs()
  const pushers: Alerting[] = []
  let dir: string
  let pki: TestPki
  let basicPort: number
  let tlsPort: number
  let clientTls: { ca: Buffer, cert: Buffer, key: Buffer }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-am-auth-'))
    pki = await makeTestPki(dir)
    clientTls = { ca: await pki.pem(pki.caCert), cert: await pki.pem(pki.clientCert), key: await pki.pem(pki.clientKey) }
    const hash = await bcrypt(PASSWORD)
    basicPort = await freePort()
    basicAm = `http://127.0.0.1:${basicPort}`
    tlsPort = await freePort()
    const basicDir = join(dir, 'basic')
    const tlsDir = join(dir, 'tls')
    await Promise.all([basicDir, tlsDir].map(async d => { await promisify(execFile)('mkdir', ['-p', d]) }))
    await startAlertmanager(procs, basicDir, basicPort, { config: `basic_auth_users:\n  meshmon: '${hash}'\n`, access: { basic: `meshmon:${PASSWORD}` } })
    await startAlertmanager(procs, tlsDir, tlsPort, {
      config: `tls_server_config:\n  cert_file: ${pki.serverCert}\n  key_file: ${pki.serverKey}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caCert}\n`,
      access: { tls: clientTls }
    })
  })
  afterEach(async () => { for (const p of pushers.splice(0)) await p.stop() })
  afterAll(async () => {
    await procs.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  const push = (view: MeshView, init: Partial<AlertingInit> & { urls: string[] }, log = recordingLog().log): Alerting => {
    const p = alerting({ table: view.table, log }, { resendIntervalMs: 1_000, retryInitialMs: 100, mesh: 'auth', generatorURL: 'http://a:9521/api/v1/peers', ...init })
    pushers.push(p)
    p.start()
    return p
  }
  const downPeer = (mesh: string): MeshView => {
    const view = new MeshView('a')
    view.hear(`12D3KooW${mesh}`, `node-${mesh}`)
    view.down(`12D3KooW${mesh}`)
    return view
  }
  let basicAm: string
  const access = { basic: `meshmon:${PASSWORD}` }

  it('basic auth from the URL: delivered; the password is in no log line', async () => {
    const { log, lines } = recordingLog()
    const p = push(downPeer('url'), { urls: [`http://meshmon:${PASSWORD}@127.0.0.1:${basicPort}`], mesh: 'url' }, log)
    await waitFor('the alert in Alertmanager', async () => (await amAlerts(basicAm, 'url', undefined, access)).length === 1)
    expect(p.sends()).toMatchObject({ error: 0, unauthorized: 0 })
    expect(logText(lines)).not.toContain(PASSWORD)
  })

  it('wrong credentials: counted as unauthorized, one warning, alerts kept; delivered once the credentials work again', async () => {
    const { log, lines } = recordingLog()
    const view = downPeer('refused')
    const p = push(view, { urls: [`http://127.0.0.1:${basicPort}`], mesh: 'refused', http: { basicAuth: { username: 'meshmon', password: WRONG } } }, log)
    await waitFor('three refused sends', () => p.sends().unauthorized >= 3)
    expect(p.sends()).toMatchObject({ success: 0, error: 0 })
    const warnings = lines.filter(l => l.level === 40)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatchObject({ url: `http://127.0.0.1:${basicPort}`, msg: expect.stringMatching(/refused the credentials; keeping alerts and retrying/) })
    expect(String(warnings[0]?.err)).toMatch(/^HTTP 401/)
    // the metric operators watch
    const metrics = metricsEndpoint(view.table, { peerId: 'p', name: 'a', gossip: () => ({ received: 0, invalid: {} }), connectedPeers: () => 0, alertmanagerSends: () => p.sends() })
    expect((await metrics.handler()).body.toString()).toMatch(/^meshmon_alertmanager_sends_total\{result="unauthorized",peer="p",node="a"\} [3-9]\d*$/m)
    // the credentials start to work (Alertmanager re-reads its web config on every request): the kept alert arrives
    const web = join(dir, 'basic', 'web.yml')
    await writeFile(web, `basic_auth_users:\n  meshmon: '${await bcrypt(WRONG)}'\n`)
    try {
      await waitFor('delivered after all', async () => (await amAlerts(basicAm, 'refused', undefined, { basic: `meshmon:${WRONG}` })).length === 1, 20_000)
    } finally {
      await writeFile(web, `basic_auth_users:\n  meshmon: '${await bcrypt(PASSWORD)}'\n`)
    }
    expect(lines.some(l => l.level === 30 && /reachable again/.test(l.msg))).toBe(true)
    expect(logText(lines)).not.toContain(WRONG)
  })

  it('refused credentials are warned about again while they last, at the interval set', async () => {
    const { log, lines } = recordingLog()
    const url = `http://meshmon:${WRONG}@127.0.0.1:${basicPort}`
    const p = push(downPeer('quiet'), { urls: [url], mesh: 'quiet', resendIntervalMs: 100, retryInitialMs: 20 }, log)
    await waitFor('several refused sends', () => p.sends().unauthorized >= 4)
    expect(lines.filter(l => l.level === 40)).toHaveLength(1) // the default: again after 5 minutes
    const often = recordingLog()
    const q = push(downPeer('often'), { urls: [url], mesh: 'often', resendIntervalMs: 100, retryInitialMs: 20, refusedLogEveryMs: 1 }, often.log)
    await waitFor('several warnings', () => often.lines.filter(l => l.level === 40).length >= 3)
    expect(q.sends()).toMatchObject({ success: 0, error: 0 })
    expect(logText([...lines, ...often.lines])).not.toContain(WRONG)
  })

  it('TLS: an unknown CA is an error naming alertmanager.tls.caFile; with the CA and a client certificate (mTLS) it is delivered', async () => {
    const url = `https://127.0.0.1:${tlsPort}`
    const noCa = recordingLog()
    const a = push(downPeer('noca'), { urls: [url], mesh: 'noca' }, noCa.log)
    await waitFor('a failed send', () => a.sends().error >= 1)
    expect(String(noCa.lines.find(l => l.level === 40)?.err)).toMatch(/alertmanager\.tls\.caFile/)
    const noCert = recordingLog()
    const b = push(downPeer('nocert'), { urls: [url], mesh: 'nocert', http: { tls: { ca: clientTls.ca } } }, noCert.log)
    await waitFor('a failed send', () => b.sends().error >= 1)
    expect(b.sends().success).toBe(0)
    const c = push(downPeer('mtls'), { urls: [url], mesh: 'mtls', http: { tls: clientTls } })
    await waitFor('the alert in Alertmanager', async () => (await amAlerts(url, 'mtls', undefined, { tls: clientTls })).length === 1)
    expect(c.sends()).toMatchObject({ error: 0, unauthorized: 0 })
  })
})

describe('a bearer token, and secrets in errors', () => {
  let server: Server | undefined
  const pushers: Alerting[] = []
  afterEach(async () => {
    for (const p of pushers.splice(0)) await p.stop()
    server?.closeAllConnections()
    await new Promise(resolve => server?.close(resolve) ?? resolve(undefined))
  })

  it('alertmanager.bearerTokenFile is sent as Authorization: Bearer; an answer echoing it is redacted', async () => {
    const TOKEN = 'bearer-Qw3rTy-5ecret'
    const seen: string[] = []
    let accept = false
    // a proxy in front of Alertmanager that echoes what it got in its refusal (it happens)
    server = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '')
      req.resume()
      req.on('end', () => { accept ? res.writeHead(200).end() : res.writeHead(403).end(`forbidden: ${req.headers.authorization ?? ''}`) })
    })
    await new Promise<void>(resolve => server?.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const { log, lines } = recordingLog()
    const view = new MeshView('a')
    view.hear('12D3KooWX', 'x')
    view.down('12D3KooWX')
    const p = alerting({ table: view.table, log }, { urls: [`http://127.0.0.1:${port}`], http: { bearerToken: TOKEN }, resendIntervalMs: 1000, retryInitialMs: 50, mesh: 'b', generatorURL: 'g' })
    pushers.push(p)
    p.start()
    await waitFor('refused', () => p.sends().unauthorized >= 1)
    expect(seen[0]).toBe(`Bearer ${TOKEN}`)
    expect(String(lines.find(l => l.level === 40)?.err)).toBe('HTTP 403: forbidden: Bearer <redacted>')
    accept = true
    await waitFor('delivered', () => p.sends().success >= 1)
    expect(logText(lines)).not.toContain(TOKEN)
  })

  it('a URL with a password to a dead port: errors and log lines name the URL without it', async () => {
    const { log, lines } = recordingLog()
    const view = new MeshView('a')
    view.hear('12D3KooWY', 'y')
    view.down('12D3KooWY')
    const port = await freePort()
    const p = alerting({ table: view.table, log }, { urls: [`http://admin:${PASSWORD}@127.0.0.1:${port}/am/`], resendIntervalMs: 1000, retryInitialMs: 50, mesh: 'd', generatorURL: 'g' })
    pushers.push(p)
    p.start()
    await waitFor('a failed send', () => p.sends().error >= 1 && lines.some(l => l.level === 40))
    expect(lines.find(l => l.level === 40)?.url).toBe(`http://127.0.0.1:${port}/am`)
    expect(logText(lines)).not.toContain(PASSWORD)
    expect(logText(lines)).not.toContain('admin')
  })
})
