#!/usr/bin/env node
// `npm test`: make sure the Debian packages the end-to-end tests use are here
// (installing them when root with apt-get), build (with the web page), typecheck, run vitest, and
// close with one plain line "N passed, N failed, N skipped".
// With CI=true a missing package is a failure, never a skip.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CI = process.env.CI === 'true' || process.env.CI === '1'
// package -> a file it installs that the tests use
const PACKAGES = {
  prometheus: '/usr/bin/promtool',
  'prometheus-alertmanager': '/usr/bin/prometheus-alertmanager',
  'prometheus-node-exporter': '/usr/bin/prometheus-node-exporter',
  'monitoring-plugins-basic': '/usr/lib/nagios/plugins/check_dummy',
  // the reverse proxy in front of a WebSockets listener (on Debian 12 the binary is in nginx, not nginx-light)
  nginx: '/usr/sbin/nginx',
  // bcrypt password hashes for Alertmanager's basic auth in the credentials test
  'apache2-utils': '/usr/bin/htpasswd',
  // self-signed certificates (the proxy's TLS, Alertmanager's TLS)
  openssl: '/usr/bin/openssl',
  chromium: '/usr/bin/chromium',
  // the device tests' Go client (test/devices/client) and HTTP pushes
  'golang-go': '/usr/bin/go',
  'golang-github-gorilla-websocket-dev': '/usr/share/gocode/src/github.com/gorilla/websocket/conn.go',
  curl: '/usr/bin/curl',
  // `ip netns`, veth and bridges for the network-namespace fault tests (test/support/netlab.ts)
  iproute2: '/usr/bin/ip',
  // the lab's own test pings across the cables it cuts
  'iputils-ping': '/usr/bin/ping'
}

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', ...opts }).status ?? 1
const missing = () => Object.entries(PACKAGES).filter(([, file]) => !existsSync(file)).map(([pkg]) => pkg)

let absent = missing()
if (absent.length > 0) {
  const root = process.getuid?.() === 0
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0
  if (root && apt) {
    console.log(`installing Debian packages for the end-to-end tests: ${absent.join(' ')}`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    run('apt-get', ['update', '-qq'], { env })
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...absent], { env })
    absent = missing()
  }
  if (absent.length > 0) {
    const why = root ? 'apt-get could not install them' : 'not root, so they cannot be installed here'
    const banner = '!'.repeat(78)
    console.error(`\n${banner}\n!! MISSING Debian packages: ${absent.join(', ')} (${why}).\n!! Install them with: sudo apt-get install ${absent.join(' ')}\n`)
    if (CI) {
      console.error(`!! CI=true: a missing package is a failure, not a skip.\n${banner}\n`)
      console.log('0 passed, 1 failed')
      process.exit(1)
    }
    console.error(`!! The tests that need them are SKIPPED and say so.\n${banner}\n`)
  }
}

// npm run build (the node and its web page), then npm run typecheck (node and browser code)
if (run('npm', ['run', '--silent', 'build']) !== 0 || run('npm', ['run', '--silent', 'typecheck']) !== 0) {
  console.log('0 passed, 1 failed')
  process.exit(1)
}

const out = join(mkdtempSync(join(tmpdir(), 'meshmon-test-')), 'vitest.json')
const status = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)], {
  env: { ...process.env, MESHMON_MISSING_PACKAGES: absent.join(',') }
})
let summary = status === 0 ? '0 passed, 0 failed' : '0 passed, 1 failed'
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'))
  // a file that fails to load has no failed test but fails the run: count it once
  const failed = r.numFailedTests + (r.numFailedTests === 0 && status !== 0 ? 1 : 0)
  summary = `${r.numPassedTests} passed, ${failed} failed, ${r.numPendingTests + r.numTodoTests} skipped`
}
console.log(summary)
process.exit(status)
