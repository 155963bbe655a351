import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { runCheck } from '../../src/checks/run.js'
import { Status } from '../../src/checks/types.js'
import { checkSchema, type CheckConfig } from '../../src/config/schema.js'
import { close, listen, PLUGINS, tempDir } from './helpers.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0)) await c() })

describe('runCheck', () => {
  it('runs each configured type from its parsed config', async () => {
    const server = createServer(s => s.destroy())
    const port = await listen(server)
    cleanups.push(async () => { await close(server) })
    const tmp = await tempDir()
    cleanups.push(tmp.remove)
    const configs = [
      { name: 'dummy', type: 'exec', command: [`${PLUGINS}/check_dummy`, '1', 'meh'] },
      { name: 'web', type: 'http', url: `http://127.0.0.1:${port}/`, timeout: '2s' },
      { name: 'port', type: 'tcp', host: '127.0.0.1', port },
      { name: 'age', type: 'file-age', path: `${tmp.dir}/*`, critAge: '1m' },
      { name: 'disk', type: 'disk', warning: 100, critical: 100 },
      { name: 'mem', type: 'memory', warning: 0, critical: 0 },
      { name: 'load', type: 'load', warning: 1e6, critical: 1e6 }
    ].map(c => checkSchema.parse(c))
    const results = await Promise.all(configs.map(async c => await runCheck(c)))
    expect(results.map(r => r.status)).toEqual([
      Status.WARNING,
      Status.CRITICAL, // the tcp server hangs up without an HTTP answer
      Status.OK,
      Status.CRITICAL, // the temp dir is empty
      Status.OK, Status.OK, Status.OK
    ])
    expect(results[0]?.output).toBe('WARNING: meh')
    for (const r of results) expect(r.durationSeconds).toBeGreaterThanOrEqual(0)
  })

  it('passes the parsed timeout (ms) to the runner', async () => {
    const check = checkSchema.parse({ name: 'slow', type: 'exec', command: ['sleep', '10'], timeout: '500ms' })
    const r = await runCheck(check)
    expect(r).toMatchObject({ status: Status.CRITICAL, output: 'timed out after 0.5s' })
    expect(r.durationSeconds).toBeGreaterThanOrEqual(0.45)
  })

  it('turns an unexpected failure into UNKNOWN instead of throwing', async () => {
    const bogus = { ...checkSchema.parse({ name: 'x', type: 'load', warning: 1, critical: 2 }), type: 'nope' } as unknown as CheckConfig
    const r = await runCheck(bogus)
    expect(r.status).toBe(Status.UNKNOWN)
    expect(r.output).toMatch(/^check failed unexpectedly: unknown check type nope/)
  })
})
