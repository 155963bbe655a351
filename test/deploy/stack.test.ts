/**
 * The deployment files. The swarm stack is read by docker itself, its
 * parts agree with each other and with docker/meshmon.yml, every config it
 * mounts passes its own tool (promtool, amtool, `meshmon check`), the image's
 * health check answers for a node started from the stack's config, and the
 * systemd unit passes `systemd-analyze verify`. No docker engine is needed.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { SETTINGS } from '../../src/config/load.js'
import { BIN, collect, meshmon, type CliResult } from '../support/cli.js'
import { Cluster } from '../support/cluster.js'
import { freePort } from '../support/ports.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DOCKER = join(ROOT, 'docker')
const CI = process.env.CI === 'true'
/** The stack's own settings (stack.yml's ${...}), unset so its defaults are what is tested. */
const STACK_VARS = ['MESHMON_IMAGE', 'SWARM_KEY_SECRET', 'CONFIG_REV', 'KARMA_PORT', 'PROMETHEUS_PORT']
/** Every MESHMON_* setting blanked (load.ts ignores empty ones): the files alone are under test. */
const NO_MESHMON_ENV = Object.fromEntries(SETTINGS.flatMap(s => s.env === undefined ? [] : [[s.env, '']]))

function which (program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, program))) return join(dir, program)
  }
  return undefined
}

/**
 * The path of a program the test needs. Missing: with CI=true the test fails
 * (a missing tool is never a silent pass there); elsewhere it is skipped and
 * says which package to install.
 */
function need (ctx: TestContext, program: string, pkg: string): string {
  const path = which(program)
  if (path !== undefined) return path
  const reason = `${program} is not installed; install ${pkg} to run this test`
  if (CI) throw new Error(`${reason} (CI=true: a missing tool is a failure, not a skip)`)
  return ctx.skip(reason)
}

async function run (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return await collect(spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }), 30_000)
}

const readYaml = async (file: string): Promise<any> => parseYaml(await readFile(file, 'utf8'))
/** a compose duration like 20s or 1m, in seconds */
const seconds = (d: string): number => {
  const m = /^(\d+)(s|m)$/.exec(d)
  return m === null ? NaN : Number(m[1]) * (m[2] === 'm' ? 60 : 1)
}

let dir: string
let key: string
let stack: any
let meshmonYml: any
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshmon-deploy-'))
  key = join(dir, 'swarm.key')
  expect((await meshmon(['swarm-key', 'generate', '--out', key])).code).toBe(0)
  stack = await readYaml(join(DOCKER, 'stack.yml'))
  meshmonYml = await readYaml(join(DOCKER, 'meshmon.yml'))
})
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('docker/stack.yml', () => {
  it('is accepted by `docker stack config`, with its defaults filled in', async (ctx) => {
    const docker = need(ctx, 'docker', 'the docker CLI (docker-ce-cli or docker.io)')
    const env = { ...process.env }
    for (const v of STACK_VARS) delete env[v]
    const r = await run(docker, ['stack', 'config', '-c', 'docker/stack.yml'], env)
    expect(r.code, r.stderr).toBe(0)
    const out = parseYaml(r.stdout)
    expect(Object.keys(out.services).sort()).toEqual(['alertmanager', 'karma', 'meshmon', 'prometheus'])
    expect(out.services.meshmon.image).toBe('meshmon:latest')
    expect(out.secrets.swarm_key).toMatchObject({ external: true, name: 'meshmon_swarm_key' })
    // rotating the key is deploying with another secret name
    const rotated = await run(docker, ['stack', 'config', '-c', 'docker/stack.yml'], { ...env, SWARM_KEY_SECRET: 'meshmon_swarm_key_2' })
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(parseYaml(rotated.stdout).secrets.swarm_key.name).toBe('meshmon_swarm_key_2')
  })

  it('runs meshmon on every node, wired the way docker/meshmon.yml expects', () => {
    const svc = stack.services.meshmon
    expect(svc.deploy.mode).toBe('global')
    // the command reads the config file the stack mounts
    expect(svc.command).toEqual(['run', '--config', '/etc/meshmon/meshmon.yml'])
    expect(svc.configs).toContainEqual(expect.objectContaining({ source: 'meshmon_yml', target: '/etc/meshmon/meshmon.yml' }))
    expect(stack.configs.meshmon_yml.file).toBe('./meshmon.yml')
    // the node is named after the swarm node; every MESHMON_* variable is a real setting
    expect(svc.environment.MESHMON_NAME).toBe('{{.Node.Hostname}}')
    const settings = SETTINGS.flatMap(s => s.env ?? [])
    for (const name of Object.keys(svc.environment).filter(n => n.startsWith('MESHMON_'))) expect(settings).toContain(name)
    // the swarm key: an external secret at the path the config names
    expect(svc.secrets).toContainEqual(expect.objectContaining({ source: 'swarm_key', target: 'swarm.key', uid: '10001' }))
    expect(stack.secrets.swarm_key.external).toBe(true)
    expect(meshmonYml.swarmKey).toBe('/run/secrets/swarm.key')
    // a named volume for the data dir
    expect(svc.volumes).toContain('meshmon-data:/data')
    expect(Object.keys(stack.volumes)).toContain('meshmon-data')
    expect(meshmonYml.dataDir).toBe('/data')
    // p2p published on each node's own port, and listened on
    expect(svc.ports).toContainEqual({ target: 4001, published: 4001, protocol: 'tcp', mode: 'host' })
    expect(meshmonYml.listen).toContain('/ip4/0.0.0.0/tcp/4001')
    // bootstrap through every task; alerts to the stack's Alertmanager
    expect(meshmonYml.bootstrap).toContain('/dns4/tasks.meshmon/tcp/4001')
    expect(meshmonYml.alertmanager.urls).toContain('http://alertmanager:9093')
    expect(stack.services.alertmanager).toBeDefined()
    // a graceful leave takes up to 10 s before meshmon forces its exit: swarm must wait longer
    expect(seconds(svc.stop_grace_period)).toBeGreaterThan(10)
    for (const s of Object.values<any>(stack.services)) expect(s.networks).toEqual(['mesh'])
  })

  it('mounts only files that exist', () => {
    for (const [name, c] of Object.entries<any>(stack.configs)) {
      expect(existsSync(resolve(DOCKER, c.file)), `config ${name}: ${c.file}`).toBe(true)
    }
  })

  it('has Prometheus scrape the mesh once through the service and each node\'s own metrics through tasks.meshmon', async () => {
    const prom = await readYaml(join(DOCKER, 'prometheus.yml'))
    const job = (name: string): any => prom.scrape_configs.find((j: any) => j.job_name === name)
    expect(job('meshmon').static_configs[0].targets).toEqual(['meshmon:9521'])
    expect(job('meshmon-self').dns_sd_configs[0]).toMatchObject({ names: ['tasks.meshmon'], type: 'A', port: 9521 })
    // the API is opened explicitly (meshmon's default is 127.0.0.1), and answers to the service name Prometheus uses
    expect(meshmonYml.api.listen).toBe('0.0.0.0:9521')
    expect(meshmonYml.api.allowedHosts).toContain(job('meshmon').static_configs[0].targets[0].split(':')[0])
    expect((await readYaml(join(DOCKER, 'image-meshmon.yml'))).api.listen).toBe('0.0.0.0:9521')
    // the two jobs split the series with one regex: dropped by one, kept by the other
    const drop = job('meshmon').metric_relabel_configs[0]
    const keep = job('meshmon-self').metric_relabel_configs[0]
    expect([drop.action, keep.action]).toEqual(['drop', 'keep'])
    expect(drop.regex).toBe(keep.regex)
    const self = new RegExp(`^(?:${keep.regex as string})$`)
    for (const name of ['process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'meshmon_connected_peers', 'meshmon_gossip_messages_invalid_total',
      'meshmon_alertmanager_sends_total', 'meshmon_eventlog_entries', 'meshmon_heartbeat_delay_seconds_bucket']) expect(name).toMatch(self)
    for (const name of ['meshmon_peer_up', 'meshmon_peer_state', 'meshmon_node_cpu_usage_ratio', 'meshmon_node_info', 'meshmon_check_status']) expect(name).not.toMatch(self)
    // the config files land where the commands look for them
    const p = stack.services.prometheus
    expect(p.command).toContain(`--config.file=${p.configs.find((c: any) => c.source === 'prometheus_yml').target}`)
    expect(p.configs.map((c: any) => c.target)).toContain(`/etc/prometheus/${prom.rule_files[0] as string}`)
    const am = stack.services.alertmanager
    expect(am.command).toContain(`--config.file=${am.configs[0].target}`)
  })

  it('points Karma at Alertmanager, with a config file name karma reads', async () => {
    const karma = stack.services.karma
    expect(karma.configs[0].target).toMatch(/\.yaml$/)
    expect(karma.environment.CONFIG_FILE).toBe(karma.configs[0].target)
    const conf = await readYaml(join(DOCKER, 'karma.yml'))
    expect(conf.alertmanager.servers.map((s: any) => s.uri)).toEqual(['http://alertmanager:9093'])
  })

  it('docker/prometheus.yml passes `promtool check config`', async (ctx) => {
    const promtool = need(ctx, 'promtool', 'prometheus')
    const r = await run(promtool, ['check', 'config', 'docker/prometheus.yml'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(/1 rules found/)
  })

  it('docker/alertmanager.yml passes `amtool check-config`, and routes the mesh alerts', async (ctx) => {
    const amtool = need(ctx, 'amtool', 'prometheus-alertmanager')
    const r = await run(amtool, ['check-config', 'docker/alertmanager.yml'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const route = async (...labels: string[]): Promise<string> =>
      (await run(amtool, ['config', 'routes', 'test', '--config.file', 'docker/alertmanager.yml', ...labels])).stdout.trim()
    expect(await route('alertname=MeshPeerDown', 'severity=critical', 'mesh=m', 'peer=p', 'node=n')).toBe('mesh-pager')
    expect(await route('alertname=MeshCheckFailed', 'severity=warning', 'mesh=m', 'peer=p', 'node=n', 'check=c')).toBe('mesh-chat')
  })
})

describe('the meshmon configs are accepted by `meshmon check`', () => {
  // exit 0 or 1 is a valid config whose checks ran (a full disk here is not the file's fault); 2 is a config error
  const accepted = (r: CliResult): void => {
    expect([0, 1], r.stderr).toContain(r.code)
    expect(r.stdout).toMatch(/^config .* is valid/)
  }
  it('docker/meshmon.yml (the stack\'s)', async () => accepted(await meshmon(['check', '--config', join(DOCKER, 'meshmon.yml'), '--swarm-key', key], { env: NO_MESHMON_ENV })))
  it('docker/image-meshmon.yml (the image\'s default)', async () => accepted(await meshmon(['check', '--config', join(DOCKER, 'image-meshmon.yml'), '--swarm-key', key], { env: NO_MESHMON_ENV })))
  it('contrib/meshmon.yml (the systemd example)', async () => accepted(await meshmon(['check', '--config', join(ROOT, 'contrib/meshmon.yml'), '--swarm-key', key], { env: NO_MESHMON_ENV })))
  it('bootstrap/example-peers.txt, given to MESHMON_BOOTSTRAP as its header says', async () => {
    const text = await readFile(join(ROOT, 'bootstrap/example-peers.txt'), 'utf8')
    const peers = text.split('\n').map(l => l.replace(/#.*/, '').trim()).filter(Boolean)
    expect(peers.length).toBeGreaterThan(3)
    const r = await meshmon(['check', '--swarm-key', key], { env: { ...NO_MESHMON_ENV, MESHMON_BOOTSTRAP: peers.join(' ') } })
    expect(r.code, r.stderr).toBe(0)
  })
})

describe('the image', () => {
  const cluster = new Cluster()
  afterAll(async () => { await cluster.stopAll() })

  const healthcheck = async (env: NodeJS.ProcessEnv): Promise<CliResult> =>
    await run(process.execPath, [join(DOCKER, 'healthcheck.mjs')], { ...process.env, MESHMON_HEALTHCHECK_URL: '', MESHMON_API_LISTEN: '', ...env })

  it('health check passes for a node started from the stack\'s config', async () => {
    await cluster.init()
    // as in the stack: the config file, overridden by MESHMON_* variables (here: loopback ports and temp dirs)
    const node = await cluster.start('swarm-node', ['--config', join(DOCKER, 'meshmon.yml')], { env: { ...NO_MESHMON_ENV, MESHMON_LOG_LEVEL: 'warn' } })
    const ok = await healthcheck({ MESHMON_API_LISTEN: `0.0.0.0:${node.apiPort}` })
    expect(ok.code, ok.stderr).toBe(0)
    expect((await cluster.peers(node)).find(p => p.self)?.labels).toMatchObject({ platform: 'docker-swarm' })
  })

  it('health check fails when nothing answers, or /healthz is not 200', async () => {
    const closed = await healthcheck({ MESHMON_API_LISTEN: `127.0.0.1:${await freePort()}` })
    expect(closed.code).toBe(1)
    expect(closed.stderr).toMatch(/ECONNREFUSED/)
    const server = createServer((_req, res) => { res.writeHead(503).end('{"error":"starting or stopping"}') })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as { port: number }).port
      const starting = await healthcheck({ MESHMON_HEALTHCHECK_URL: `http://127.0.0.1:${port}/healthz` })
      expect(starting.code).toBe(1)
      expect(starting.stderr).toMatch(/answered 503/)
    } finally { server.close() }
  })

  it('Dockerfile copies only files that exist and the build context lets through, and bakes in no key', async () => {
    const dockerfile = await readFile(join(DOCKER, 'Dockerfile'), 'utf8')
    const allowed = (await readFile(join(DOCKER, 'Dockerfile.dockerignore'), 'utf8')).split('\n').filter(l => l.startsWith('!')).map(l => l.slice(1))
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap(m => (m[1] as string).split(/\s+/))
    expect(sources.length).toBeGreaterThan(3)
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), src).toBe(true)
      expect(allowed, `${src} is not let through by docker/Dockerfile.dockerignore`).toContain(src)
      expect(src).not.toMatch(/swarm|\.key$/)
    }
    expect(dockerfile).toMatch(/^USER meshmon$/m)
    expect(dockerfile).toMatch(/^VOLUME \/data$/m)
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*healthcheck\.mjs/m)
  })
})

describe('plain hosts and keys', () => {
  it('contrib/meshmon.service passes `systemd-analyze verify`', async (ctx) => {
    const analyze = need(ctx, 'systemd-analyze', 'systemd')
    const unit = await readFile(join(ROOT, 'contrib/meshmon.service'), 'utf8')
    expect(unit).toMatch(/^ExecStart=\S+ run --config \/etc\/meshmon\/meshmon.yml$/m)
    for (const line of ['KillSignal=SIGTERM', 'Restart=on-failure', 'StateDirectory=meshmon', 'DynamicUser=yes']) expect(unit).toContain(`\n${line}\n`)
    // verify wants the program to exist: point it at this checkout's bin/meshmon.js
    const copy = join(dir, 'meshmon.service')
    await writeFile(copy, unit.replace(/^ExecStart=\S+/m, `ExecStart=${BIN}`))
    const r = await run(analyze, ['verify', copy])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/meshmon\.service/)
  })

  it('swarm-key/ keeps every key out of git', async (ctx) => {
    const git = need(ctx, 'git', 'git')
    const ignored = async (path: string): Promise<boolean> => (await run(git, ['check-ignore', '--no-index', '-q', path])).code === 0
    for (const path of ['swarm-key/swarm.key', 'swarm-key/swarm-2.key', 'swarm-key/old/backup.txt']) expect(await ignored(path), path).toBe(true)
    for (const path of ['swarm-key/README.md', 'swarm-key/.gitignore']) expect(await ignored(path), path).toBe(false)
  })
})
