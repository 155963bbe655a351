/**
 * The writers' order every node works out alike from its own peer table: a
 * device's via first (it saw the connection end), then the live peers by id;
 * a suspect peer keeps its place, a down one loses it, the subject has none.
 */
import { describe, expect, it } from 'vitest'
import { PeerTable } from '../../src/heartbeat/peer-table.js'
import { writerRank } from '../../src/events/writers.js'
import { record } from '../support/record.js'

const [a, b, c, d] = ['12D3KooWa', '12D3KooWb', '12D3KooWc', '12D3KooWd'] as const

function table (self: string): PeerTable {
  const t = new PeerTable()
  for (const id of [a, b, c, d]) t.apply(id, record({ name: id }), id === self)
  return t
}

describe('writerRank', () => {
  it('by peer id; the subject never writes and takes no place', () => {
    expect([a, b, c, d].map(self => writerRank(table(self), self))).toEqual([0, 1, 2, 3])
    expect([a, b, c, d].map(self => writerRank(table(self), self, { exclude: a }))).toEqual([undefined, 0, 1, 2])
  })

  it("a device's via leads while it is live; the others follow by id", () => {
    expect([a, b, c, d].map(self => writerRank(table(self), self, { first: c }))).toEqual([1, 2, 0, 3])
    // the via is down: the order is by id alone
    const ranks = [a, b, c, d].map(self => { const t = table(self); t.setState(t.get(c)!, 'down', 'silent'); return writerRank(t, self, { first: c }) })
    expect(ranks).toEqual([0, 1, undefined, 2])
    // a via this node never heard of (a device of a peer forgotten): by id
    expect(writerRank(table(b), b, { first: '12D3KooWgone' })).toBe(1)
  })

  it('a suspect peer keeps its place; a down or left one gives it up', () => {
    const t = table(c)
    t.setState(t.get(a)!, 'suspect', 'silent')
    expect(writerRank(t, c)).toBe(2)
    t.setState(t.get(a)!, 'down', 'silent')
    t.setState(t.get(b)!, 'left', 'bye')
    expect(writerRank(t, c)).toBe(0)
  })

  it('a node missing from its own table writes nothing', () => {
    expect(writerRank(new PeerTable(), a)).toBeUndefined()
  })
})
