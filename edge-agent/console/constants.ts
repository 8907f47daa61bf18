// Limits and time-outs of the technician console.

/** Bytes of one input line; a longer line is refused as a whole when Enter comes. */
export const MAX_LINE_BYTES = 2048
/** Lines kept for the arrow-key history. */
export const HISTORY_LINES = 32
/** Failed logins before the console locks. */
export const MAX_LOGIN_FAILURES = 3
/** The first lock; each further lock doubles it, up to LOCK_MAX_MS. */
export const LOCK_BASE_MS = 30_000
export const LOCK_MAX_MS = 3_600_000
/** How long a printed challenge can be answered. */
export const CHALLENGE_TTL_MS = 120_000
/** Interval of `sensors watch` lines. */
export const WATCH_INTERVAL_MS = 1_000
/** Terminal width the output is cut to. */
export const TERMINAL_COLUMNS = 80
/** Audit log file, in the agent's data directory. */
export const AUDIT_FILE = 'console-audit.jsonl'
/** Lines `audit` shows. */
export const AUDIT_TAIL_LINES = 20
export const DEFAULT_CONSOLE_BAUD = 115_200
export const PROMPT_LOCKED = 'cw> '
export const PROMPT_OPEN = 'cw# '
/** How long `selftest` waits for the chain. */
export const SELFTEST_TIMEOUT_MS = 5_000
