export { startTechnicianConsole, TechnicianConsole, type ConsoleComponents, type ConsoleInit } from './console-server.js'
export { LineEditor, type LineEvent } from './line-editor.js'
export { AuditLog, type AuditEntry } from './audit-log.js'
export * from './constants.js'
