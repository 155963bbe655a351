/**
 * The API token end to end: a real `meshmon run` with api.tokenFile and
 * protectMetrics, read by the real CLI (--token, MESHMON_API_TOKEN) and
 * scraped by the real Prometheus with its `authorization` setting; a Host
 * header from another name refused over a real socket; the warning for an
 * open API on a network address.
 */
import { request } from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshmon } from '../support/cli.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { lacks } from '../support/packages.js'
import { freePort } from '../support/ports.js'
import { Procs } from '../support/procs.js'
import { waitFor } from '../support/wait.js'

const PROMETHEUS = '/usr/bin/prometheus'
const TOKEN = 'e2e-9f86d081884c7d659a2feaa0c55ad015'

/** GET with a Host header of our choosing (fetch sets its own). */
async function getWithHost (port: number, path: string, host: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host, authorization: `Bearer ${TOKEN}` } }, res => {
      let body = ''
      res.on('data', d => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('a node with api.tokenFile and protectMetrics', () => {
  const cluster = new Cluster()
  const procs = new Procs()
  let dir: string
  let tokenFile: string
  let node: NodeProc

  beforeAll(async () => {
    await cluster.init()
    dir = await mkdtemp(join(tmpdir(), 'meshmon-token-'))
    tokenFile = join(dir, 'api.token')
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 })
    await writeFile(join(dir, 'api.yml'), `api: { tokenFile: ${tokenFile}, protectMetrics: true }\n`)
    node = await cluster.start('guarded', ['--config', join(dir, 'api.yml')], { token: TOKEN })
  })
  afterAll(async () => {
    await procs.stopAll()
    await cluster.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('refuses /api/* and /metrics without the token, answers with it; /healthz stays open', async () => {
    const refused = await fetch(`${node.api}/api/v1/peers`)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await refused.json() as any).error).toMatch(/send Authorization: Bearer <api\.token>/)
    expect((await fetch(`${node.api}/metrics`)).status).toBe(401)
    expect((await fetch(`${node.api}/healthz`)).status).toBe(200)
    const ok = await fetch(`${node.api}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('meshmon_peer_up{')
    expect((await cluster.peers(node)).map(p => p.name)).toEqual(['guarded'])
  })

  it('meshmon status: exit 2 with the fix without a token, 0 with --token or MESHMON_API_TOKEN', async () => {
    const none = await meshmon(['status', '--api', node.api], { env: { MESHMON_API_TOKEN: '' } })
    expect(none.code).toBe(2)
    expect(none.stderr.trim()).toBe(`meshmon: the API at ${node.api} needs a token: pass --token TOKEN or set MESHMON_API_TOKEN (the node's api.token)`)
    const wrong = await meshmon(['status', '--api', node.api, '--token', 'nope'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toMatch(/refused the token/)
    const flag = await meshmon(['status', '--api', node.api, '--token', TOKEN])
    expect(flag.code, flag.stderr).toBe(0)
    expect(flag.stdout).toMatch(/^NAME/)
    expect(flag.stdout).toContain('guarded *')
    const env = await meshmon(['events', '--api', node.api], { env: { MESHMON_API_TOKEN: TOKEN } })
    expect(env.code, env.stderr).toBe(0)
    const noEvents = await meshmon(['events', '--api', node.api], { env: { MESHMON_API_TOKEN: '' } })
    expect(noEvents.code).toBe(2)
    expect(noEvents.stderr).toMatch(/needs a token: pass --token/)
  })

  it('a Host header naming another host is refused over a real socket', async () => {
    const evil = await getWithHost(node.apiPort, '/api/v1/peers', 'evil.example')
    expect(evil.status).toBe(403)
    expect(JSON.parse(evil.body).error).toMatch(/api\.allowedHosts/)
    expect((await getWithHost(node.apiPort, '/api/v1/peers', `localhost:${node.apiPort}`)).status).toBe(200)
  })

  it.skipIf(lacks('prometheus', PROMETHEUS))('Prometheus scrapes it with authorization.credentials_file; without it the target is down with 401', async () => {
    const port = await freePort()
    const prom = `http://127.0.0.1:${port}`
    await writeFile(join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: with-token
    authorization: { credentials_file: ${tokenFile} }
    static_configs: [{ targets: ['127.0.0.1:${node.apiPort}'] }]
  - job_name: without-token
    static_configs: [{ targets: ['127.0.0.1:${node.apiPort}'] }]
`)
    procs.start(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`])
    await waitFor('prometheus ready', async () => (await fetch(`${prom}/-/ready`)).ok, 30_000)
    const targets = async (): Promise<Record<string, { health: string, lastError: string }>> => {
      const r = await (await fetch(`${prom}/api/v1/targets`)).json() as any
      return Object.fromEntries(r.data.activeTargets.map((t: any) => [t.labels.job, t]))
    }
    const seen = await waitFor('both targets scraped', async () => {
      const t = await targets()
      return t['with-token']?.health === 'up' && t['without-token']?.health === 'down' ? t : undefined
    }, 30_000)
    expect(seen['without-token']?.lastError).toMatch(/401/)
    const q = await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent('meshmon_peer_up{job="with-token"}')}`)).json() as any
    expect(q.data.result.map((s: any) => s.metric.node)).toEqual(['guarded'])
  })
})

describe('an API without a token', () => {
  const cluster = new Cluster()
  afterAll(async () => { await cluster.stopAll() })

  it('on a network address: one warning line at start; on loopback: none', async () => {
    await cluster.init()
    const ports = { p2p: await freePort(), api: await freePort() }
    const open = await cluster.start('open', ['--api-listen', `0.0.0.0:${ports.api}`], { ports })
    const closed = await cluster.start('closed', [])
    const warning = (n: NodeProc) => n.logs.filter(l => l.includes('without a token'))
    expect(warning(open)).toHaveLength(1)
    expect(JSON.parse(warning(open)[0] as string)).toMatchObject({ level: 40 })
    expect(warning(open)[0]).toMatch(/set api\.token or api\.tokenFile, or listen on 127\.0\.0\.1/)
    expect(warning(closed)).toEqual([])
  })
})
