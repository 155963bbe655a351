import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/errors.js'
import { loadConfig } from '../../src/config/load.js'
import { generateSwarmKey } from '../../src/mesh/swarm-key.js'

let dir: string
let key: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshmon-config-'))
  key = join(dir, 'swarm.key')
  await writeFile(key, generateSwarmKey())
})

async function withFile (text: string, flags = {}, env = {}) {
  const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yml`)
  await writeFile(file, text)
  return await loadConfig({ file, flags, env, cwd: dir })
}

async function problem (text: string, flags = {}): Promise<ConfigError> {
  const err = await withFile(text, flags).then(() => undefined, e => e)
  expect(err?.name).toBe('ConfigError')
  return err
}

describe('config', () => {
  it('applies defaults and resolves paths relative to the file', async () => {
    const c = await withFile('swarmKey: swarm.key\n')
    expect(c.swarmKey).toBe(key)
    expect(c.dataDir).toBe(join(dir, 'data'))
    expect(c.heartbeat).toMatchObject({ interval: 1000, suspectAfter: 1.5, downAfter: 2 })
    expect(c.expect).toBe('always-on')
    // closed unless opened: this host only, no token
    expect(c.api).toEqual({ listen: '127.0.0.1:9521', token: null, tokenFile: null, protectMetrics: false, allowedHosts: [] })
    expect(c.apiTokenValue).toBeNull()
    expect(c.swarmKeyBytes.byteLength).toBe(21 + 1 + 8 + 1 + 64)
  })

  it('takes flag over env over file', async () => {
    const c = await withFile('swarmKey: swarm.key\nname: from-file\nheartbeat: { interval: 5s }\n', { name: 'from-flag' }, { MESHMON_NAME: 'from-env', MESHMON_HEARTBEAT_INTERVAL: '3s', MESHMON_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1,/ip4/127.0.0.1/tcp/2' })
    expect(c.name).toBe('from-flag')
    expect(c.heartbeat.interval).toBe(3000)
    expect(c.bootstrap).toEqual(['/ip4/127.0.0.1/tcp/1', '/ip4/127.0.0.1/tcp/2'])
  })

  it('long durations that are only compared with a time are fine', async () => {
    const c = await withFile('swarmKey: swarm.key\nevents: { retention: 90d }\nheartbeat: { forgetAfter: 30d }\nchecks: [{ name: backup, type: file-age, path: /x, critAge: 40d }]\n')
    expect(c.events.retention).toBe(90 * 86_400_000)
    expect(c.heartbeat.forgetAfter).toBe(30 * 86_400_000)
    expect(c.checks[0]).toMatchObject({ critAge: 40 * 86_400_000 })
  })

  it('reads JSON too', async () => {
    const c = await withFile(JSON.stringify({ swarmKey: key, name: 'j', checks: [{ name: 'db', type: 'tcp', host: '127.0.0.1', port: 5432 }] }))
    expect(c.checks[0]).toMatchObject({ name: 'db', type: 'tcp', interval: 30_000, timeout: 10_000, confirmRuns: 1 })
  })

  it.each([
    ['unknown key', 'swarmKey: swarm.key\nheartbeat: { intervall: 2s }\n', 'heartbeat.intervall', /unknown setting/],
    ['bad duration', 'swarmKey: swarm.key\nheartbeat: { interval: 5x }\n', 'heartbeat.interval', /"5x" is not a duration; write it like 500ms/],
    ['bad multiaddr', 'swarmKey: swarm.key\nbootstrap: [tcp://1.2.3.4:4001]\n', 'bootstrap.0', /not a multiaddr; write it like/],
    ['empty name', 'swarmKey: swarm.key\nname: "  "\n', 'name', /must not be empty/],
    ['bad expect', 'swarmKey: swarm.key\nexpect: sometimes\n', 'expect', /must be always-on or intermittent/],
    ['a timer longer than Node can wait', 'swarmKey: swarm.key\nheartbeat: { machineInterval: 25d }\n', 'heartbeat.machineInterval', /"25d" is too long: at most 24d \(the longest a timer can wait\)/],
    ['a check interval of years', 'swarmKey: swarm.key\nchecks: [{ name: a, type: load, warning: 1, critical: 2, interval: 1000d }]\n', 'checks.0.interval', /too long: at most 24d/],
    ['a resend interval over 2^31-1 ms', 'swarmKey: swarm.key\nalertmanager: { resendInterval: 2147484s }\n', 'alertmanager.resendInterval', /too long: at most 24d/],
    ['a heartbeat interval peers refuse', 'swarmKey: swarm.key\nheartbeat: { interval: 2h }\n', 'heartbeat.interval', /too long: at most 1h/],
    ['a retention over a year', 'swarmKey: swarm.key\nevents: { retention: 400d }\n', 'events.retention', /too long: at most 366d/],
    ['a duration too large to be exact', 'swarmKey: swarm.key\nheartbeat: { forgetAfter: 99999999999999999999d }\n', 'heartbeat.forgetAfter', /is not a duration/],
    ['bad api listen', 'swarmKey: swarm.key\napi: { listen: nowhere }\n', 'api.listen', /HOST:PORT/],
    ['token and tokenFile', 'swarmKey: swarm.key\napi: { token: abc, tokenFile: t.txt }\n', 'api.tokenFile', /set api.token or api.tokenFile, not both/],
    ['token with a space', 'swarmKey: swarm.key\napi: { token: "two words" }\n', 'api.token', /printable ASCII without spaces/],
    ['empty token', 'swarmKey: swarm.key\napi: { token: "" }\n', 'api.token', /must not be empty/],
    ['missing token file', 'swarmKey: swarm.key\napi: { tokenFile: none.token }\n', 'api.tokenFile', /cannot read .*none\.token \(ENOENT\); write the token there/],
    ['missing swarm key setting', 'name: x\n', 'swarmKey', /meshmon swarm-key generate/],
    ['missing swarm key file', 'swarmKey: nope.key\n', 'swarmKey', /does not exist; create one with `meshmon swarm-key generate/],
    ['bad check type', 'swarmKey: swarm.key\nchecks: [{ name: a, type: ping }]\n', 'checks.0.type', /one of exec, http/],
    ['duplicate check', 'swarmKey: swarm.key\nchecks: [{ name: a, type: load, warning: 1, critical: 2 }, { name: a, type: load, warning: 1, critical: 2 }]\n', 'checks.1.name', /used twice/],
    ['bad label', 'swarmKey: swarm.key\nlabels: { "bad-label": x }\n', 'labels.bad-label', /Prometheus label name/],
    ['not a mapping', '- a\n- b\n', '--config', /mapping/],
    ['not yaml', 'a: [\n', '--config', /not valid YAML/]
  ])('%s: names the field and the fix', async (_what, text, field, message) => {
    const err = await problem(text)
    expect(err.field).toBe(field)
    expect(err.message).toMatch(message)
    expect(err.message).not.toContain('\n')
  })

  it('rejects a malformed swarm key', async () => {
    const bad = join(dir, 'bad.key')
    await writeFile(bad, '/key/swarm/psk/1.0.0/\n/base16/\nnothex\n')
    const err = await problem(`swarmKey: ${bad}\n`)
    expect(err.field).toBe('swarmKey')
    expect(err.message).toMatch(/64 hex characters/)
  })

  it('api.tokenFile: read relative to the config file, whitespace trimmed; the environment overrides it', async () => {
    await writeFile(join(dir, 'api.token'), '  s3cret-token\n')
    const c = await withFile('swarmKey: swarm.key\napi: { tokenFile: api.token, protectMetrics: true }\n')
    expect(c.api.tokenFile).toBe(join(dir, 'api.token'))
    expect(c.apiTokenValue).toBe('s3cret-token')
    expect(c.api.protectMetrics).toBe(true)
    const env = await withFile('swarmKey: swarm.key\napi: { tokenFile: api.token }\n', {}, { MESHMON_API_TOKEN: 'from-env' })
    expect(env.apiTokenValue).toBe('from-env')
    expect((await withFile('swarmKey: swarm.key\napi: { token: in-file }\n')).apiTokenValue).toBe('in-file')
    await writeFile(join(dir, 'blank.token'), '\n')
    const err = await problem('swarmKey: swarm.key\napi: { tokenFile: blank.token }\n')
    expect(err.field).toBe('api.tokenFile')
    expect(err.message).toMatch(/blank\.token is empty; write the token there/)
  })

  it('alertmanager credentials and TLS: files read relative to the config file; secrets never in an error', async () => {
    await writeFile(join(dir, 'am.pass'), 'pa55word\n')
    await writeFile(join(dir, 'am.bearer'), 'tok-123\n')
    const basic = await withFile('swarmKey: swarm.key\nalertmanager: { urls: [https://am:9093], basicAuth: { username: mesh, passwordFile: am.pass } }\n')
    expect(basic.alertmanagerHttp).toEqual({ basicAuth: { username: 'mesh', password: 'pa55word' } })
    const bearer = await withFile('swarmKey: swarm.key\nalertmanager: { urls: [http://am:9093], bearerTokenFile: am.bearer }\n')
    expect(bearer.alertmanagerHttp).toEqual({ bearerToken: 'tok-123' })
    const cases: Array<[string, string, RegExp]> = [
      ['alertmanager: { urls: ["ftp://u:hunter2@am"] }', 'alertmanager.urls.0', /is not an http:\/\/ or https:\/\/ URL/],
      ['alertmanager: { urls: ["http://u:hunter2@am:9093"], basicAuth: { username: u, password: x } }', 'alertmanager.urls.0', /carries user:password@ and basicAuth or bearerTokenFile is set too/],
      ['alertmanager: { basicAuth: { username: u, password: hunter2 }, bearerTokenFile: am.bearer }', 'alertmanager.bearerTokenFile', /not both/],
      ['alertmanager: { basicAuth: { username: u } }', 'alertmanager.basicAuth', /give password or passwordFile/],
      ['alertmanager: { tls: { certFile: a.pem } }', 'alertmanager.tls', /certFile and keyFile go together/],
      ['alertmanager: { tls: { caFile: am.pass } }', 'alertmanager.tls', /check caFile, certFile and keyFile/],
      ['alertmanager: { tls: { caFile: none.pem } }', 'alertmanager.tls.caFile', /cannot read .*none\.pem \(ENOENT\)/],
      ['alertmanager: { bearerTokenFile: none.tok }', 'alertmanager.bearerTokenFile', /cannot read .*none\.tok/]
    ]
    for (const [yaml, field, message] of cases) {
      const err = await problem(`swarmKey: swarm.key\n${yaml}\n`)
      expect(err.field, yaml).toBe(field)
      expect(err.message, yaml).toMatch(message)
      expect(err.message).not.toMatch(/hunter2|pa55word/)
    }
  })

  it('reports a missing config file', async () => {
    const err = await loadConfig({ file: join(dir, 'none.yml') }).then(() => undefined, e => e)
    expect(err.field).toBe('--config')
    expect(err.message).toMatch(/cannot read .*none\.yml \(ENOENT\)/)
  })
})
