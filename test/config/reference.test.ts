/**
 * Each setting is defined once, in the config schema: the reference table in
 * docs/reference.md, `meshmon run --help` and the MESHMON_* variables all come
 * from it, and a setting added to the schema shows up in each with nothing
 * else to edit.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { describeSettings, setting } from '../../src/config/describe.js'
import { SETTINGS } from '../../src/config/load.js'
import { REFERENCE_FILE, settingsTable, withSettingsTable } from '../../src/config/reference.js'
import { meshmon } from '../support/cli.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

describe('settings reference', () => {
  it(`${REFERENCE_FILE} holds the table the schema gives`, async () => {
    const doc = await readFile(ROOT + REFERENCE_FILE, 'utf8')
    expect(withSettingsTable(doc) === doc, `${REFERENCE_FILE} is out of date: run \`npm run docs\` and commit it`).toBe(true)
  })

  it('lists every setting once per variant, with its type, default, flag and env', () => {
    const keys = SETTINGS.map(s => `${s.key}${s.variants === undefined ? '' : `(${s.variants.join()})`}`)
    expect(new Set(keys).size).toBe(keys.length)
    expect(SETTINGS.find(s => s.key === 'heartbeat.interval')).toMatchObject({ type: 'duration', default: '1s', flag: '--heartbeat-interval <duration>', env: 'MESHMON_HEARTBEAT_INTERVAL' })
    expect(SETTINGS.find(s => s.key === 'listen')).toMatchObject({ type: 'list of multiaddr', list: true, env: 'MESHMON_LISTEN' })
    expect(SETTINGS.find(s => s.key === 'swarmKey')).toMatchObject({ default: 'required', isPath: true })
    // a default the host computes is named, not printed: the table is the same on every machine
    expect(SETTINGS.find(s => s.key === 'name')?.default).toBe('the hostname')
    expect(SETTINGS.find(s => s.key === 'checks[].type')?.type).toBe('one of exec, http, tcp, file-age, disk, memory, load')
    expect(SETTINGS.filter(s => s.key === 'checks[].warning').map(s => [s.variants, s.default])).toEqual([[['disk'], '80'], [['memory'], '10'], [['load'], 'required']])
    // an optional setting's inner default never applies
    expect(SETTINGS.find(s => s.key === 'checks[].warnAge')?.default).toBe('-')
  })

  it('a setting added to the schema needs nothing else: a row, and with a flag its env variable', () => {
    const schema = z.object({
      api: z.object({ tokenFile: z.string().nullable().default(null).describe('file holding the API token') }).strict().default({}),
      ingest: z.object({ maxDevices: setting(z.number().int().min(1).default(10_000), { flag: '--ingest-max-devices <n>', doc: 'devices accepted' }) }).strict().default({})
    }).strict()
    const rows = describeSettings(schema)
    expect(rows).toMatchObject([
      { key: 'api.tokenFile', type: 'string or null', default: 'null', doc: 'file holding the API token', flag: undefined, env: undefined },
      { key: 'ingest.maxDevices', type: 'integer >= 1', default: '10000', flag: '--ingest-max-devices <n>', flagKey: 'ingestMaxDevices', env: 'MESHMON_INGEST_MAX_DEVICES', scalar: 'number' }
    ])
    expect(settingsTable(rows)).toContain('| `ingest.maxDevices` | integer >= 1 | `10000` | `--ingest-max-devices <n>` | `MESHMON_INGEST_MAX_DEVICES` | devices accepted |')
  })

  it('`meshmon run --help` shows each flag with its default and env variable', async () => {
    const r = await meshmon(['run', '--help'])
    expect(r.code).toBe(0)
    const help = r.stdout.replace(/\s+/g, ' ')
    for (const s of SETTINGS.filter(s => s.flag !== undefined)) {
      expect(help).toContain(s.flag)
      expect(help).toContain(`env ${s.env as string}`)
      expect(help).toContain(s.default === 'required' ? 'required' : `default: ${s.default}`)
    }
  })
})
