/**
 * The settings table of docs/reference.md, generated from the config schema
 * between two markers (`npm run docs` writes it; a test fails when it is out
 * of date).
 */
import { describeSettings, type ConfigSetting } from './describe.js'
import { configSchema } from './schema.js'

export const BEGIN = '<!-- options:begin -->'
export const END = '<!-- options:end -->'
export const REFERENCE_FILE = 'docs/reference.md'

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const code = (text: string | undefined): string => text === undefined || text === '' ? '' : `\`${text.replace(/\|/g, '\\|')}\``

export function settingsTable (settings: ConfigSetting[] = describeSettings(configSchema)): string {
  const rows = settings.map(s => [
    `${code(s.key)}${s.variants === undefined ? '' : ` (${s.variants.join(', ')})`}`,
    cell(s.type),
    s.default === 'required' || s.defaultIsText ? cell(s.default) : code(s.default),
    code(s.flag),
    s.env === undefined ? '' : `${code(s.env)}${s.list ? ' (comma-separated)' : ''}`,
    cell(s.doc)
  ])
  return [
    '| key | type | default | flag of `run` | environment | description |',
    '|---|---|---|---|---|---|',
    ...rows.map(r => `| ${r.join(' | ')} |`)
  ].join('\n')
}

/** `doc` with the part between the markers replaced by the current table. */
export function withSettingsTable (doc: string, table = settingsTable()): string {
  const from = doc.indexOf(BEGIN)
  const to = doc.indexOf(END)
  if (from < 0 || to < from) throw new Error(`${REFERENCE_FILE} has no ${BEGIN} ... ${END} section to fill`)
  return `${doc.slice(0, from + BEGIN.length)}\n${table}\n${doc.slice(to)}`
}
