/**
 * Every config setting as one list, read from the zod schema itself: its
 * dotted key, type, default, description (zod's `.describe()`), and for the
 * settings `run` also takes on the command line, the flag and its
 * MESHMON_<UPPER_SNAKE> variable. The CLI, the config loader and
 * docs/reference.md are all built from this list, so a setting added to the
 * schema shows up everywhere with nothing else to edit.
 */
import { z, type ZodTypeAny } from 'zod'

export interface SettingMeta {
  /** what the setting does, for --help and the reference */
  doc?: string
  /** `run`'s long flag and its argument, e.g. '--api-listen <host:port>'; also gives the env variable */
  flag?: string
  /** the type as the reference names it when zod's does not say enough: duration, multiaddr, path */
  type?: string
  /** the default as the reference shows it when the value is computed (the hostname) */
  defaultText?: string
  /** an env variable without a flag (secrets: argv shows in `ps`); true: MESHMON_ + the dotted path in UPPER_SNAKE */
  env?: true | string
  /** a sibling setting that this one, given by env or flag, sets to null (a token from the env replaces a token file) */
  excludes?: string
}

const META = new WeakMap<ZodTypeAny, SettingMeta>()

/** Attach metadata to a schema (and its description, when given); returns the schema to use in its place. */
export function setting<T extends ZodTypeAny> (schema: T, meta: SettingMeta): T {
  // describe() makes a copy, not a wrapper: it takes along what the original was told
  const described = (meta.doc === undefined ? schema : schema.describe(meta.doc)) as T
  META.set(described, { ...META.get(schema), ...meta })
  return described
}

export interface ConfigSetting {
  /** dotted path; `[]` marks the items of a list: checks[].interval */
  key: string
  /** the path in the config object (no list items) */
  path: string[]
  type: string
  /** as the reference shows it; 'required' when there is none */
  default: string
  /** the default is a description (the hostname), not a value */
  defaultIsText: boolean
  doc: string
  /** the check types (or other variants) it belongs to, when not all */
  variants?: string[]
  /** `run --flag <arg>` */
  flag?: string
  /** commander's key for the flag (--api-listen -> apiListen), or the env-only setting's key (apiToken) */
  flagKey?: string
  /** MESHMON_API_LISTEN */
  env?: string
  /** the sibling it sets to null when given by env or flag */
  excludes?: string
  /** a list: the flag repeats, the env value is comma-separated */
  list: boolean
  /** what a flag or env string becomes before the schema checks it */
  scalar: 'string' | 'number' | 'boolean'
  /** a file or dir outside any list: relative ones are taken from the config file's dir (or the working dir) */
  isPath: boolean
}

export const envName = (flagKey: string): string => 'MESHMON_' + flagKey.replace(/[A-Z]/g, c => '_' + c).toUpperCase()
const flagKeyOf = (flag: string): string => (/--([a-z0-9-]+)/.exec(flag)?.[1] ?? '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())

interface Layers { meta: SettingMeta, doc?: string, default?: unknown, hasDefault: boolean, optional: boolean, nullable: boolean, base: ZodTypeAny }

/** Peel defaults, optionals, nullables and transforms off a schema, keeping what each layer says. */
function peel (schema: ZodTypeAny): Layers {
  const out: Layers = { meta: {}, hasDefault: false, optional: false, nullable: false, base: schema }
  for (let s: ZodTypeAny | undefined = schema; s !== undefined;) {
    out.meta = { ...META.get(s), ...out.meta }
    out.doc ??= s.description
    out.base = s
    if (s instanceof z.ZodDefault) {
      // a default under .optional() never applies: absent stays absent
      if (!out.hasDefault && !out.optional) { out.hasDefault = true; out.default = s._def.defaultValue() }
      s = s._def.innerType
    } else if (s instanceof z.ZodOptional) {
      if (!out.hasDefault) out.optional = true
      s = s._def.innerType
    } else if (s instanceof z.ZodNullable) {
      out.nullable = true
      s = s._def.innerType
    } else if (s instanceof z.ZodEffects) s = s._def.schema
    else s = undefined
  }
  return out
}

function numberText (s: z.ZodNumber): string {
  let min: string | undefined
  let max: string | undefined
  for (const c of s._def.checks) {
    if (c.kind === 'min') min = c.inclusive ? `${c.value}` : `> ${c.value}`
    if (c.kind === 'max') max = `${c.value}`
  }
  const kind = s.isInt ? 'integer' : 'number'
  if (min !== undefined && max !== undefined && !min.startsWith('>')) return `${kind} ${min}-${max}`
  return [kind, min?.startsWith('>') === true ? min : min !== undefined ? `>= ${min}` : undefined, max !== undefined ? `<= ${max}` : undefined].filter(Boolean).join(' ')
}

function typeText (l: Layers): string {
  const b = l.base
  let t = l.meta.type
  if (t === undefined) {
    if (b instanceof z.ZodString) t = b.isURL ? 'URL' : 'string'
    else if (b instanceof z.ZodNumber) t = numberText(b)
    else if (b instanceof z.ZodBoolean) t = 'boolean'
    else if (b instanceof z.ZodEnum) t = `one of ${(b.options as string[]).join(', ')}`
    else if (b instanceof z.ZodLiteral) t = String(b.value)
    else if (b instanceof z.ZodArray) t = peel(b.element).base instanceof z.ZodEnum ? `list, each ${typeText(peel(b.element))}` : `list of ${typeText(peel(b.element))}`
    else if (b instanceof z.ZodRecord) t = `map of ${typeText(peel(b._def.valueType))}`
    else t = String(b._def.typeName ?? 'value').replace(/^Zod/, '').toLowerCase()
  }
  return l.nullable ? `${t} or null` : t
}

export function defaultText (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return `[${value.map(defaultText).join(', ')}]`
  if (typeof value === 'object') return Object.keys(value as object).length === 0 ? '{}' : JSON.stringify(value)
  return String(value)
}

function leaf (path: string[], key: string, l: Layers): ConfigSetting {
  const list = l.base instanceof z.ZodArray
  const item = list ? peel((l.base as z.ZodArray<ZodTypeAny>).element).base : l.base
  const flag = l.meta.flag
  const envOnly = flag === undefined && l.meta.env !== undefined
  const flagKey = flag !== undefined ? flagKeyOf(flag) : envOnly ? path.join('-').replace(/-([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase()) : undefined
  const env = typeof l.meta.env === 'string' ? l.meta.env : flagKey === undefined ? undefined : envName(flagKey)
  return {
    key,
    path,
    type: typeText(l),
    default: l.meta.defaultText ?? (l.hasDefault ? defaultText(l.default) : l.optional ? '-' : 'required'),
    defaultIsText: l.meta.defaultText !== undefined,
    doc: l.meta.doc ?? l.doc ?? '',
    flag,
    flagKey,
    env,
    excludes: l.meta.excludes,
    list,
    scalar: item instanceof z.ZodNumber ? 'number' : item instanceof z.ZodBoolean ? 'boolean' : 'string',
    isPath: !key.includes('[]') && (l.meta.type === 'path' || peel(item).meta.type === 'path')
  }
}

function walk (schema: ZodTypeAny, path: string[], key: string, out: ConfigSetting[]): void {
  const l = peel(schema)
  const b = l.base
  if (b instanceof z.ZodObject) {
    for (const [name, child] of Object.entries(b.shape as Record<string, ZodTypeAny>)) walk(child, [...path, name], key === '' ? name : `${key}.${name}`, out)
    return
  }
  if (b instanceof z.ZodArray) {
    const item = peel(b.element).base
    if (item instanceof z.ZodObject || item instanceof z.ZodDiscriminatedUnion) {
      walk(b.element, path, `${key}[]`, out)
      return
    }
  }
  if (b instanceof z.ZodDiscriminatedUnion) {
    variants(b, path, key, out)
    return
  }
  out.push(leaf(path, key, l))
}

/** The settings of each variant of a discriminated union; those every variant has alike are listed once. */
function variants (u: z.ZodDiscriminatedUnion<string, Array<z.ZodObject<any>>>, path: string[], key: string, out: ConfigSetting[]): void {
  const names = u.options.map(o => String(peel(o.shape[u.discriminator]).base._def.value))
  const perVariant = u.options.map(o => { const rows: ConfigSetting[] = []; walk(o, path, key, rows); return rows })
  const same = (a: ConfigSetting, b: ConfigSetting | undefined): boolean => b !== undefined && a.type === b.type && a.default === b.default && a.doc === b.doc
  const done = new Set<string>()
  for (const [i, rows] of perVariant.entries()) {
    for (const row of rows) {
      if (row.key === `${key}.${u.discriminator}`) {
        if (!done.has(row.key)) out.push({ ...row, type: `one of ${names.join(', ')}` })
        done.add(row.key)
        continue
      }
      const everywhere = perVariant.every(r => same(row, r.find(x => x.key === row.key)))
      if (everywhere && done.has(row.key)) continue
      if (everywhere) done.add(row.key)
      out.push(everywhere ? row : { ...row, variants: [names[i] as string] })
    }
  }
}

/** Every setting of a config schema, in schema order. */
export function describeSettings (schema: ZodTypeAny): ConfigSetting[] {
  const out: ConfigSetting[] = []
  walk(schema, [], '', out)
  return out
}
