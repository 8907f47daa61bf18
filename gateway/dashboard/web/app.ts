/// <reference lib="dom" />
// The dashboard page: fleet, device, rounds and health views over /dashboard/api, refreshed on
// every Server-Sent `change` event. Every string from the gateway (device serials and models
// come from devices) is put in the page as text, never as HTML.
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import './style.css'

const API = '/dashboard/api'
type Json = Record<string, unknown>

function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string | null)[]): HTMLElement {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v)
  for (const c of children) if (c !== null) e.append(typeof c === 'string' ? document.createTextNode(c) : c)
  return e
}
const text = (v: unknown): string => (v === null || v === undefined ? '–' : String(v))
const pct = (v: unknown): string => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '–')
const when = (t: unknown): string => (typeof t === 'number' ? new Date(t * 1000).toLocaleTimeString() : '–')
const short = (h: unknown): string => (typeof h === 'string' && h.length > 18 ? `${h.slice(0, 10)}…${h.slice(-6)}` : text(h))

async function call(path: string, init: RequestInit = {}): Promise<Json> {
  const res = await fetch(`${API}${path}`, { credentials: 'same-origin', ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } })
  const body = (await res.json().catch(() => ({}))) as Json
  if (!res.ok) throw new Error(`${res.status} ${text((body.error as Json | undefined)?.code)}: ${text((body.error as Json | undefined)?.message)}`)
  return body
}

const app = document.getElementById('app') as HTMLElement
const state = { filter: '', sort: 'device', desc: false, chart: null as uPlot | null }

function table(headers: string[], rows: (string | Node)[][], id: string, onSort?: (h: string) => void): HTMLElement {
  const head = el('tr', {}, ...headers.map((h) => {
    const th = el('th', {}, h)
    if (onSort !== undefined) th.addEventListener('click', () => onSort(h))
    return th
  }))
  return el('table', { id }, el('thead', {}, head), el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))))
}

function nav(user: string): HTMLElement {
  const links = [['#/fleet', 'Fleet'], ['#/rounds', 'Rounds'], ['#/health', 'Gateway health']].map(([h, t]) => el('a', { href: h as string }, t as string))
  const out = el('button', { id: 'sign-out' }, 'Sign out')
  out.addEventListener('click', () => void call('/session', { method: 'DELETE' }).then(() => location.reload()))
  return el('nav', {}, el('strong', {}, 'Counterweight gateway'), ...links, el('span', { id: 'operator' }, `operator ${user}`), out)
}

const COLUMNS: [string, string][] = [['device', 'device'], ['serial', 'serial'], ['state', 'online'], ['last seen', 'lastSeen'], ['model', 'model'], ['settled in round', 'modelRound'], ['samples', 'samples'], ['score', 'score'], ['reward', 'reward'], ['rejected', 'rejected'], ['revoked', 'status']]

async function fleetView(): Promise<HTMLElement> {
  const { devices } = (await call('/fleet')) as { devices: Json[] }
  const key = COLUMNS.find(([h]) => h === state.sort)?.[1] ?? 'device'
  const shown = devices
    .filter((d) => state.filter === '' || JSON.stringify(d).toLowerCase().includes(state.filter.toLowerCase()))
    .sort((a, b) => (String(a[key] ?? '') < String(b[key] ?? '') ? -1 : 1) * (state.desc ? -1 : 1))
  const filter = el('input', { id: 'filter', placeholder: 'filter devices', value: state.filter }) as HTMLInputElement
  filter.addEventListener('input', () => {
    state.filter = filter.value
    void render()
  })
  const rows = shown.map((d) => [
    el('a', { href: `#/device/${text(d.device)}` }, text(d.device)),
    text(d.serial),
    d.online === true ? 'online' : 'offline',
    when(d.lastSeen),
    short(d.model),
    text(d.modelRound),
    text(d.samples),
    typeof d.score === 'number' ? d.score.toFixed(3) : '–',
    text(d.reward),
    text(d.rejected),
    d.status === 'revoked' ? 'revoked' : 'no',
  ])
  return el('section', {}, el('h2', {}, `Fleet (${devices.length} devices)`), filter, table(COLUMNS.map(([h]) => h), rows, 'devices', (h) => {
    state.desc = state.sort === h ? !state.desc : false
    state.sort = h
    void render()
  }))
}

async function deviceView(address: string): Promise<HTMLElement> {
  const d = (await call(`/devices/${encodeURIComponent(address)}`)) as { device: Json; rounds: Json[]; rejections: Json[] }
  const facts = el('dl', {}, ...[['serial', d.device.serial], ['hardware', d.device.hardwareModel], ['peer', d.device.peerId], ['state', d.device.online === true ? 'online' : 'offline'], ['inference attestations per minute', d.device.inferenceRate], ['score', d.device.score], ['reward', d.device.reward]].flatMap(([k, v]) => [el('dt', {}, text(k)), el('dd', {}, text(v))]))
  return el('section', {}, el('h2', {}, `Device ${address}`), facts,
    el('h3', {}, 'Rounds'), table(['round', 'samples', 'used', 'quality (ppm)', 'reward'], d.rounds.map((r) => [text(r.round), text(r.samples), r.used === true ? 'yes' : 'no', text(r.qualityPpm), text(r.reward)]), 'device-rounds'),
    el('h3', {}, 'Rejected submissions'), table(['time', 'round', 'reason'], d.rejections.map((r) => [when(r.time), text(r.round), text(r.reason)]), 'device-rejections'))
}

async function roundsView(): Promise<HTMLElement> {
  const { rounds, genesis } = (await call('/rounds')) as { rounds: Json[]; genesis: Json }
  const start = el('button', { id: 'start-round' }, 'Start a round')
  const message = el('p', { id: 'action-result' })
  start.addEventListener('click', () => void call('/rounds', { method: 'POST', body: '{}' }).then((r) => (message.textContent = `round ${text(r.round)} started`), (e: Error) => (message.textContent = e.message)))
  message.id = 'action-result'
  const chartBox = el('div', { id: 'accuracy-chart' })
  const xs = [0, ...rounds.map((r) => Number(r.round))]
  const ys = [typeof genesis.accuracy === 'number' ? genesis.accuracy : null, ...rounds.map((r) => (typeof r.accuracy === 'number' ? r.accuracy : null))]
  state.chart?.destroy()
  state.chart = new uPlot({ width: 640, height: 240, title: 'Validation accuracy by round', scales: { x: { time: false } }, series: [{ label: 'round' }, { label: 'accuracy', stroke: '#2563eb', points: { show: true } }] }, [xs, ys] as uPlot.AlignedData, chartBox)
  chartBox.dataset.points = String(ys.filter((y) => y !== null).length)
  const rows = [...rounds].reverse().map((r) => {
    const audit = el('button', {}, 'audit')
    const verdict = el('span', { class: 'verdict' })
    audit.addEventListener('click', () => void call(`/rounds/${text(r.round)}/audit`, { method: 'POST', body: '{}' }).then((a) => (verdict.textContent = a.ok === true ? 'pass' : 'FAIL'), (e: Error) => (verdict.textContent = e.message)))
    const rejected = Object.entries((r.rejected as Record<string, number>) ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')
    const phases = Object.entries((r.phases as Record<string, number>) ?? {}).map(([k, v]) => `${k} ${when(v)}`).join(' · ')
    return [el('a', { href: `#/round/${text(r.round)}` }, text(r.round)), text(r.state), text(r.strategy), `${text(r.accepted)}/${text(r.participants)}`, rejected || '–', pct(r.accuracy), phases, short(r.transaction), text(r.block), text(r.gasUsed), short(r.contributionsRoot), short(r.recordHash), el('span', {}, audit, verdict)]
  })
  return el('section', {}, el('h2', {}, 'Rounds'), start, message, chartBox,
    table(['round', 'state', 'strategy', 'accepted', 'rejected', 'accuracy', 'phases', 'settlement tx', 'block', 'gas', 'Merkle root', 'record', 'audit'], rows, 'rounds'), await scheduleForm())
}

async function roundView(n: string): Promise<HTMLElement> {
  const r = (await call(`/rounds/${encodeURIComponent(n)}`)) as { round: Json; contributions: Json[]; blobs: Json[] }
  const blobs = r.blobs.map((b) => [text(b.kind), el('a', { href: `${API}/rounds/${encodeURIComponent(n)}/blobs/${text(b.hash)}`, download: '' }, text(b.hash))])
  return el('section', {}, el('h2', {}, `Round ${n}`),
    table(['device', 'serial', 'samples', 'used', 'quality (ppm)', 'reward'], r.contributions.map((c) => [text(c.device), text(c.serial), text(c.samples), c.used === true ? 'yes' : 'no', text(c.qualityPpm), text(c.reward)]), 'contributions'),
    el('h3', {}, 'Record and blobs'), table(['what', 'download'], blobs, 'blobs'))
}

async function scheduleForm(): Promise<HTMLElement> {
  const h = (await call('/health')) as Json
  const s = h.schedule as Json
  const mode = el('select', { id: 'schedule-mode' }, el('option', { value: 'manual' }, 'manual'), el('option', { value: 'interval' }, 'interval')) as HTMLSelectElement
  mode.value = text(s.mode)
  const seconds = el('input', { id: 'schedule-seconds', type: 'number', min: '1', value: text(s.intervalSeconds ?? 60) }) as HTMLInputElement
  const save = el('button', { id: 'schedule-save' }, 'Change the schedule')
  const result = el('span', { id: 'schedule-result' })
  save.addEventListener('click', () => {
    const body = mode.value === 'manual' ? { mode: 'manual' } : { mode: 'interval', intervalSeconds: Number(seconds.value) }
    void call('/schedule', { method: 'PUT', body: JSON.stringify(body) }).then(() => (result.textContent = 'saved (until the gateway restarts)'), (e: Error) => (result.textContent = e.message))
  })
  return el('div', { class: 'schedule' }, el('h3', {}, 'Schedule'), mode, seconds, save, result)
}

async function healthView(): Promise<HTMLElement> {
  const h = (await call('/health')) as Json
  const chain = h.chain as Json
  const updates = h.updates as { accepted: number; rejected: Record<string, number> }
  const facts = [['state', h.state], ['peers', (h.mesh as Json).peers], ['accepted updates per minute', h.ingestPerMinute], ['inference attestations per minute', h.inferencePerMinute], ['settlements pending', (h.settlementOutbox as unknown[]).length], ['chain head', chain.head], ['RPC latency (ms)', chain.latencyMs], ['key store', h.keyStore], ['last error', h.lastError]]
  const rejected = Object.entries(updates.rejected).filter(([, v]) => v > 0).map(([k, v]) => [k, String(v)])
  const metrics = (h.metrics as { name: string; help: string; values: { labels: Json; value: number }[] }[]).flatMap((m) => m.values.map((v) => [m.name, Object.entries(v.labels).map(([k, x]) => `${k}=${text(x)}`).join(' '), String(v.value), m.help]))
  return el('section', {}, el('h2', {}, 'Gateway health'), el('dl', {}, ...facts.flatMap(([k, v]) => [el('dt', {}, text(k)), el('dd', {}, text(v))])),
    el('h3', {}, `Updates: ${updates.accepted} accepted; rejected by reason`), table(['reason', 'count'], rejected, 'rejections'),
    el('h3', {}, 'Metrics'), table(['metric', 'labels', 'value', 'meaning'], metrics, 'metrics'))
}

async function signIn(token: string): Promise<void> {
  history.replaceState(null, '', `${location.pathname}#/fleet`)
  try {
    await call('/session', { method: 'POST', body: JSON.stringify({ token }) })
  } catch (e) {
    app.replaceChildren(el('p', { id: 'error' }, `Sign-in refused: ${(e as Error).message}`))
    throw e
  }
}

let rendering = false
let again = false
async function render(): Promise<void> {
  // A change that arrives while the page is being drawn draws it once more afterwards.
  if (rendering) {
    again = true
    return
  }
  rendering = true
  try {
    const session = await call('/session').catch(() => undefined)
    if (session === undefined) {
      app.replaceChildren(el('p', { id: 'error' }, 'Not signed in. Run cw gateway login --config gateway.json --key-store <file> --key-label <label> and open the link it prints.'))
      return
    }
    const [, view, arg] = location.hash.split('/')
    const focus = document.activeElement?.id
    const body = view === 'device' && arg !== undefined ? await deviceView(arg) : view === 'rounds' ? await roundsView() : view === 'round' && arg !== undefined ? await roundView(arg) : view === 'health' ? await healthView() : await fleetView()
    app.replaceChildren(nav(text(session.operator)), body)
    if (focus === 'filter') (document.getElementById('filter') as HTMLInputElement | null)?.focus()
  } catch (e) {
    app.replaceChildren(el('p', { id: 'error' }, (e as Error).message))
  } finally {
    rendering = false
    if (again) {
      again = false
      void render()
    }
  }
}

async function main(): Promise<void> {
  const login = /^#login=([A-Za-z0-9_-]+)$/.exec(location.hash)
  if (login?.[1] !== undefined) {
    try {
      await signIn(login[1])
    } catch {
      return
    }
  }
  await render()
  window.addEventListener('hashchange', () => void render())
  const events = new EventSource(`${API}/events`)
  events.addEventListener('change', () => void render())
}

void main()
