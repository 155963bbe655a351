/**
 * The HTTP API of a real node, abused, with api.token set: huge URLs and
 * headers, Host headers it does not answer to, missing and wrong tokens, path
 * traversal on `/` (sent raw: a client library would normalise `..`), and a
 * slowloris: 500 connections that send nothing, and one that sends a header
 * line now and then. Each gets a 4xx (never a 5xx, never a file), the API keeps
 * answering others meanwhile, and the server closes the idle connections on
 * its own. The mesh holds; after all of it memory held and a real death is one
 * alert.
 */
import { readdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ALERTMANAGER } from '../alerts/helpers.js'
import { lacks } from '../support/packages.js'
import { waitFor } from '../support/wait.js'
import { AdversarialMesh, PROMTOOL } from './harness.js'

const TOKEN = 'adversarial-test-token-0123456789'

interface Answer { status: number, head: string, body: string }

/** One request written as given on a fresh connection; the answer, or status 0 if the server closed without one. */
async function raw (port: number, request: string | Buffer): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => { s.write(request) })
    let text = ''
    s.setEncoding('latin1')
    s.on('data', d => { text += d })
    s.on('error', () => {})
    s.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n', 2)
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body })
    })
    s.setTimeout(15_000, () => { s.destroy(); reject(new Error(`no answer to ${String(request).slice(0, 80)}`)) })
  })
}

const get = (path: string, headers: Record<string, string> = {}): string =>
  `GET ${path} HTTP/1.1\r\n${Object.entries({ host: '127.0.0.1', connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`

describe.skipIf(lacks('prometheus-alertmanager', ALERTMANAGER) || lacks('prometheus', PROMTOOL))('the HTTP API abused', () => {
  const mesh = new AdversarialMesh()
  const port = (): number => mesh.nodes[0]!.apiPort
  const auth = { authorization: `Bearer ${TOKEN}` }

  beforeAll(async () => {
    await mesh.start({ mesh: 'adv-http', token: TOKEN })
    await mesh.markRss()
  }, 150_000)
  afterEach(ctx => { if (ctx.task.result?.state === 'fail') mesh.cluster.dumpLogs(40) })
  afterAll(async () => { await mesh.stop() })

  /** a 4xx, with a JSON error when the app (not Node's parser) answered */
  const refused = (a: Answer, status: number): void => {
    expect(a.status, a.head).toBe(status)
    if (a.body !== '') expect(JSON.parse(a.body).error).toMatch(/\w/)
  }

  it('huge URLs and headers: 414 and 431', async () => {
    refused(await raw(port(), get(`/api/v1/peers?q=${'x'.repeat(9000)}`, auth)), 414)
    refused(await raw(port(), get(`/${'x'.repeat(20_000)}`)), 431)
    refused(await raw(port(), get('/api/v1/peers', { ...auth, 'x-big': 'y'.repeat(20_000) })), 431)
    const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h${i}`, 'v'.repeat(50)]))
    expect((await raw(port(), get('/api/v1/peers', { ...auth, ...many }))).status).toBe(200)
    await mesh.holds()
  })

  it('Host headers it does not answer to: 403 (a name), 400 (not a header at all); two of them, one refused', async () => {
    refused(await raw(port(), get('/api/v1/peers', { ...auth, host: 'evil.example' })), 403)
    refused(await raw(port(), get('/api/v1/peers', { ...auth, host: 'evil.example:80' })), 403)
    refused(await raw(port(), get('/', { host: 'rebind.attacker.test' })), 403)
    const two = await raw(port(), `GET /api/v1/peers HTTP/1.1\r\nhost: 127.0.0.1\r\nhost: evil.example\r\nauthorization: Bearer ${TOKEN}\r\nconnection: close\r\n\r\n`)
    expect([400, 403], two.head).toContain(two.status)
    refused(await raw(port(), 'GET /api/v1/peers HTTP/1.1\r\nhost: a b\u0001\r\nconnection: close\r\n\r\n'), 400)
    await mesh.holds()
  })

  it('missing, malformed and wrong tokens: 401, saying how to send one', async () => {
    const wrong: Array<Record<string, string>> = [{}, { authorization: 'Basic YWRtaW46YWRtaW4=' }, { authorization: 'Bearer' }, { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${TOKEN}x` }, { authorization: `Bearer ${'t'.repeat(10_000)}` }, { authorization: `Bearer ${TOKEN} extra` }]
    for (const headers of wrong) {
      const a = await raw(port(), get('/api/v1/peers', headers))
      refused(a, 401)
      expect(a.head).toMatch(/www-authenticate: Bearer realm="meshmon"/i)
    }
    refused(await raw(port(), Buffer.concat([Buffer.from(get('/api/v1/events', { authorization: 'Bearer ' }).slice(0, -2)), Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a])])), 400)
    expect((await raw(port(), get('/api/v1/peers', { authorization: `bearer ${TOKEN}` }))).status).toBe(200)
    await mesh.holds()
  })

  it('path traversal on / and /assets: 404 (or 400), never a file', async () => {
    const paths = ['/../../../../etc/passwd', '/assets/../../../../etc/passwd', '/assets/%2e%2e/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets/%00', '/assets/index.js%00.css', '//etc/passwd', '/assets//etc/passwd', '/assets/..\\..\\package.json',
      '/index.html/../../package.json', '/assets/%252e%252e%252fpackage.json', '/./././etc/passwd']
    for (const path of paths) {
      const a = await raw(port(), get(path, auth))
      expect([400, 404], `${path}: ${a.head}`).toContain(a.status)
      expect(a.body).not.toMatch(/root:|"name": *"meshmon"|swarm/)
    }
    await mesh.holds()
  })

  it('a slowloris: 500 silent connections and a trickling one; others are answered meanwhile, and the server closes them itself', async () => {
    const a = mesh.nodes[0]!
    const fds = async (): Promise<number> => (await readdir(`/proc/${a.child.pid as number}/fd`)).length
    const before = await fds()
    const sockets: Socket[] = []
    for (let i = 0; i < 500; i++) {
      // a slowloris reads nothing either: the server must let go of the socket without the client's help
      const s = connect(port(), '127.0.0.1')
      s.on('error', () => {})
      sockets.push(s)
    }
    const trickle = connect(port(), '127.0.0.1', () => { trickle.write('GET /api/v1/peers HTTP/1.1\r\n') })
    let answer = ''
    trickle.on('data', d => { answer += d })
    trickle.on('error', () => {})
    const drip = setInterval(() => { trickle.write('x-slow: 1\r\n') }, 1000)
    try {
      await waitFor('the node to hold the 500 connections', async () => await fds() >= before + 500, 15_000)
      for (const n of mesh.nodes) {
        expect((await fetch(`${n.api}/healthz`)).status).toBe(200)
        expect((await fetch(`${n.api}/api/v1/peers`, { headers: auth })).status).toBe(200)
      }
      // its own header timeout, not the client, ends them
      await waitFor('the node to close them', async () => await fds() <= before + 20, 30_000, 500)
      await waitFor('the trickling one answered 408 and closed', () => trickle.readyState === 'closed' || trickle.destroyed, 15_000)
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    } finally {
      clearInterval(drip)
      for (const s of [...sockets, trickle]) s.destroy()
    }
    await mesh.holds()
  }, 90_000)

  it('after all of it: memory held, and a real death is exactly one alert', async () => {
    await mesh.rssHeld()
    await mesh.deathPagesOnce(mesh.nodes[1]!)
  }, 120_000)
})
