import { describe, expect, it } from 'vitest'
import { Ring } from '../../src/heartbeat/ring.js'
import { fakePeerId } from '../support/synthetic.js'

describe('the watcher ring', () => {
  const ids = Array.from({ length: 50 }, (_, i) => fakePeerId(i))
  const ring = new Ring()
  for (const id of ids) ring.add(id)

  it('every member is watched by exactly k others and watches exactly k', () => {
    const k = 3
    const watchedBy = new Map<string, number>()
    for (const id of ids) {
      const subjects = ring.predecessors(id, k)
      expect(subjects).toHaveLength(k)
      expect(subjects).not.toContain(id)
      for (const s of subjects) watchedBy.set(s, (watchedBy.get(s) ?? 0) + 1)
    }
    for (const id of ids) expect(watchedBy.get(id)).toBe(k)
  })

  it('successors and predecessors are each other\'s inverse', () => {
    for (const id of ids) {
      for (const w of ring.successors(id, 3)) expect(ring.predecessors(w, 3)).toContain(id)
    }
  })

  it('a small ring never lists a member twice nor the asker itself', () => {
    const small = new Ring()
    small.add(ids[0]!)
    small.add(ids[1]!)
    expect(small.successors(ids[0]!, 3)).toEqual([ids[1]])
    expect(small.predecessors(ids[0]!, 3)).toEqual([ids[1]])
    expect(small.successors(ids[2]!, 3).sort()).toEqual([ids[0], ids[1]].sort())
  })

  it('add and remove keep it sorted and are idempotent', () => {
    const r = new Ring()
    for (const id of ids.slice(0, 10)) r.add(id)
    expect(r.add(ids[0]!)).toBe(false)
    expect(r.remove(ids[0]!)).toBe(true)
    expect(r.remove(ids[0]!)).toBe(false)
    expect(r.has(ids[0]!)).toBe(false)
    expect(r.size).toBe(9)
    // the watchers of a removed member's subjects close the gap
    const before = ring.successors(ids[5]!, 1)[0]!
    const r2 = new Ring()
    for (const id of ids) r2.add(id)
    r2.remove(before)
    expect(r2.successors(ids[5]!, 1)[0]).toBe(ring.successors(ids[5]!, 2)[1])
  })
})
