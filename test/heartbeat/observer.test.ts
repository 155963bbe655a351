import { describe, expect, it } from 'vitest'
import { Observer } from '../../src/heartbeat/observer.js'

const clock = (): { now: number, monotonic: () => number } => {
  const c = { now: 1000, monotonic: () => c.now }
  return c
}

describe('the watcher\'s judgement of the peers it watches', () => {
  it('late after suspectAfter intervals, silent after downAfter, back at the next beat', () => {
    const c = clock()
    const o = new Observer({ suspectAfter: 1.5, downAfter: 2, monotonic: c.monotonic })
    const levels: Array<[string, number]> = []
    o.on('level', ({ peerId, level }) => { levels.push([peerId, level]) })
    o.watch('x', 1000)
    o.beat('x', 5, 1)
    c.now += 1400; o.tick()
    expect(o.report().x).toEqual([0, 5, 1])
    c.now += 200; o.tick()
    expect(o.report().x).toEqual([1, 5, 1])
    c.now += 500; o.tick()
    expect(o.report().x).toEqual([2, 5, 1])
    o.beat('x', 5, 2)
    expect(o.report().x).toEqual([0, 5, 2])
    expect(levels).toEqual([['x', 0], ['x', 1], ['x', 2], ['x', 0]])
  })

  it('ignores replayed and stale beats', () => {
    const c = clock()
    const o = new Observer({ monotonic: c.monotonic })
    o.watch('x', 1000)
    o.beat('x', 5, 10)
    c.now += 2500
    o.beat('x', 5, 10)
    o.beat('x', 4, 99)
    o.tick()
    expect(o.report().x).toEqual([2, 5, 10])
  })

  it('a peer not heard yet is not judged: the watcher abstains until its first beat (it may not reach it at all)', () => {
    const c = clock()
    const o = new Observer({ monotonic: c.monotonic })
    o.watch('x', 1000)
    c.now += 10_000; o.tick()
    expect(o.report().x).toEqual([3, 0, 0])
    o.beat('x', 7, 1)
    expect(o.get('x')).toEqual([0, 7, 1])
    c.now += 2000; o.tick()
    expect(o.get('x')?.[0]).toBe(2)
  })

  it('its own stall is not blamed on the peers: a grace to read what queued meanwhile', () => {
    const c = clock()
    const o = new Observer({ monotonic: c.monotonic })
    o.watch('x', 1000)
    o.beat('x', 1, 1)
    c.now += 5000
    o.tick(4000) // the timer ran 4 s late: this process was stopped
    expect(o.report().x?.[0]).toBe(0)
    o.beat('x', 1, 2) // what queued is read
    c.now += 900; o.tick()
    expect(o.report().x?.[0]).toBe(0)
    // a second stall within 10 s gets no new grace: a host late at every tick still judges
    c.now += 3000; o.tick(2900)
    expect(o.report().x?.[0]).toBe(2)
  })

  it('tells the caller when to look next', () => {
    const c = clock()
    const o = new Observer({ monotonic: c.monotonic })
    expect(o.nextDeadline()).toBeUndefined()
    o.watch('x', 1000)
    expect(o.nextDeadline()).toBeUndefined()
    o.beat('x', 1, 1)
    expect(o.nextDeadline()).toBe(2500)
    c.now = 2600; o.tick()
    expect(o.nextDeadline()).toBe(3000)
    c.now = 3100; o.tick()
    expect(o.nextDeadline()).toBeUndefined()
    expect(o.unwatch('x')).toBe(true)
    expect(o.watching()).toEqual([])
  })
  it('a peer found down that it found silent: still reported silent, no longer watched, until it lives again', () => {
    const c = clock()
    const o = new Observer({ monotonic: c.monotonic })
    o.watch('x', 1000)
    o.watch('y', 1000)
    o.beat('x', 1, 7)
    o.beat('y', 1, 3)
    c.now += 2100; o.tick()
    o.retire('x')
    expect(o.watching()).toEqual(['y'])
    expect(o.report().x).toEqual([2, 1, 7])
    // the dead peer's stray beat changes nothing; only the live ones count for isolation
    o.beat('x', 1, 8)
    expect(o.get('x')).toEqual([2, 1, 7])
    expect(o.levels()).toEqual([2])
    // no longer a subject of this node: its silence stays
    o.unwatch('x')
    expect(o.get('x')).toEqual([2, 1, 7])
    // back (a newer record): the old silence goes, and it is watched as one never heard
    expect(o.release('x')).toBe(true)
    expect(o.get('x')).toBeUndefined()
    o.watch('x', 1000)
    expect(o.get('x')).toEqual([3, 0, 0])
  })

  it('a peer found down that it did not find silent (late, or heard) is dropped; at most 16 silences are kept, the latest', () => {
    const c = clock()
    const o = new Observer({ monotonic: c.monotonic })
    o.watch('late', 1000)
    o.beat('late', 1, 1)
    c.now += 1600; o.tick()
    o.retire('late')
    expect(o.get('late')).toBeUndefined()
    for (let i = 0; i < 20; i++) { o.watch(`d${i}`, 1000); o.beat(`d${i}`, 1, 1) }
    c.now += 2100; o.tick()
    for (let i = 0; i < 20; i++) o.retire(`d${i}`)
    expect(Object.keys(o.report())).toEqual(Array.from({ length: 16 }, (_, i) => `d${i + 4}`))
  })
})
