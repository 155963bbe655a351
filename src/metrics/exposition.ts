/**
 * Prometheus text exposition for the mesh families, written directly: the mesh
 * view is rebuilt at every scrape from the peer table, and prom-client's
 * labelled gauges cost ~30 ms at 500 peers here (STACK-NOTES). Self metrics
 * still go through prom-client (see self.ts).
 */
export type Labels = Record<string, string>

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

export function formatValue (v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

/** One metric family: HELP and TYPE once, then its samples. */
export class Family {
  readonly #lines: string[] = []
  constructor (readonly name: string, readonly type: 'gauge' | 'counter', readonly help: string) {}

  add (labels: Labels, value: number): void {
    let l = ''
    for (const k in labels) l += `${l === '' ? '' : ','}${k}="${escape(labels[k] as string)}"`
    this.#lines.push(`${this.name}{${l}} ${formatValue(value)}`)
  }

  get empty (): boolean { return this.#lines.length === 0 }

  render (): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n${this.#lines.join('\n')}\n`
  }
}
