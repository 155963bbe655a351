/**
 * One peer taking devices as their real clients send them: the Go client of
 * the WebSocket protocol, and curl for HTTP pushes. Every kind of bad input
 * gets an answer naming the problem, and the peer goes on.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshmon } from '../support/cli.js'
import { Cluster, type NodeProc } from '../support/cluster.js'
import { lacks } from '../support/packages.js'
import { waitFor } from '../support/wait.js'
import { CURL, curl, GoDevice, lacksGo, stopClients } from './clients.js'

const TOKEN = 's3cret-token'
/** the API's own token: it guards /api/*, but not device pushes (they carry the ingest token) */
const API_TOKEN = 'api-s3cret'
const MAX_PER_IP = 6

describe.skipIf(lacksGo() || lacks('curl', CURL))('devices reporting to one peer', () => {
  const cluster = new Cluster()
  let dir: string
  let node: NodeProc
  let ws: string
  let api: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-ingest-'))
    await writeFile(join(dir, 'token'), `${TOKEN}\n`)
    await writeFile(join(dir, 'node.yml'), `api: { token: ${API_TOKEN} }
ingest: { tokenFile: token, maxConnectionsPerIp: ${MAX_PER_IP}, maxDevices: 16, idleTimeout: 2s, alertAfter: 3s }
devices:
  - { id: esp-never, interval: 1s, project: demo }
  - { id: esp-sleepy, interval: 1s, expect: intermittent }
`)
    await cluster.init()
    node = await cluster.start('a', ['--config', join(dir, 'node.yml')], { token: API_TOKEN })
    ws = `ws://127.0.0.1:${node.apiPort}/websocket`
    api = node.api
  })
  afterAll(async () => {
    stopClients()
    await cluster.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  const get = async (path: string): Promise<any> => await (await fetch(`${api}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` } })).json()
  const devices = async (): Promise<any[]> => await get('/api/v1/devices') as any[]
  const device = async (id: string): Promise<any> => (await devices()).find(d => d.id === id)
  const metrics = async (): Promise<string> => await (await fetch(`${api}/metrics`)).text()
  const counter = (text: string, name: string, reason: string): number =>
    Number(new RegExp(`^${name}\\{reason="${reason}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0)

  describe('WebSocket', () => {
    it('online and machine info get code 0 responses Go decodes; the device is listed up with what it sent; ping gets pong', async () => {
      const d = await GoDevice.start(ws, { token: TOKEN })
      expect(await d.cmd('dial')).toEqual({ dialed: true })
      const online = await d.cmd('online gpu-1 DecentralGPT')
      expect(online.response).toEqual({ version: 0, id: 1, type: 1, code: 0, message: '', body: '' })
      const info = await d.cmd('info {"project":"DecentralGPT","models":[{"model":"llama-3-8b"},{"model":"qwen \\"2\\""}],"gpu_name":"NVIDIA GeForce RTX 4090","utilization_gpu":30,"memory_total":24564,"memory_used":22128,"later_field":{"x":1}}')
      expect(info.response).toMatchObject({ id: 2, type: 2, code: 0 })
      expect(await d.cmd('ping')).toEqual({ pong: true })
      const listed = await device('gpu-1')
      expect(listed).toMatchObject({
        id: 'gpu-1', project: 'DecentralGPT', via: node.peerId, viaName: 'a', state: 'up', kind: 'websocket', models: ['llama-3-8b', 'qwen "2"'],
        memoryTotal: 24564 * 2 ** 20,
        gpus: [{ index: '0', name: 'NVIDIA GeForce RTX 4090', utilizationRatio: 0.3, memoryUsedBytes: 22128 * 2 ** 20, memoryTotalBytes: 24564 * 2 ** 20 }]
      })
      const m = await metrics()
      expect(m).toContain(`meshmon_device_up{device="gpu-1",project="DecentralGPT",via="a"} 1`)
      expect(m).toContain('meshmon_device_gpu_utilization_ratio{device="gpu-1",gpu="0",name="NVIDIA GeForce RTX 4090"} 0.3')
      expect(m).toContain('meshmon_device_info{device="gpu-1",project="DecentralGPT",models="llama-3-8b,qwen \\"2\\""} 1')
      expect(await d.cmd('close')).toEqual({ closed: true })
      await waitFor('gpu-1 down at its close', async () => (await device('gpu-1'))?.state === 'down')
    })

    it('a bad frame gets a non-zero code naming the problem; the connection stays open and works', async () => {
      const d = await GoDevice.start(ws, { token: TOKEN })
      await d.cmd('dial')
      const before = await metrics()
      const answers = [
        await d.cmd('info {"gpu_name":"x"}'),
        await d.cmd('raw this is not json'),
        await d.cmd('raw {"version":0,"id":"seven","type":1,"body":"e30="}'),
        await d.cmd('raw {"version":0,"id":8,"type":1,"body":"%%% not base64"}'),
        await d.cmd(`raw {"version":0,"id":9,"type":1,"body":"${Buffer.from('{not json').toString('base64')}"}`),
        await d.cmd('send 7 {}'),
        await d.cmd('big 70000'),
        await d.cmd('send 1 {"node_id":"has a space"}')
      ].map(a => a.response)
      expect(answers.map(a => [a.id, a.code])).toEqual([[1, 409], [0, 400], [0, 400], [8, 400], [9, 400], [2, 400], [3, 413], [4, 400]])
      expect(answers.map(a => a.message)).toEqual([
        expect.stringMatching(/^machine info before online/),
        expect.stringMatching(/^frame is not JSON/),
        'id must be a non-negative integer, not the string "seven"',
        expect.stringMatching(/^body is not base64/),
        expect.stringMatching(/^body is not JSON/),
        expect.stringMatching(/^unknown type 7/),
        expect.stringMatching(/^frame of \d+ bytes is over the 65536-byte limit$/),
        expect.stringMatching(/^node_id "has a space" is not a device id/)
      ])
      // still open, still working
      expect((await d.cmd('online gpu-2')).response).toMatchObject({ id: 5, code: 0 })
      await waitFor('gpu-2 up', async () => (await device('gpu-2'))?.state === 'up')
      const after = await metrics()
      expect(counter(after, 'meshmon_device_ingest_errors_total', 'bad_request') - counter(before, 'meshmon_device_ingest_errors_total', 'bad_request')).toBe(6)
      expect(counter(after, 'meshmon_device_ingest_errors_total', 'too_large')).toBeGreaterThanOrEqual(1)
      expect((await fetch(`${api}/healthz`)).status).toBe(200)
      await d.cmd('close')
    })

    it('no token or a wrong one: 401 before the upgrade, with a JSON error; ?token= works for clients without headers', async () => {
      for (const auth of [{}, { token: 'wrong' }, { queryToken: 'wrong' }]) {
        const d = await GoDevice.start(ws, auth)
        const r = await d.cmd('dial')
        expect(r).toMatchObject({ dialError: 'websocket: bad handshake', status: 401 })
        expect(JSON.parse(r.body).error).toMatch(/token/)
        d.kill()
      }
      const d = await GoDevice.start(ws, { queryToken: TOKEN })
      expect(await d.cmd('dial')).toEqual({ dialed: true })
      await d.cmd('close')
      expect(counter(await metrics(), 'meshmon_device_ingest_refused_total', 'unauthorized')).toBeGreaterThanOrEqual(3)
    })

    it('a connection with neither ping nor message past the idle timeout is closed and its device is down; one that pings stays', async () => {
      const silent = await GoDevice.online(ws, 'gpu-silent', '', { token: TOKEN })
      const pinging = await GoDevice.online(ws, 'gpu-pinging', '', { token: TOKEN })
      // ping for twice the idle timeout (2 s), twice a second
      const until = Date.now() + 4000
      while (Date.now() < until) {
        expect(await pinging.cmd('ping')).toEqual({ pong: true })
        await new Promise(resolve => setTimeout(resolve, 500))
      }
      expect(await silent.cmd('wait-close 10')).toMatchObject({ closed: true, code: 1000, text: 'no ping or message for 2s' })
      expect(await device('gpu-silent')).toMatchObject({ state: 'down' })
      expect(await device('gpu-pinging')).toMatchObject({ state: 'up' })
      await pinging.cmd('close')
    })

    it(`the connection over ingest.maxConnectionsPerIp (${MAX_PER_IP}) gets 429`, async () => {
      // the tests before closed their connections; the server frees a slot once it saw the close
      await waitFor('no device connection left from the tests before', async () => /^meshmon_device_connections(\{[^}]*\})? 0$/m.test(await metrics()))
      const open: GoDevice[] = []
      for (let i = 0; i < MAX_PER_IP; i++) open.push(await GoDevice.online(ws, `gpu-ip-${i}`, '', { token: TOKEN }))
      const extra = await GoDevice.start(ws, { token: TOKEN })
      const r = await extra.cmd('dial')
      expect(r).toMatchObject({ status: 429 })
      expect(JSON.parse(r.body).error).toMatch(/maxConnectionsPerIp/)
      await open[0]?.cmd('close')
      // its slot is free again once the server saw the close
      await waitFor('a slot free again', async () => (await extra.cmd('dial')).dialed === true)
      for (const d of open.slice(1)) await d.cmd('close')
      await extra.cmd('close')
      expect(counter(await metrics(), 'meshmon_device_ingest_refused_total', 'too_many_connections')).toBeGreaterThanOrEqual(1)
    })
  })

  describe('HTTP push', () => {
    const push = `${'http://127.0.0.1'}`
    const url = (path: string): string => `${push}:${node.apiPort}${path}`

    it('POST with a bearer token and a JSON body: the device is up with its status, message and metrics; GET with ?token= renews it', async () => {
      const r = await curl(['-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`, '--data', '{"status":"warning","message":"battery low","metrics":{"temp_c":21.5,"battery_v":3.1},"project":"lab \\"A\\"\\\\1"}', url('/api/v1/push/esp-1')])
      expect(r).toMatchObject({ status: 200, body: { device: 'esp-1', state: 'up', interval: '1m' } })
      expect(await device('esp-1')).toMatchObject({ state: 'up', kind: 'push', status: 'warning', message: 'battery low', metrics: { temp_c: 21.5, battery_v: 3.1 }, project: 'lab "A"\\1', interval: 60_000 })
      expect((await curl([url(`/api/v1/push/esp-1?token=${TOKEN}`)])).status).toBe(200)
      const m = await metrics()
      expect(m).toContain('meshmon_device_metric{device="esp-1",name="temp_c"} 21.5')
      expect(m).toContain('meshmon_device_up{device="esp-1",project="lab \\"A\\"\\\\1",via="a"} 1')
    })

    it('the API token does not let a device push (and is not needed for it): pushes take the ingest token', async () => {
      expect((await curl(['-H', `Authorization: Bearer ${API_TOKEN}`, url('/api/v1/push/esp-api')])).status).toBe(401)
      expect((await fetch(`${api}/api/v1/devices`)).status).toBe(401)
      expect(await device('esp-api')).toBeUndefined()
    })

    it.each([
      ['no token', 401, '/api/v1/push/esp-2', [], /token/],
      ['a wrong token', 401, '/api/v1/push/esp-2', ['-H', 'Authorization: Bearer nope'], /token/],
      ['a body that is not JSON', 400, '/api/v1/push/esp-2', ['--data', '{oops'], /^body is not JSON/],
      ['a body that is an array', 400, '/api/v1/push/esp-2', ['--data', '[1]'], /^body must be a JSON object/],
      ['a bad status', 400, '/api/v1/push/esp-2', ['--data', '{"status":"fine"}'], /^status must be ok, warning or critical/],
      ['a metric that is not a number', 400, '/api/v1/push/esp-2', ['--data', '{"metrics":{"t":"21"}}'], /^metrics\.t must be a number/],
      ['a bad device id', 400, '/api/v1/push/has%20space', [], /is not a device id/],
      ['an unknown parameter', 400, '/api/v1/push/esp-2?intervall=5s', [], /^unknown parameter 'intervall'/],
      ['a bad interval', 400, '/api/v1/push/esp-2?interval=5', [], /^interval must be a duration/],
      ['a body over 64 KiB', 413, '/api/v1/push/esp-2', ['--data', `{"message":"${'x'.repeat(70_000)}"}`], /over the 65536-byte limit/]
    ])('%s: %i with a JSON error naming it', async (what, status, path, args, message) => {
      const auth = what.includes('token') ? [] : ['-H', `Authorization: Bearer ${TOKEN}`]
      const r = await curl([...(args.includes('--data') ? ['-X', 'POST'] : []), ...auth, ...args, url(path)])
      expect(r.status).toBe(status)
      expect(r.body.error).toMatch(message)
      expect(await device('esp-2')).toBeUndefined()
    })

    it('no push within 2 x interval: down, then alerted and a device.offline event; a push brings it back with device.online', async () => {
      expect((await curl(['-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`, url('/api/v1/push/esp-3?interval=1s')])).status).toBe(200)
      await waitFor('esp-3 down after 2 s without a push', async () => (await device('esp-3'))?.state === 'down')
      await waitFor('MeshDeviceDown derived', async () => ((await get('/api/v1/alerts')) as any[]).some(a => a.labels.device === 'esp-3'))
      const events = async (type: string): Promise<any[]> => ((await get(`/api/v1/events?type=${type}&peer=esp-3`)) as any[])
      await waitFor('device.offline written', async () => (await events('device.offline')).length === 1)
      expect((await events('device.offline'))[0]).toMatchObject({ severity: 'warning', subject: { name: 'esp-3', peer: node.peerId }, labels: { device: 'esp-3' }, message: expect.stringMatching(/no push within 2 x its interval/) })
      expect((await curl(['-H', `Authorization: Bearer ${TOKEN}`, url('/api/v1/push/esp-3?interval=1m')])).status).toBe(200)
      await waitFor('device.online written', async () => (await events('device.online')).length === 1)
      expect(((await get('/api/v1/alerts')) as any[]).some(a => a.labels.device === 'esp-3')).toBe(false)
    })

    it('declared devices that never report: down (alerted) or, if intermittent, left; status shows them and exits 1', async () => {
      await waitFor('esp-never down and alerted', async () => (await device('esp-never'))?.state === 'down' && ((await get('/api/v1/alerts')) as any[]).some(a => a.labels.device === 'esp-never'))
      expect(await device('esp-sleepy')).toMatchObject({ state: 'left', expect: 'intermittent', kind: 'declared' })
      const alerts = (await get('/api/v1/alerts')) as any[]
      expect(alerts.find(a => a.labels.device === 'esp-never')?.labels).toEqual({ alertname: 'MeshDeviceDown', device: 'esp-never', project: 'demo', severity: 'warning', mesh: expect.any(String) })
      expect(alerts.some(a => a.labels.device === 'esp-sleepy')).toBe(false)
      const r = await meshmon(['status', '--api', api, '--token', API_TOKEN])
      expect(r.code).toBe(1)
      const lines = r.stdout.split('\n')
      expect(lines).toContainEqual(expect.stringMatching(/^DEVICE\s+PROJECT\s+VIA\s+STATE\s+LAST SEEN\s+GPUS\s+MODELS$/))
      expect(lines).toContainEqual(expect.stringMatching(/^esp-never\s+demo\s+-\s+down\s+-\s+-\s+-$/))
      expect(lines).toContainEqual(expect.stringMatching(/^gpu-1\s+DecentralGPT\s+a\s+down\s+.*NVIDIA GeForce RTX 4090 30%\s+llama-3-8b,qwen "2"$/))
      expect(lines).toContainEqual(expect.stringMatching(/^esp-1\s+lab "A"\\1\s+a\s+up \(warning\)/))
    })

    it.skipIf(lacks('prometheus', '/usr/bin/promtool'))('/metrics with devices passes promtool check metrics', async () => {
      const r = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: await metrics(), encoding: 'utf8' })
      expect(r.stdout + r.stderr).toBe('')
      expect(r.status).toBe(0)
    })

    it('lists devices trouble first up to a limit, counts them by state, and names a bad parameter', async () => {
      const all = await devices()
      const rank: Record<string, number> = { down: 0, unknown: 1, up: 2, left: 3 }
      const trouble = [...all].sort((a, b) => rank[a.state]! - rank[b.state]! || (a.id < b.id ? -1 : 1))
      expect((await get('/api/v1/devices?order=trouble&limit=3')).map((d: any) => d.id)).toEqual(trouble.slice(0, 3).map(d => d.id))
      expect((await get('/api/v1/devices?state=up&limit=1')).map((d: any) => d.id)).toEqual(all.filter(d => d.state === 'up').slice(0, 1).map(d => d.id))
      const counts = { down: 0, unknown: 0, up: 0, left: 0 } as Record<string, number>
      for (const d of all) counts[d.state]!++
      expect(await get('/api/v1/devices/counts')).toEqual(counts)
      for (const [query, error] of [
        ['?limit=0', /^limit must be a whole number from 1 to 1000000, not '0'$/],
        ['?limit=ten', /^limit must be a whole number from 1 to 1000000, not 'ten'$/],
        ['?order=newest', /^order must be id or trouble \(down, unknown, up, left\), not 'newest'$/],
        ['?sort=trouble', /^unknown parameter 'sort'; use state, order, limit$/]
      ] as const) {
        const r = await fetch(`${api}/api/v1/devices${query}`, { headers: { authorization: `Bearer ${API_TOKEN}` } })
        expect(r.status, query).toBe(400)
        expect(((await r.json()) as any).error, query).toMatch(error)
      }
    })

    it('over ingest.maxDevices, a new device is refused (503 push, code 503 online) unless an ended one makes room', async () => {
      // 16 at most: the declared two, and live pushes; every ended device makes way first
      const listed = (await devices()).filter(d => d.state === 'up').length
      for (let i = 0; i < 16 - 2 - listed; i++) expect((await curl(['-H', `Authorization: Bearer ${TOKEN}`, url(`/api/v1/push/fill-${i}`)])).status).toBe(200)
      const r = await curl(['-H', `Authorization: Bearer ${TOKEN}`, url('/api/v1/push/one-too-many')])
      expect(r.status).toBe(503)
      expect(r.body.error).toMatch(/ingest\.maxDevices/)
      const d = await GoDevice.start(ws, { token: TOKEN })
      await d.cmd('dial')
      expect((await d.cmd('online gpu-too-many')).response).toMatchObject({ code: 503, message: expect.stringMatching(/ingest\.maxDevices/) })
      await d.cmd('close')
      expect(counter(await metrics(), 'meshmon_device_ingest_refused_total', 'too_many_devices')).toBe(2)
      expect((await devices()).length).toBe(16)
      expect((await devices()).filter(d => d.state === 'down').map(d => d.id)).toEqual(['esp-never'])
    })
  })
})
