/**
 * HTTP(S) check: status, body, latency and, for https, days left on the
 * server's certificate. node:http(s) rather than fetch because only the raw
 * TLS socket tells the certificate's expiry.
 */
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import type { TLSSocket } from 'node:tls'
import { clip } from '../text.js'
import { MAX_TEXT, seconds, timerMs } from './nagios.js'
import { Status, type CheckResult, type StatusCode } from './types.js'

export interface HttpInit {
  url: string
  timeoutMs: number
  signal?: AbortSignal
  /** @default 200 */
  expectStatus?: number
  /** a regular expression the body must match */
  bodyMatch?: string
  /** slower than this (whole response, ms) is WARNING */
  warnLatencyMs?: number
  /** @default 14 */
  certWarnDays?: number
  /** @default 3 */
  certCritDays?: number
  /** extra trusted CA certificates (PEM), e.g. for an internal CA; the system store is used otherwise */
  ca?: string | Buffer
  /** bytes of body read for bodyMatch; the rest is not downloaded @default 1048576 */
  maxBodyBytes?: number
}

interface Response { status: number, body: string, validTo?: string }

const DAY_MS = 86_400_000

function describeError (error: NodeJS.ErrnoException, init: HttpInit, timedOut: boolean): string {
  if (timedOut) return `timed out after ${seconds(init.timeoutMs)}s`
  if (error.name === 'AbortError') return 'aborted'
  if (error.code === 'ECONNREFUSED') return `connection refused: ${init.url}`
  if (error.code === 'ENOTFOUND') return `host not found: ${new URL(init.url).hostname}`
  // TLS verification failures carry codes like DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID
  if (/CERT|SIGNATURE|ISSUER/.test(error.code ?? '')) return `TLS certificate rejected: ${error.message} (${error.code ?? ''})`
  return `${error.code ?? error.name}: ${error.message}`
}

/** One GET, body read up to `max` bytes, certificate expiry taken while the socket is open. */
async function get (url: URL, init: HttpInit, signal: AbortSignal): Promise<Response> {
  const max = init.maxBodyBytes ?? 1_048_576
  return await new Promise<Response>((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const socket = res.socket as TLSSocket
      const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined
      const chunks: Buffer[] = []
      let size = 0
      const done = (): void => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), validTo: cert?.valid_to })
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk)
        size += chunk.length
        if (size >= max) { res.destroy(); done() } // enough to match; don't download a huge body
      })
      res.on('end', done)
      res.on('error', reject)
    }
    // agent: false so every run makes a fresh connection (and a fresh TLS handshake with a certificate)
    const options: https.RequestOptions = { signal, agent: false, headers: { 'user-agent': 'meshmon-check' } }
    if (init.ca !== undefined) options.ca = init.ca
    const req = url.protocol === 'https:' ? https.get(url, options, onResponse) : http.get(url, options, onResponse)
    req.on('error', reject)
  })
}

/** Run one HTTP check. Never throws: every failure is a CheckResult. */
export async function runHttp (init: HttpInit): Promise<CheckResult> {
  const started = performance.now()
  const result = (status: StatusCode, output: string, perfdata = ''): CheckResult =>
    ({ status, output: clip(output, MAX_TEXT), perfdata, durationSeconds: (performance.now() - started) / 1000 })
  let url: URL
  let match: RegExp | undefined
  try {
    url = new URL(init.url)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return result(Status.UNKNOWN, `not an http(s) URL: ${init.url}`)
    match = init.bodyMatch === undefined ? undefined : new RegExp(init.bodyMatch)
  } catch (error) {
    return result(Status.UNKNOWN, `bad check config: ${(error as Error).message}`)
  }

  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(), timerMs(init.timeoutMs))
  const signal = init.signal === undefined ? timeout.signal : AbortSignal.any([timeout.signal, init.signal])
  let res: Response
  try {
    res = await get(url, init, signal)
  } catch (error) {
    return result(Status.CRITICAL, describeError(error as NodeJS.ErrnoException, init, timeout.signal.aborted))
  } finally {
    clearTimeout(timer)
  }

  const elapsed = performance.now() - started
  const problems: Array<[StatusCode, string]> = []
  const expect = init.expectStatus ?? 200
  if (res.status !== expect) problems.push([Status.CRITICAL, `status ${res.status}, expected ${expect}`])
  if (match !== undefined && !match.test(res.body)) problems.push([Status.CRITICAL, `body does not match /${init.bodyMatch ?? ''}/`])
  if (init.warnLatencyMs !== undefined && elapsed > init.warnLatencyMs) {
    problems.push([Status.WARNING, `slow: ${seconds(elapsed)}s > ${seconds(init.warnLatencyMs)}s`])
  }
  let certNote = ''
  if (res.validTo !== undefined && res.validTo !== '') {
    const days = Math.floor((Date.parse(res.validTo) - Date.now()) / DAY_MS)
    certNote = `, certificate expires in ${days} days`
    if (days < (init.certCritDays ?? 3)) problems.push([Status.CRITICAL, `certificate expires in ${days} days (${res.validTo})`])
    else if (days < (init.certWarnDays ?? 14)) problems.push([Status.WARNING, `certificate expires in ${days} days (${res.validTo})`])
  }
  const perfdata = `time=${(elapsed / 1000).toFixed(3)}s size=${Buffer.byteLength(res.body)}B`
  if (problems.length === 0) return result(Status.OK, `HTTP ${res.status} in ${seconds(elapsed)}s${certNote}`, perfdata)
  const worst = Math.max(...problems.map(p => p[0])) as StatusCode
  return result(worst, `HTTP ${res.status}: ${problems.map(p => p[1]).join('; ')}`, perfdata)
}
