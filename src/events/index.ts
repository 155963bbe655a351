/**
 * The replicated event history: one OrbitDB `events` log per mesh and
 * period, written on peer transitions and check changes (recorder.ts, wired
 * by the node), queried newest first, trimmed to the retention.
 */
export { openEventLog, type EventLog, type EventLogComponents, type EventLogInit, type PeriodInfo } from './log.js'
export { eventsQuery, parseEventsQuery, MAX_LIMIT } from './query.js'
export { periodFor } from './periods.js'
export { IncidentRecorder, incidentId, type RecorderInit, type RecorderSink } from './recorder.js'
export { EVENT_TYPES, isEventType, type EventInput, type EventQuery, type EventType, type MeshEvent, type Severity } from './types.js'
