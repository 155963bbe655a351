/** Just enough of the Prometheus text format for the benchmark to read nodes' /metrics. */
export function samples (text: string, name: string): Array<{ labels: string, value: number }> {
  const out = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== '{' && rest[0] !== ' ') continue
    const i = line.lastIndexOf(' ')
    out.push({ labels: rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '', value: Number(line.slice(i + 1)) })
  }
  return out
}

export const sum = (text: string, name: string): number => samples(text, name).reduce((a, s) => a + s.value, 0)

/** Cumulative histogram buckets by upper bound (le). */
export function buckets (text: string, name: string): Map<number, number> {
  const m = new Map<number, number>()
  for (const s of samples(text, `${name}_bucket`)) {
    const le = /le="([^"]+)"/.exec(s.labels)?.[1]
    if (le !== undefined) m.set(le === '+Inf' ? Infinity : Number(le), (m.get(le === '+Inf' ? Infinity : Number(le)) ?? 0) + s.value)
  }
  return m
}

/** histogram_quantile: linear interpolation inside the bucket, as Prometheus does. */
export function quantile (q: number, b: Map<number, number>): number {
  const bounds = [...b.keys()].sort((x, y) => x - y)
  const total = b.get(Infinity) ?? 0
  if (total === 0) return NaN
  const rank = q * total
  let prevBound = 0
  let prevCount = 0
  for (const bound of bounds) {
    const count = b.get(bound) ?? 0
    if (count >= rank) {
      if (bound === Infinity) return prevBound
      return prevBound + (bound - prevBound) * ((rank - prevCount) / Math.max(1, count - prevCount))
    }
    prevBound = bound
    prevCount = count
  }
  return prevBound
}
