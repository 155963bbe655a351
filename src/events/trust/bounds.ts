/**
 * How big and how dated an event may be: checked when this node writes one
 * (fitEvent) and when one arrives from a peer (trust/check.ts), so a peer can
 * neither fill disks with huge events nor date one in the year 9999 (which
 * would top every newest-first query forever).
 */
import { clip } from '../../text.js'
import type { MeshEvent } from '../types.js'

export const EVENT_BOUNDS = {
  /** incident ids are 24 hex characters; random ones 24 too */
  idChars: 128,
  /** peer ids (source, subject) are ~52 characters */
  peerChars: 128,
  /** node names: the config allows 128 */
  nameChars: 128,
  /** check names: the config allows 64 */
  checkChars: 64,
  messageChars: 2000,
  labels: 32,
  labelKeyChars: 128,
  labelValueChars: 512,
  /** all labels as JSON */
  labelsBytes: 4096,
  /** one event as JSON, signature included */
  eventBytes: 8192,
  /** a writer's clock may run this far ahead of ours */
  futureMs: 5 * 60_000
} as const

/** room the signature takes in an event's JSON ("sig":"<88 base64 chars>") */
const SIG_BYTES = 100

export const eventBytes = (e: unknown): number => Buffer.byteLength(JSON.stringify(e))

/** What is too big in an event, or undefined. */
export function sizeProblem (e: MeshEvent): string | undefined {
  const b = EVENT_BOUNDS
  if (e.id.length > b.idChars || e.id === '') return `id of ${e.id.length} characters (1-${b.idChars})`
  if (e.source.length > b.peerChars || e.subject.peer.length > b.peerChars) return `peer id over ${b.peerChars} characters`
  if (e.subject.name.length > b.nameChars) return `name of ${e.subject.name.length} characters (max ${b.nameChars})`
  if ((e.subject.check?.length ?? 0) > b.checkChars) return `check name over ${b.checkChars} characters`
  if (e.message.length > b.messageChars) return `message of ${e.message.length} characters (max ${b.messageChars})`
  return labelsProblem(e.labels) ?? (eventBytes(e) > b.eventBytes ? `${eventBytes(e)} bytes (max ${b.eventBytes})` : undefined)
}

function labelsProblem (labels: Record<string, string>): string | undefined {
  const b = EVENT_BOUNDS
  const entries = Object.entries(labels)
  if (entries.length > b.labels) return `${entries.length} labels (max ${b.labels})`
  if (entries.some(([k, v]) => k.length > b.labelKeyChars || v.length > b.labelValueChars)) return `a label over ${b.labelKeyChars} characters of name or ${b.labelValueChars} of value`
  if (eventBytes(labels) > b.labelsBytes) return `labels of ${eventBytes(labels)} bytes (max ${b.labelsBytes})`
  return undefined
}

/**
 * An event this node writes, cut to fit: the message and name clipped, labels
 * that do not fit dropped (all of them: a partial set would mislead), then the
 * message shortened until the whole, with its signature, fits. What still does
 * not fit (an id or check name too long) is for the caller to refuse.
 */
export function fitEvent (e: MeshEvent): MeshEvent {
  const b = EVENT_BOUNDS
  const out: MeshEvent = {
    ...e,
    subject: { ...e.subject, name: clip(e.subject.name, b.nameChars) },
    message: clip(e.message, b.messageChars),
    labels: labelsProblem(e.labels) === undefined ? e.labels : {}
  }
  while (eventBytes(out) + SIG_BYTES > b.eventBytes && out.message.length > 1) out.message = clip(out.message, Math.floor(out.message.length / 2))
  return out
}
