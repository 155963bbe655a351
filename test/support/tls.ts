/**
 * A throwaway certificate authority made with the real openssl: a CA, a
 * server certificate for 127.0.0.1 and a client certificate, all signed by
 * it, valid for a day. For tests of TLS and mutual TLS on loopback.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

export const OPENSSL = '/usr/bin/openssl'

export interface TestPki {
  caCert: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  /** the files' contents, as node:tls takes them */
  pem: (file: string) => Promise<Buffer>
}

const openssl = async (args: string[]): Promise<void> => { await promisify(execFile)(OPENSSL, args, { timeout: 20_000 }) }
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

async function issue (dir: string, name: string, cn: string, ext: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), ext)
  await openssl(['req', ...EC, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.csr`), '-subj', `/CN=${cn}`])
  await openssl(['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial',
    '-out', join(dir, `${name}.crt`), '-days', '1', '-extfile', join(dir, `${name}.ext`)])
}

export async function makeTestPki (dir: string): Promise<TestPki> {
  await openssl(['req', '-x509', ...EC, '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '1', '-subj', '/CN=meshmon test CA'])
  await issue(dir, 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  await issue(dir, 'client', 'meshmon-client', 'extendedKeyUsage=clientAuth\n')
  return {
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    pem: async file => await readFile(file)
  }
}
