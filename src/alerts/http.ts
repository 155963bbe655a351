/**
 * One Alertmanager endpoint over node:http(s): credentials (basic auth from
 * the URL or the config, or a bearer token), a CA and a client certificate
 * (mTLS), none of which fetch() takes without a dispatcher from a package of
 * its own. Every text this module hands out has the credentials redacted.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

/** Credentials and TLS for every Alertmanager URL (the config reads them from files). */
export interface AlertmanagerHttp {
  basicAuth?: { username: string, password: string }
  bearerToken?: string
  tls?: { ca?: Buffer, cert?: Buffer, key?: Buffer }
}

/** Alertmanager answers with a short text; more is not read */
const MAX_ANSWER_BYTES = 4096

export interface Answer { status: number, text: string }

export class AlertmanagerEndpoint {
  /** the URL without credentials: the only form that is logged */
  readonly shown: string
  readonly #url: URL
  readonly #headers: Record<string, string>
  readonly #agent: HttpAgent
  readonly #secrets: string[]

  constructor (base: string, http: AlertmanagerHttp = {}) {
    const url = new URL(`${base.replace(/\/+$/, '')}/api/v2/alerts`)
    // a URL's own user:password@ wins for that URL (config validation allows only one of the two)
    const basic = url.username !== ''
      ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
      : http.basicAuth
    this.#secrets = [url.password, decodeURIComponent(url.password), http.basicAuth?.password, http.bearerToken]
      .filter((s): s is string => s !== undefined && s.length >= 3)
    url.username = ''
    url.password = ''
    this.#url = url
    this.shown = url.origin + url.pathname.replace(/\/api\/v2\/alerts$/, '')
    this.#headers = { 'content-type': 'application/json' }
    if (basic !== undefined) {
      const encoded = Buffer.from(`${basic.username}:${basic.password}`).toString('base64')
      this.#headers.authorization = `Basic ${encoded}`
      this.#secrets.push(encoded)
    } else if (http.bearerToken !== undefined) {
      this.#headers.authorization = `Bearer ${http.bearerToken}`
    }
    this.#agent = url.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ...http.tls })
      : new HttpAgent({ keepAlive: true, maxSockets: 1 })
  }

  /** Text with every credential of this endpoint replaced: for logs and errors. */
  redact (text: string): string {
    let out = text
    for (const s of this.#secrets) out = out.split(s).join('<redacted>')
    return out
  }

  /** POST a JSON body; rejects on network and TLS failures (redacted), resolves with any HTTP answer. */
  async post (body: string, signal: AbortSignal): Promise<Answer> {
    const request = this.#url.protocol === 'https:' ? httpsRequest : httpRequest
    try {
      return await new Promise<Answer>((resolve, reject) => {
        const req = request(this.#url, { method: 'POST', headers: { ...this.#headers, 'content-length': Buffer.byteLength(body) }, agent: this.#agent, signal }, res => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            if (size < MAX_ANSWER_BYTES) chunks.push(chunk)
            size += chunk.length
          })
          res.on('end', () => { resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES) }) })
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end(body)
      })
    } catch (err: any) {
      throw new Error(this.redact(tlsHint(err)))
    }
  }

  close (): void { this.#agent.destroy() }
}

/**
 * A TLS failure says which setting fixes it, told by the error's code: OpenSSL's
 * alert from a server that wants a client certificate
 * (ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED, ..._HANDSHAKE_FAILURE, ..._BAD_CERTIFICATE),
 * or a server certificate that did not verify (DEPTH_ZERO_SELF_SIGNED_CERT,
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ...).
 */
function tlsHint (err: any): string {
  const message = String(err?.message ?? err)
  const code = typeof err?.code === 'string' ? err.code : ''
  if (/_ALERT_(HANDSHAKE_FAILURE|CERTIFICATE_REQUIRED|BAD_CERTIFICATE)$/.test(code)) return `${message} (Alertmanager wants a client certificate: alertmanager.tls.certFile and keyFile)`
  if (/CERT|SELF_SIGNED|^UNABLE_TO_/.test(code)) return `${message} (set alertmanager.tls.caFile to the CA that signed Alertmanager's certificate)`
  return message
}
