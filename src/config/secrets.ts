/**
 * Files the config names instead of holding secrets itself (api.tokenFile,
 * alertmanager.basicAuth.passwordFile, bearerTokenFile, tls.*File): read
 * once at start, so a missing or unreadable one stops `run` with a
 * ConfigError naming the field. Their contents never appear in a message.
 */
import { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import { peerIdFromString } from '@libp2p/peer-id'
import type { AlertmanagerHttp } from '../alerts/http.js'
import { ConfigError } from './errors.js'
import { apiToken, type Config } from './schema.js'


async function read (field: string, file: string, fix: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (err: any) {
    throw new ConfigError(field, `cannot read ${file} (${err.code ?? err.message}); ${fix}`)
  }
}

/** A one-line secret: surrounding whitespace (the newline an editor adds) ignored. */
async function readSecret (field: string, file: string, fix: string): Promise<string> {
  const text = (await read(field, file, fix)).toString('utf8').trim()
  if (text === '') throw new ConfigError(field, `${file} is empty; ${fix}`)
  return text
}

/** peers.allow and the ids in peers.allowFile, each checked to be a peer id; null: no allow-list */
export async function readPeersAllow (config: Config): Promise<ReadonlySet<string> | null> {
  const { allow, allowFile } = config.peers
  if (allow === null && allowFile === null) return null
  const ids: Array<[string, string]> = (allow ?? []).map(id => ['peers.allow', id])
  if (allowFile !== null) {
    const text = (await read('peers.allowFile', allowFile, 'list the peer ids that may join there, one per line (`meshmon id` prints a node\'s)')).toString('utf8')
    for (const line of text.split('\n')) {
      const id = line.replace(/#.*/, '').trim()
      if (id !== '') ids.push([`peers.allowFile (${allowFile})`, id])
    }
  }
  for (const [field, id] of ids) {
    try {
      if (peerIdFromString(id).type !== 'Ed25519') throw new Error('not an ed25519 peer id')
    } catch {
      throw new ConfigError(field, `"${id}" is not a peer id; \`meshmon id --data-dir DIR\` prints a node's (12D3KooW...)`)
    }
  }
  return new Set(ids.map(([, id]) => id))
}

export async function readApiToken (config: Config): Promise<string | null> {
  const file = config.api.tokenFile
  if (file === null) return config.api.token
  const token = await readSecret('api.tokenFile', file, `write the token there (e.g. \`openssl rand -hex 32 > ${file}\`) or set api.token`)
  const parsed = apiToken.safeParse(token)
  if (!parsed.success) throw new ConfigError('api.tokenFile', `${file}: the token ${parsed.error.issues[0]?.message ?? 'is invalid'}`)
  return parsed.data
}

export async function readAlertmanagerHttp (config: Config): Promise<AlertmanagerHttp> {
  const am = config.alertmanager
  const out: AlertmanagerHttp = {}
  if (am.basicAuth !== undefined) {
    const { username, password, passwordFile } = am.basicAuth
    out.basicAuth = { username, password: password ?? await readSecret('alertmanager.basicAuth.passwordFile', passwordFile as string, 'write the password there or set alertmanager.basicAuth.password') }
  }
  if (am.bearerTokenFile !== undefined) out.bearerToken = await readSecret('alertmanager.bearerTokenFile', am.bearerTokenFile, 'write the token there')
  if (am.tls !== undefined) {
    const pem = async (key: 'caFile' | 'certFile' | 'keyFile'): Promise<Buffer | undefined> => {
      const file = am.tls?.[key]
      return file === undefined ? undefined : await read(`alertmanager.tls.${key}`, file, 'give the path of a PEM file')
    }
    const tls = { ca: await pem('caFile'), cert: await pem('certFile'), key: await pem('keyFile') }
    try {
      // what every request would fail with later: a file that is not PEM, a key that does not match its certificate
      // (a CA that is no certificate is silently ignored by node:tls: parse it)
      if (tls.ca !== undefined) void new X509Certificate(tls.ca)
      createSecureContext(tls)
    } catch (err: any) {
      throw new ConfigError('alertmanager.tls', `${err.message}; check caFile, certFile and keyFile (PEM, the key matching the certificate)`)
    }
    out.tls = tls
  }
  return out
}
