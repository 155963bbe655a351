import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runHttp } from '../../src/checks/http.js'
import { Status } from '../../src/checks/types.js'
import { close, closedPort, listen, tempDir } from './helpers.js'

const pending: ServerResponse[] = []
function handler (req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/hang') { pending.push(res); return } // never answers: the client must time out
  if (req.url === '/slow') { setTimeout(() => res.end('late'), 300); return }
  res.statusCode = req.url === '/' ? 200 : 404
  res.end(req.url === '/' ? 'meshmon says hello' : 'not here')
}

describe('runHttp over http', () => {
  const server = createServer(handler)
  let base = ''
  beforeAll(async () => { base = `http://127.0.0.1:${await listen(server)}` })
  afterAll(async () => { for (const r of pending.splice(0)) r.destroy(); await close(server) })

  it('is OK on the expected status, with time perfdata', async () => {
    const r = await runHttp({ url: `${base}/`, timeoutMs: 5000 })
    expect(r.status).toBe(Status.OK)
    expect(r.output).toMatch(/^HTTP 200 in [\d.]+s$/)
    expect(r.perfdata).toMatch(/^time=\d+\.\d{3}s size=18B$/)
  })

  it('is CRITICAL on a status mismatch, and OK when that status is expected', async () => {
    const r = await runHttp({ url: `${base}/missing`, timeoutMs: 5000 })
    expect(r).toMatchObject({ status: Status.CRITICAL, output: 'HTTP 404: status 404, expected 200' })
    expect((await runHttp({ url: `${base}/missing`, timeoutMs: 5000, expectStatus: 404 })).status).toBe(Status.OK)
  })

  it('checks the body against bodyMatch', async () => {
    expect((await runHttp({ url: `${base}/`, timeoutMs: 5000, bodyMatch: 'says h[a-z]+o' })).status).toBe(Status.OK)
    const miss = await runHttp({ url: `${base}/`, timeoutMs: 5000, bodyMatch: '^goodbye' })
    expect(miss).toMatchObject({ status: Status.CRITICAL, output: 'HTTP 200: body does not match /^goodbye/' })
    const bad = await runHttp({ url: `${base}/`, timeoutMs: 5000, bodyMatch: '(' })
    expect(bad.status).toBe(Status.UNKNOWN)
    expect(bad.output).toMatch(/^bad check config/)
  })

  it('warns when slower than warnLatency', async () => {
    const r = await runHttp({ url: `${base}/slow`, timeoutMs: 5000, warnLatencyMs: 100 })
    expect(r.status).toBe(Status.WARNING)
    expect(r.output).toMatch(/^HTTP 200: slow: [\d.]+s > 0.1s$/)
    expect((await runHttp({ url: `${base}/slow`, timeoutMs: 5000, warnLatencyMs: 4000 })).status).toBe(Status.OK)
  })

  it('is CRITICAL when the server does not answer in time', async () => {
    const r = await runHttp({ url: `${base}/hang`, timeoutMs: 300 })
    expect(r).toMatchObject({ status: Status.CRITICAL, output: 'timed out after 0.3s' })
    expect(r.durationSeconds).toBeLessThan(3)
  })

  it('is CRITICAL when the connection is refused', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`
    expect(await runHttp({ url, timeoutMs: 5000 })).toMatchObject({ status: Status.CRITICAL, output: `connection refused: ${url}` })
  })
})

// A self-signed certificate is made at test time; without openssl there is nothing to serve https with.
const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' })
const hasOpenssl = openssl.error === undefined && openssl.status === 0

describe.skipIf(!hasOpenssl)('runHttp over https (skipped when openssl is not installed: it makes the test certificate)', () => {
  let base = ''
  let cert = ''
  let stop = async (): Promise<void> => {}
  beforeAll(async () => {
    const tmp = await tempDir()
    const [key, crt] = [join(tmp.dir, 'key.pem'), join(tmp.dir, 'cert.pem')]
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', crt, '-days', '10', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
    if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`)
    cert = await readFile(crt, 'utf8')
    const server = createHttpsServer({ key: await readFile(key), cert }, handler)
    base = `https://127.0.0.1:${await listen(server)}`
    stop = async () => { await close(server); await tmp.remove() }
  })
  afterAll(async () => { await stop() })

  it('reports the days left on a trusted certificate', async () => {
    // a 10-day certificate made a moment ago has 9 full days left
    const r = await runHttp({ url: `${base}/`, timeoutMs: 5000, ca: cert, certWarnDays: 5, certCritDays: 2 })
    expect(r).toMatchObject({ status: Status.OK })
    expect(r.output).toMatch(/^HTTP 200 in [\d.]+s, certificate expires in 9 days$/)
  })

  it('warns below certWarnDays and fails below certCritDays', async () => {
    const warn = await runHttp({ url: `${base}/`, timeoutMs: 5000, ca: cert }) // defaults: warn 14, crit 3
    expect(warn.status).toBe(Status.WARNING)
    expect(warn.output).toMatch(/certificate expires in 9 days/)
    const crit = await runHttp({ url: `${base}/`, timeoutMs: 5000, ca: cert, certCritDays: 30 })
    expect(crit.status).toBe(Status.CRITICAL)
  })

  it('is CRITICAL when the certificate is not trusted', async () => {
    const r = await runHttp({ url: `${base}/`, timeoutMs: 5000 })
    expect(r.status).toBe(Status.CRITICAL)
    expect(r.output).toBe('TLS certificate rejected: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)')
  })
})
