/** Alerts: pure rules over the peer table, and the Alertmanager pusher. */
export { alerting, type Alerting, type AlertingComponents, type AlertingInit } from './alertmanager.js'
export { deriveAlerts, fingerprint, type Alert, type RulesInit } from './rules.js'
export type { SendResult } from './target.js'
export type { AlertmanagerHttp } from './http.js'
