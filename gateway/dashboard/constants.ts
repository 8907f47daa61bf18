// Paths, caps and time-outs of the gateway dashboard (gateway/dashboard).

/** Everything the dashboard serves lives under this path of the gateway's HTTP API. */
export const DASHBOARD_PATH = '/dashboard'
/** The session cookie: HttpOnly, SameSite=Strict, scoped to DASHBOARD_PATH. */
export const SESSION_COOKIE = 'cw_session'
/** How long a session lasts after sign-in. */
export const SESSION_TTL_SECONDS = 8 * 3600
/** Sessions held at once; the oldest goes for a newcomer. */
export const MAX_SESSIONS = 256
/** Longest a sign-in link may be valid for (`cw gateway login --ttl`). */
export const MAX_LOGIN_TTL_SECONDS = 3600
export const DEFAULT_LOGIN_TTL_SECONDS = 300
/** Largest sign-in token (base64url of its JSON) accepted. */
export const MAX_LOGIN_TOKEN_CHARS = 2048
/** Largest request body a dashboard action reads (sign-in, schedule). */
export const DASHBOARD_MAX_BODY_BYTES = 4 * 1024
/** Server-Sent Event streams open at once, and the keep-alive comment interval. */
export const MAX_EVENT_STREAMS = 64
export const EVENT_KEEPALIVE_MS = 15_000
/** Changes are pushed at most this often (they are coalesced in between). */
export const EVENT_COALESCE_MS = 250
/** A device counts as online while connected, or this long after its last signed message. */
export const ONLINE_WINDOW_SECONDS = 120
/** Window of the ingest and inference rates. */
export const RATE_WINDOW_SECONDS = 60
/** Devices whose activity is kept, recent events kept per device, and rejections kept per device. */
export const MAX_TRACKED_DEVICES = 10_000
export const MAX_DEVICE_REJECTIONS = 50
export const MAX_DEVICE_EVENTS = 512
/** The chain registry's device list is read again after this long. */
export const DEVICE_LIST_CACHE_MS = 5_000
/** Chain head and RPC latency are measured again after this long. */
export const CHAIN_PROBE_CACHE_MS = 2_000
/** Rounds shown per page of the rounds view (all of them are reachable: newest first). */
export const MAX_ROUNDS_PER_PAGE = 500
