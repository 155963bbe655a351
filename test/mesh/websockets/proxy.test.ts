/**
 * A node behind a reverse proxy that forwards WebSocket upgrades (Debian's
 * nginx, its own config, prefix and pid file, on a free loopback port): a
 * node that knows only the proxy's address and path joins the mesh; a wrong
 * path is logged as an HTTP answer that did not upgrade, not as a key problem.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Cluster, type NodeProc } from '../../support/cluster.js'
import { lacks } from '../../support/packages.js'
import { freePort } from '../../support/ports.js'
import { Procs } from '../../support/procs.js'
import { waitFor } from '../../support/wait.js'

const NGINX = '/usr/sbin/nginx'
const OPENSSL = '/usr/bin/openssl'

/** the location block the docs show: forward the upgrade to the node's /ws listener */
const location = (upstream: number): string => `location /p2p {
      proxy_pass http://127.0.0.1:${upstream};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 1h;
    }`

/** plain HTTP on `port`, HTTPS on `tlsPort`, everything nginx writes kept under `dir` */
const nginxConf = (dir: string, port: number, tlsPort: number, upstream: number): string => `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    access_log ${dir}/access.log;
    ${location(upstream)}
  }
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    access_log ${dir}/tls-access.log;
    ${location(upstream)}
  }
}
`

describe.skipIf(lacks('nginx', NGINX) || lacks('openssl', OPENSSL))('a node behind nginx forwarding WebSocket upgrades', () => {
  const cluster = new Cluster()
  const procs = new Procs()
  let dir: string
  let proxyPort: number
  let tlsPort: number
  let a: NodeProc

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-nginx-'))
    await cluster.init()
    a = await cluster.start('a', [], { listen: 'ws' })
    proxyPort = await freePort()
    tlsPort = await freePort()
    // a self-signed certificate for localhost, trusted by the node that dials through TLS
    await promisify(execFile)(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { timeout: 10_000 })
    await writeFile(join(dir, 'nginx.conf'), nginxConf(dir, proxyPort, tlsPort, a.p2pPort))
    procs.start(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')])
    // nginx answers 404 outside /p2p once it listens
    await waitFor('nginx listening', async () => (await fetch(`http://127.0.0.1:${proxyPort}/`)).status === 404, 10_000)
  })
  afterEach((ctx) => { if (ctx.task.result?.state === 'fail') cluster.dumpLogs() })
  afterAll(async () => {
    await procs.stopAll()
    await cluster.stopAll()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('a node that knows only /dns4/localhost/tcp/PROXY/ws/http-path/p2p joins the mesh through it', async () => {
    const viaProxy = `/dns4/localhost/tcp/${proxyPort}/ws/http-path/p2p`
    const wrongPath = `/dns4/localhost/tcp/${proxyPort}/ws/http-path/nowhere`
    const b = await cluster.start('b', [], { listen: 'tcp', bootstrap: [wrongPath, viaProxy] })
    await waitFor('a and b see each other up', async () => await cluster.stateOf(a, b) === 'up' && await cluster.stateOf(b, a) === 'up', 20_000)
    // the wrong location is an HTTP answer without an upgrade, said so, and not blamed on the swarm key
    const line = await waitFor('b to log the wrong path', () => b.logs.find(l => l.includes('/http-path/nowhere') && l.includes('"level":40')), 10_000)
    expect(JSON.parse(line).msg).toMatch(/Unexpected server response: 404.*did not upgrade to a WebSocket/)
    expect(line).not.toMatch(/swarm key/)
    // nginx logs a WebSocket when it ends: once b leaves, the upgrade through /p2p is there as 101 Switching Protocols
    b.child.kill('SIGTERM')
    await cluster.exited(b)
    await waitFor('nginx to log the upgrade', async () => /"GET \/p2p HTTP\/1\.1" 101 /.test(await readFile(join(dir, 'access.log'), 'utf8')), 10_000)
  })

  it('through TLS (/tls/ws): a node that trusts the certificate joins by /dns4/localhost/tcp/PROXY/tls/ws/http-path/p2p', async () => {
    const c = await cluster.start('c', [], { listen: 'tcp', bootstrap: [`/dns4/localhost/tcp/${tlsPort}/tls/ws/http-path/p2p`], env: { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') } })
    await waitFor('a and c see each other up', async () => await cluster.stateOf(a, c) === 'up' && await cluster.stateOf(c, a) === 'up', 20_000)
    c.child.kill('SIGTERM')
    await cluster.exited(c)
    await waitFor('nginx to log the upgrade over TLS', async () => /"GET \/p2p HTTP\/1\.1" 101 /.test(await readFile(join(dir, 'tls-access.log'), 'utf8')), 10_000)
  })
})
