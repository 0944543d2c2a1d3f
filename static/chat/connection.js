/**
 * A WebSocket that keeps itself open. Reconnects with exponential backoff (0.5 s doubling to
 * 10 s, with jitter), and at once when the server closed with 1012 or 1013, the browser comes
 * online, the tab becomes visible again or the page is restored; after a wake (a timer that
 * fired far too late) or a return to the tab it pings and drops a socket that does not answer
 * within a few seconds, since a socket that died while the phone slept often still reads as open.
 * A server at its ceiling of sockets closes a new one with 4029: the status reads 'busy' and the
 * retries start at 2 s and double to 30 s, so a full server is not hammered by every waiting tab.
 */

const [PING_MS, PONG_GRACE_MS, CHECK_MS] = [25000, 10000, 4000];
const [BACKOFF_MIN_MS, BACKOFF_MAX_MS, TICK_MS] = [500, 10000, 5000];
// Close codes after which the server wants the tab back at once: 1012 (it restarts; the load
// balancer sends us to another instance), 1013 (this tab fell behind; resume from the log).
const RESUME_AT_ONCE = [1012, 1013];
const BUSY = 4029;
const [BUSY_MIN_MS, BUSY_MAX_MS] = [2000, 30000];

export class Connection {
  /**
   * @param {string} url
   * @param {{onOpen: function(): void, onFrame: function(object): void, onStatus: function(string): void}} handlers
   *   onStatus receives 'connecting' | 'open' | 'offline' | 'busy'.
   */
  constructor(url, { onOpen, onFrame, onStatus }) {
    Object.assign(this, { url, onOpen, onFrame, onStatus, status: 'connecting', ws: null });
    Object.assign(this, { delay: BACKOFF_MIN_MS, retryTimer: 0, pingTimer: 0, checkTimer: 0, lastReceived: 0 });
    // Coming back (online, visible, awake) reconnects at once, except to a busy server: it has
    // no more room than a moment ago, and its own wait is already running.
    const resume = () => {
      if (this.ws) this.check();
      else if (this.status !== 'busy' || !this.retryTimer) this.connect();
    };
    addEventListener('online', resume);
    addEventListener('pageshow', (e) => { if (e.persisted) resume(); });
    document.addEventListener('resume', resume);
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') resume(); });
    let lastTick = Date.now();
    setInterval(() => { // a tick arriving far too late: the device slept
      if (Date.now() - lastTick > TICK_MS * 3) resume();
      lastTick = Date.now();
    }, TICK_MS);
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    if (this.ws) return;
    if (this.status !== 'offline' && this.status !== 'busy') this.setStatus('connecting');
    let ws;
    try { ws = new WebSocket(this.url); } catch { this.scheduleReconnect(); return; }
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.lastReceived = Date.now();
      this.pingTimer = setInterval(() => this.ping(), PING_MS);
      if (this.status !== 'busy') this.setStatus('open'); // a busy server closes it at once
      this.onOpen();
    });
    ws.addEventListener('message', (e) => {
      if (this.ws !== ws) return;
      // The server answers only a socket it admitted: the backoff starts over.
      this.delay = BACKOFF_MIN_MS;
      if (this.status !== 'open') this.setStatus('open');
      this.lastReceived = Date.now();
      clearTimeout(this.checkTimer);
      this.checkTimer = 0;
      let frame = null;
      try { frame = JSON.parse(e.data); } catch { /* not JSON: ignored */ }
      if (frame && typeof frame.type === 'string') this.onFrame(frame);
    });
    ws.addEventListener('close', (e) => {
      if (this.ws !== ws) return;
      if (RESUME_AT_ONCE.includes(e.code)) this.restart(); // then hello after=N catches up
      else if (e.code === BUSY) this.drop('busy');
      else this.drop();
    });
  }

  /** Sends one frame; false when the socket is not open (the caller decides what to keep). */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Closes the current socket and opens a fresh one at once. */
  restart() { this.detach(); this.connect(); }
  setStatus(status) { this.status = status; this.onStatus(status); }

  ping() {
    if (Date.now() - this.lastReceived > PING_MS + PONG_GRACE_MS) this.drop();
    else this.send({ type: 'ping' });
  }

  /** Is the open socket still alive? A pong (or any frame) within CHECK_MS says so. */
  check() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || this.checkTimer) return;
    this.send({ type: 'ping' });
    this.checkTimer = setTimeout(() => { this.checkTimer = 0; this.drop(); }, CHECK_MS);
  }

  detach() {
    const ws = this.ws;
    this.ws = null;
    clearInterval(this.pingTimer);
    clearTimeout(this.checkTimer);
    this.checkTimer = 0;
    if (ws) ws.close();
  }

  drop(status = 'offline') {
    this.detach();
    this.setStatus(status);
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.retryTimer) return;
    const busy = this.status === 'busy';
    if (busy) this.delay = Math.max(this.delay, BUSY_MIN_MS);
    const wait = this.delay * (0.75 + Math.random() * 0.5);
    this.delay = Math.min(this.delay * 2, busy ? BUSY_MAX_MS : BACKOFF_MAX_MS);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }
}
