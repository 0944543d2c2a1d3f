/**
 * webchat-bff chat client: runs in the iframe at /chat and talks to this server over WS /ws
 * (frames as in the project's protocol.md). Plain ES2020, no dependencies, no build step.
 *
 * Security: everything that came from the chat is inserted as text (textContent, text nodes),
 * never as HTML; the only elements built around it are links for http(s) URLs.
 */
'use strict';

(() => {
  const MAX_FILE_BYTES = 25 * 1024 * 1024;
  const [PING_MS, PONG_GRACE_MS, BACKOFF_MIN_MS, BACKOFF_MAX_MS] = [25000, 10000, 500, 10000];
  const [TYPING_IDLE_MS, AVAILABILITY_POLL_MS] = [3000, 15000];
  const [LOG_KEY, OUTBOX_KEY] = ['webchat.log', 'webchat.outbox'];
  const ENDED_STATES = new Set(['failed', 'completed', 'ended']);
  const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
  const MESSAGE = 'chat_session_message';

  /** Every user-facing string, in one place for the coming translations. */
  const TEXT = {
    connecting: 'Connecting…',
    open: 'Connected',
    offline: 'Offline — reconnecting',
    upstream: 'Reconnecting to the contact center…',
    waiting: (min) => (min ? `Waiting for an agent (about ${min} min)` : 'Waiting for an agent'),
    joined: (name) => `${name} joined`,
    left: (name) => `${name} left`,
    typing: (names) => `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…`,
    agent: 'Agent',
    you: 'You',
    file: 'File',
    sending: 'Sending…',
    notSent: 'Not sent',
    ended: 'The chat has ended.',
    failed: 'The chat could not be continued.',
    inactivity: 'The chat ended because of inactivity.',
    timeoutWarning: 'The chat will end soon because of inactivity.',
    formShow: 'The agent sent a form, which cannot be shown here yet.',
    tooBig: (name) => `“${name}” is larger than 25 MB and was not sent.`,
    uploading: (name) => `Sending “${name}”…`,
    uploadFailed: 'The file could not be sent.',
    startFailed: 'The chat could not be started. Please try again.',
    notConnected: 'Not connected yet. Please try again in a moment.',
    error: 'Something went wrong.',
  };

  // ------------------------------------------------------------------ helpers

  /** A new element with an optional class and text (as text, never HTML). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** A random v4 UUID; crypto.randomUUID exists only in secure contexts (https, localhost). */
  function uuid() {
    if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** An event `timestamp` (UNIX seconds in a string; milliseconds tolerated) as a Date, or null. */
  function parseTime(ts) {
    const n = Number(ts);
    return ts && Number.isFinite(n) && n > 0 ? new Date(n > 1e11 ? n : n * 1000) : null;
  }

  function timeElement(date) {
    const lang = document.documentElement.lang || undefined;
    const t = el('time', 'wc-time', date.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }));
    t.dateTime = date.toISOString();
    return t;
  }

  /** The text of an event: `msg_text` (plain) if present, else `msg` with `<br>` as newlines. */
  function messageText(ev) {
    const raw = typeof ev.msg_text === 'string' ? ev.msg_text : typeof ev.msg === 'string' ? ev.msg : '';
    return raw.replace(/<br\s*\/?>/gi, '\n');
  }

  /** Appends `text` to `parent` as text nodes, with http(s) URLs as links. No other markup. */
  function appendLinkified(parent, text) {
    let last = 0;
    for (const match of text.matchAll(URL_RE)) {
      let url = match[0].replace(/[.,;:!?'"]+$/, '');
      if (url.endsWith(')') && !url.includes('(')) url = url.replace(/[).,;:!?'"]+$/, '');
      let href = null;
      try { href = new URL(url); } catch { /* not a URL after all: stays text */ }
      if (!href || (href.protocol !== 'http:' && href.protocol !== 'https:')) continue;
      const a = el('a', 'wc-link', url);
      Object.assign(a, { href: href.href, rel: 'noopener noreferrer', target: '_blank' });
      parent.append(text.slice(last, match.index), a);
      last = match.index + url.length;
    }
    parent.append(text.slice(last));
  }

  async function fetchJSON(url) {
    const res = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    return res.json();
  }

  /** sessionStorage as JSON, surviving a full, disabled or corrupt storage. */
  const storage = {
    get(key, fallback) {
      try { const raw = sessionStorage.getItem(key); return raw === null ? fallback : JSON.parse(raw); }
      catch { return fallback; }
    },
    set(key, value) {
      try { sessionStorage.setItem(key, JSON.stringify(value)); return true; } catch { return false; }
    },
  };

  // ------------------------------------------------------------------ state kept per tab

  /**
   * What this tab has seen of the current chat: its id, the last `seq`, and the events needed to
   * redraw the transcript after a reload (typing notices are not kept).
   */
  class ChatLog {
    constructor() {
      const s = storage.get(LOG_KEY, null);
      const ok = s && typeof s.chatId === 'string' && Array.isArray(s.events) && Number.isInteger(s.lastSeq);
      this.reset(ok ? s.chatId : null, ok ? s.lastSeq : 0, ok ? s.events : []);
    }

    reset(chatId, lastSeq = 0, events = []) {
      Object.assign(this, { chatId, lastSeq, events });
      this.save();
    }

    record(seq, event, keep) {
      this.lastSeq = seq;
      if (keep) this.events.push(event);
      this.save();
    }

    save() {
      const { chatId, lastSeq, events } = this;
      // Storage full: keep only the chat id, so that a reload replays the chat from the server.
      if (!storage.set(LOG_KEY, { chatId, lastSeq, events })) storage.set(LOG_KEY, { chatId, lastSeq: 0, events: [] });
    }
  }

  /** Sends not yet acknowledged ({id, chatId, event}), kept across reloads, resent with the same id. */
  class Outbox {
    constructor() {
      const saved = storage.get(OUTBOX_KEY, []);
      this.entries = Array.isArray(saved) ? saved.filter((e) => e && e.id && e.event) : [];
    }

    add(entry) { this.entries.push(entry); this.save(); }
    get(id) { return this.entries.find((e) => e.id === id) || null; }
    save() { storage.set(OUTBOX_KEY, this.entries); }

    remove(id) {
      const entry = this.get(id);
      if (entry) { this.entries = this.entries.filter((e) => e !== entry); this.save(); }
      return entry;
    }

    /** Drops the entries of any other chat and returns a copy of those of `chatId`. */
    retain(chatId) {
      this.entries = this.entries.filter((e) => e.chatId === chatId);
      this.save();
      return this.entries.slice();
    }
  }

  // ------------------------------------------------------------------ connection

  /**
   * A WebSocket that keeps itself open: reconnects with exponential backoff (0.5 s doubling to
   * 10 s, with jitter) and at once when the browser comes online or the page becomes visible;
   * pings every 25 s and drops a socket that stopped answering.
   * onStatus receives 'connecting' | 'open' | 'offline'.
   */
  class Connection {
    constructor(url, { onOpen, onFrame, onStatus }) {
      Object.assign(this, { url, onOpen, onFrame, onStatus, status: 'connecting', ws: null });
      Object.assign(this, { delay: BACKOFF_MIN_MS, retryTimer: 0, pingTimer: 0, lastReceived: 0 });
      const now = () => { if (!this.ws) this.connect(); };
      addEventListener('online', now);
      document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') now(); });
    }

    connect() {
      clearTimeout(this.retryTimer);
      this.retryTimer = 0;
      if (this.ws) return;
      if (this.status !== 'offline') this.setStatus('connecting');
      let ws;
      try { ws = new WebSocket(this.url); } catch { this.scheduleReconnect(); return; }
      this.ws = ws;
      ws.addEventListener('open', () => {
        if (this.ws !== ws) return;
        this.delay = BACKOFF_MIN_MS;
        this.lastReceived = Date.now();
        this.pingTimer = setInterval(() => this.ping(), PING_MS);
        this.setStatus('open');
        this.onOpen();
      });
      ws.addEventListener('message', (e) => {
        if (this.ws !== ws) return;
        this.lastReceived = Date.now();
        let frame = null;
        try { frame = JSON.parse(e.data); } catch { /* not JSON: ignored */ }
        if (frame && typeof frame.type === 'string') this.onFrame(frame);
      });
      ws.addEventListener('close', () => { if (this.ws === ws) this.drop(); });
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

    detach() {
      const ws = this.ws;
      this.ws = null;
      clearInterval(this.pingTimer);
      if (ws) ws.close();
    }

    drop() {
      this.detach();
      this.setStatus('offline');
      this.scheduleReconnect();
    }

    scheduleReconnect() {
      if (this.retryTimer) return;
      const wait = this.delay * (0.75 + Math.random() * 0.5);
      this.delay = Math.min(this.delay * 2, BACKOFF_MAX_MS);
      this.retryTimer = setTimeout(() => this.connect(), wait);
    }
  }

  // ------------------------------------------------------------------ views

  /** The transcript (role=log) and the typing line. Only the visitor's own bubbles are kept by id. */
  class Transcript {
    constructor(root, typingLine) {
      Object.assign(this, { root, typingLine, own: new Map() });
    }

    get isEmpty() { return !this.root.firstChild; }
    has(id) { return this.own.has(id); }

    clear() {
      this.root.replaceChildren();
      this.own.clear();
      this.setTyping([]);
    }

    append(node) {
      const r = this.root;
      const atBottom = r.scrollHeight - r.scrollTop - r.clientHeight < 48;
      r.append(node);
      if (atBottom) r.scrollTop = r.scrollHeight;
      return node;
    }

    system(text, kind) {
      return this.append(el('p', kind ? `wc-system wc-system--${kind}` : 'wc-system', text));
    }

    /** A message bubble; opts: {id, own, name, avatar, time, pending}. */
    message(opts, text) {
      const p = el('p', 'wc-text');
      appendLinkified(p, text);
      return this.bubble(opts, p);
    }

    /** A shared file: a link to /api/files/<file_id>, with a thumbnail for images. */
    file(opts, ev) {
      const a = el('a', 'wc-file');
      a.href = `/api/files/${encodeURIComponent(ev.file_id)}`;
      Object.assign(a, { rel: 'noopener noreferrer', target: '_blank' });
      if (ev.file_type === 'image') a.append(Object.assign(el('img', 'wc-thumb'), { alt: '', src: a.href }));
      a.append(el('span', 'wc-file-name', ev.file_name || TEXT.file));
      return this.bubble(opts, a);
    }

    bubble({ id, own, name, avatar, time, pending }, content) {
      const row = el('div', `wc-msg ${own ? 'wc-msg--own' : 'wc-msg--agent'}${pending ? ' wc-msg--pending' : ''}`);
      if (avatar) {
        const img = Object.assign(el('img', 'wc-avatar'), { alt: '', src: avatar });
        img.addEventListener('error', () => img.remove(), { once: true });
        row.append(img);
      }
      const body = el('div', 'wc-bubble');
      const meta = el('p', 'wc-meta');
      meta.append(el('span', own ? 'wc-name wc-visually-hidden' : 'wc-name', name));
      if (time) meta.append(' ', timeElement(time));
      body.append(meta, content, el('p', 'wc-note', pending ? TEXT.sending : ''));
      row.append(body);
      if (own && id) this.own.set(id, row);
      return this.append(row);
    }

    /** Settles one of the visitor's bubbles: sent (with the server's time) or failed (with a reason). */
    mark(id, sent, { time, reason } = {}) {
      const row = this.own.get(id);
      if (!row) return;
      row.classList.remove('wc-msg--pending', 'wc-msg--failed');
      if (!sent) row.classList.add('wc-msg--failed');
      row.querySelector('.wc-note').textContent = sent ? '' : reason ? `${TEXT.notSent}: ${reason}` : TEXT.notSent;
      const meta = row.querySelector('.wc-meta');
      if (time && !meta.querySelector('time')) meta.append(' ', timeElement(time));
    }

    setTyping(names) {
      const text = names.length ? TEXT.typing(names) : '';
      if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
    }
  }

  const FIELD_TYPES = {
    FIRST_NAME: { label: 'First name', type: 'text', autocomplete: 'given-name' },
    LAST_NAME: { label: 'Last name', type: 'text', autocomplete: 'family-name' },
    EMAIL: { label: 'Email', type: 'email', autocomplete: 'email' },
    PHONE: { label: 'Phone', type: 'tel', autocomplete: 'tel' },
  };

  /** "account_number" / "accountNumber" → "Account number". */
  function humanise(name) {
    const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_\-.\s]+/g, ' ').trim().toLowerCase();
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  /** Accepts [{name, type}] and the documented single-key form [{"<name>": "<TYPE>"}]. */
  function normaliseParameters(list) {
    return (Array.isArray(list) ? list : []).map((p) => {
      if (p && typeof p.name === 'string') return { name: p.name, type: String(p.type || '') };
      const keys = p && typeof p === 'object' ? Object.keys(p) : [];
      return keys.length === 1 ? { name: keys[0], type: String(p[keys[0]]) } : null;
    }).filter((p) => p && p.name.trim());
  }

  /** The pre-chat form, its fields built from GET /api/parameters. */
  class PreChat {
    constructor(form, onStart) {
      this.fields = form.querySelector('#wc-prechat-fields');
      this.errorLine = form.querySelector('#wc-prechat-error');
      this.button = form.querySelector('#wc-start');
      this.loading = null;
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        this.setError('');
        onStart(this.values());
      });
    }

    setError(text) { this.errorLine.textContent = text; }
    focus() { (this.fields.querySelector('input') || this.button).focus(); }

    /** Loads the fields once (again after a failure). */
    load() {
      this.loading = this.loading || fetchJSON('/api/parameters')
        .then((data) => this.render(normaliseParameters(data && data.parameters)))
        .catch(() => { this.loading = null; });
      return this.loading;
    }

    render(params) {
      this.fields.replaceChildren(...params.map((p, i) => {
        const known = FIELD_TYPES[p.type.toUpperCase()] || FIELD_TYPES[p.name.toUpperCase()];
        const input = Object.assign(el('input', 'wc-input'), { id: `wc-param-${i}`, name: p.name });
        input.type = known ? known.type : 'text';
        input.setAttribute('autocomplete', known ? known.autocomplete : 'off');
        const label = el('label', 'wc-label', known ? known.label : humanise(p.name));
        label.htmlFor = input.id;
        const field = el('div', 'wc-field');
        field.append(label, input);
        return field;
      }));
    }

    values() {
      const out = {};
      for (const input of this.fields.querySelectorAll('input')) {
        if (input.value.trim()) out[input.name] = input.value.trim();
      }
      return out;
    }

    setBusy(busy) { this.button.disabled = busy; this.button.setAttribute('aria-busy', String(busy)); }
  }

  /**
   * The message box (Enter sends, Shift+Enter is a newline), typing notices, the file picker,
   * and the End chat button with its inline, accessible "End this chat? Yes / No".
   */
  class Composer {
    constructor(doc, { onSend, onTyping, onFile, onEnd }) {
      const $ = (id) => doc.getElementById(id);
      Object.assign(this, { onSend, onTyping, typing: false, idleTimer: 0 });
      Object.assign(this, { form: $('wc-composer'), input: $('wc-message'), fileInput: $('wc-file') });
      Object.assign(this, { sendButton: $('wc-send'), endButton: $('wc-end'), confirmBox: $('wc-end-confirm') });
      this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
      this.input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.submit(); }
      });
      this.input.addEventListener('input', () => this.touch());
      this.fileInput.addEventListener('change', () => {
        const file = this.fileInput.files[0];
        this.fileInput.value = '';
        if (file) onFile(file);
      });
      this.endButton.addEventListener('click', () => this.askEnd(this.confirmBox.hidden));
      $('wc-end-yes').addEventListener('click', () => { this.askEnd(false); onEnd(); });
      $('wc-end-no').addEventListener('click', () => this.cancelEnd());
      this.confirmBox.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.cancelEnd(); });
    }

    focus() { this.input.focus(); }
    cancelEnd() { this.askEnd(false); this.endButton.focus(); }

    submit() {
      const text = this.input.value.trim();
      if (!text || this.input.disabled) return;
      this.input.value = '';
      this.onSend(text);
      this.stopTyping();
      this.input.focus();
    }

    /** Typing starts with the first keystroke and stops after 3 s idle, on send or when emptied. */
    touch() {
      clearTimeout(this.idleTimer);
      if (!this.input.value.trim()) return this.stopTyping();
      if (!this.typing) { this.typing = true; this.onTyping(true); }
      this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
    }

    stopTyping() {
      clearTimeout(this.idleTimer);
      if (this.typing) { this.typing = false; this.onTyping(false); }
    }

    askEnd(show) {
      this.confirmBox.hidden = !show;
      this.endButton.setAttribute('aria-expanded', String(show));
      if (show) this.confirmBox.focus();
    }

    setEnabled(on) {
      if (!on) { this.stopTyping(); this.askEnd(false); }
      for (const c of [this.input, this.fileInput, this.sendButton]) c.disabled = !on;
      this.endButton.hidden = !on;
    }

    contains(node) {
      return this.form.contains(node) || this.confirmBox.contains(node) || node === this.endButton;
    }
  }

  // ------------------------------------------------------------------ the application

  /**
   * Glue between one Connection, the views, and the per-tab log and outbox. The view is one of
   * 'loading' | 'offline' | 'prechat' | 'chat' | 'ended'.
   */
  class App {
    constructor(doc) {
      const $ = (id) => doc.getElementById(id);
      this.els = {
        status: $('wc-status'), loading: $('wc-loading'), offline: $('wc-offline'), prechat: $('wc-prechat'),
        transcript: $('wc-transcript'), composer: $('wc-composer'), newChat: $('wc-new'),
      };
      this.log = new ChatLog();
      this.outbox = new Outbox();
      this.transcript = new Transcript($('wc-transcript'), $('wc-typing'));
      this.prechat = new PreChat($('wc-prechat'), (params) => this.startChat(params));
      this.composer = new Composer(doc, {
        onSend: (text) => this.sendMessage(text),
        onTyping: (on) => this.sendTyping(on),
        onFile: (file) => this.upload(file),
        onEnd: () => this.sendReliable({ event: 'chat_session_end' }),
      });
      this.parties = new Map(); // party_id → {name, avatar}
      this.typingParties = new Set(); // agents typing now
      this.typingIds = new Set(); // ids of our typing notices, whose acks and errors are ignored
      this.handlers = this.eventHandlers();
      Object.assign(this, { view: 'loading', ended: false, availability: null });
      Object.assign(this, { replayUntil: 0, starting: false, availabilityTimer: 0, waitingLine: null });
      this.els.newChat.addEventListener('click', () => this.newChat());
      const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
      this.conn = new Connection(`${scheme}//${location.host}/ws`, {
        onOpen: () => this.conn.send({ type: 'hello', after: this.log.lastSeq, chat_id: this.log.chatId }),
        onFrame: (frame) => this.onFrame(frame),
        onStatus: () => this.renderStatus(false),
      });
    }

    run() {
      if (this.log.chatId) {
        this.setView('chat');
        for (const ev of this.log.events) this.apply(ev, false);
        this.restorePending();
      }
      this.checkAvailability();
      this.conn.connect();
    }

    setView(view) {
      const withChat = view === 'chat' || view === 'ended';
      this.view = view;
      this.els.loading.hidden = view !== 'loading';
      this.els.offline.hidden = view !== 'offline';
      this.els.prechat.hidden = view !== 'prechat';
      this.els.transcript.hidden = this.els.composer.hidden = !withChat;
      this.els.newChat.hidden = view !== 'ended';
      if (withChat) this.els.transcript.scrollTop = this.els.transcript.scrollHeight;
      this.composer.setEnabled(view === 'chat');
      clearInterval(this.availabilityTimer);
      if (view === 'offline') {
        this.availabilityTimer = setInterval(() => this.checkAvailability(), AVAILABILITY_POLL_MS);
      }
      if (view === 'prechat') this.prechat.load();
    }

    /** Without a chat: the pre-chat form when chat is available, else the offline notice. */
    showEntry() {
      if (this.availability === null) this.setView('loading');
      else this.setView(this.availability === 'available' ? 'prechat' : 'offline');
    }

    async checkAvailability() {
      let value = 'notAvailable'; // anything but {"chat":"available"}, a failure included
      try {
        if ((await fetchJSON('/api/availability')).chat === 'available') value = 'available';
      } catch { /* offline */ }
      this.availability = value;
      if (['loading', 'prechat', 'offline'].includes(this.view)) this.showEntry();
    }

    // ---------------------------------------------------------------- frames from the server

    onFrame(frame) { // pong, and frame types added later, are ignored
      if (frame.type === 'state') this.onState(frame);
      else if (frame.type === 'event') this.onEvent(frame);
      else if (frame.type === 'ack') this.onAck(frame.id);
      else if (frame.type === 'error') this.onError(frame);
      else if (frame.type === 'upstream') this.renderStatus(frame.status === 'retrying');
    }

    onState(frame) {
      const chat = frame.chat && typeof frame.chat.chat_id === 'string' ? frame.chat : null;
      const lastSeq = Number(frame.last_seq) || 0;
      const wasStarting = this.starting;
      this.setStarting(false);
      if (typeof frame.availability === 'string') this.availability = frame.availability;
      if (!chat) {
        this.replayUntil = 0;
        // A chat on screen stays readable, as ended, until the visitor asks for a new one.
        const onScreen = (this.view === 'chat' || this.view === 'ended') && !this.transcript.isEmpty;
        if (onScreen) this.endChat(TEXT.ended);
        else { this.transcript.clear(); this.showEntry(); }
        this.log.reset(null);
        this.outbox.retain(null);
        return;
      }
      if (chat.chat_id !== this.log.chatId || lastSeq < this.log.lastSeq) {
        const renumbered = chat.chat_id === this.log.chatId;
        this.resetChat(chat.chat_id);
        this.setView('chat');
        // The server's numbering went back (its log was rebuilt): say hello again, from 0.
        if (renumbered) return void this.conn.restart();
      }
      this.replayUntil = lastSeq;
      if (ENDED_STATES.has(chat.state)) this.endChat(null);
      else if (!this.ended && this.view !== 'chat') this.setView('chat');
      for (const { id, event } of this.outbox.retain(chat.chat_id)) this.conn.send({ type: 'send', id, event });
      if (wasStarting && this.view === 'chat') this.composer.focus();
    }

    onEvent(frame) {
      const seq = Number(frame.seq);
      if (!Number.isInteger(seq) || seq <= this.log.lastSeq || !this.log.chatId) return;
      const ev = frame.event;
      const valid = !!ev && typeof ev.event === 'string';
      this.log.record(seq, ev, valid && !/^chat_session_(not_)?typing$/.test(ev.event));
      if (valid) this.apply(ev, seq > this.replayUntil);
    }

    onAck(id) {
      if (this.typingIds.delete(id)) return;
      const entry = this.outbox.remove(id);
      if (entry && entry.event.event === MESSAGE) this.transcript.mark(id, true);
      if (entry && entry.event.event === 'chat_session_end') this.endChat(TEXT.ended);
    }

    onError({ id, code, message }) {
      if (id && this.typingIds.delete(id)) return; // a lost typing notice does not matter
      const entry = id ? this.outbox.get(id) : null;
      if (entry && code === 'invalid') this.outbox.remove(id);
      if (entry && code === 'invalid' && entry.event.event === MESSAGE) {
        this.transcript.mark(id, false, { reason: message });
      } else if (this.starting || this.view === 'prechat') {
        this.setStarting(false);
        this.prechat.setError(message || TEXT.startFailed);
      } else if (this.view === 'chat' || this.view === 'ended') {
        this.transcript.system(message || TEXT.error, 'error');
      }
    }

    // ---------------------------------------------------------------- rendering chat events

    /** Renders one ServicePattern event; `live` is false while replaying history. */
    apply(ev, live) {
      const own = ev.party_id !== undefined && ev.party_id === this.log.chatId;
      const handler = this.handlers[ev.event]; // unknown events are ignored
      if (handler) handler(ev, own, live);
    }

    /** One handler per ServicePattern event type (servicepattern-api.md §3.1), each (ev, own, live). */
    eventHandlers() {
      const system = (text, kind) => this.transcript.system(text, kind);
      const typing = (ev, own, live) => {
        if (!own && live) this.setTyping(ev.party_id, ev.event === 'chat_session_typing');
      };
      return {
        chat_session_status: (ev) => this.onChatStatus(ev),
        chat_session_party_joined: (ev) => this.onJoined(ev),
        chat_session_party_left: (ev) => {
          this.setTyping(ev.party_id, false);
          system(TEXT.left(this.nameOf(ev.party_id)));
        },
        chat_session_message: (ev, own) => this.onMessage(ev, own),
        chat_session_file: (ev, own) => {
          this.setTyping(ev.party_id, false);
          this.transcript.file(this.bubbleOptions(ev, own), ev);
        },
        chat_session_typing: typing,
        chat_session_not_typing: typing,
        chat_session_timeout_warning: (ev) => system(messageText(ev) || TEXT.timeoutWarning, 'warning'),
        chat_session_inactivity_timeout: (ev) => this.endChat(messageText(ev) || TEXT.inactivity),
        chat_session_ended: () => this.endChat(TEXT.ended),
        chat_session_form_show: () => system(TEXT.formShow),
      };
    }

    onJoined(ev) {
      const name = ev.display_name || [ev.first_name, ev.last_name].filter(Boolean).join(' ') || TEXT.agent;
      const avatar = ev.type === 'internal' ? `/api/photos/${encodeURIComponent(ev.party_id)}` : null;
      this.parties.set(ev.party_id, { name, avatar });
      this.transcript.system(TEXT.joined(name));
    }

    onChatStatus(ev) {
      if (ev.state === 'queued') {
        const seconds = Number(ev.ewt);
        const text = TEXT.waiting(seconds > 0 ? Math.max(1, Math.round(seconds / 60)) : 0);
        // A newer estimate replaces the previous one while nothing else was said.
        const line = this.waitingLine;
        if (line && line === this.els.transcript.lastChild) line.textContent = text;
        else this.waitingLine = this.transcript.system(text);
      } else if (ev.state === 'failed') this.endChat(TEXT.failed);
      else if (ev.state === 'completed') this.endChat(TEXT.ended);
    }

    onMessage(ev, own) {
      const opts = this.bubbleOptions(ev, own);
      this.setTyping(ev.party_id, false);
      if (own && ev.msg_id) this.outbox.remove(ev.msg_id); // logged by the server: it reached ServicePattern
      if (own && this.transcript.has(ev.msg_id)) this.transcript.mark(ev.msg_id, true, opts);
      else this.transcript.message(opts, messageText(ev));
    }

    bubbleOptions(ev, own) {
      const party = own ? null : this.parties.get(ev.party_id);
      const name = own ? TEXT.you : this.nameOf(ev.party_id);
      return { id: ev.msg_id || null, own, name, avatar: party && party.avatar, time: parseTime(ev.timestamp) };
    }

    nameOf(partyId) {
      const party = this.parties.get(partyId);
      return party ? party.name : TEXT.agent;
    }

    setTyping(partyId, on) {
      if (on) this.typingParties.add(partyId);
      else this.typingParties.delete(partyId);
      this.transcript.setTyping([...this.typingParties].map((id) => this.nameOf(id)));
    }

    /** The chat is over: the composer is disabled and "Start a new chat" is offered. */
    endChat(line) {
      if (this.ended) return;
      this.ended = true;
      const hadFocus = this.composer.contains(document.activeElement);
      this.typingParties.clear();
      this.transcript.setTyping([]);
      for (const entry of this.outbox.retain(this.log.chatId)) {
        if (entry.event.event === MESSAGE) this.transcript.mark(entry.id, false);
      }
      this.outbox.retain(null);
      if (line) this.transcript.system(line, 'end');
      this.setView('ended');
      if (hadFocus) this.els.newChat.focus();
    }

    resetChat(chatId) {
      this.log.reset(chatId);
      this.outbox.retain(chatId);
      this.transcript.clear();
      this.parties.clear();
      this.typingParties.clear();
      Object.assign(this, { waitingLine: null, ended: false });
      this.restorePending();
    }

    newChat() {
      this.resetChat(null);
      this.showEntry();
      this.checkAvailability().then(() => {
        if (this.view === 'prechat') this.prechat.load().then(() => this.prechat.focus());
        else if (this.view === 'offline') this.els.offline.focus();
      });
    }

    /** Bubbles for messages still in the outbox (after a reload), in their "sending" state. */
    restorePending() {
      for (const { id, chatId, event } of this.outbox.entries) {
        if (chatId !== this.log.chatId || event.event !== MESSAGE || this.transcript.has(id)) continue;
        this.transcript.message({ id, own: true, name: TEXT.you, pending: true }, event.msg);
      }
    }

    // ---------------------------------------------------------------- visitor actions

    /** The server answers `start` with a state frame, or an error; a lost socket also ends the wait. */
    startChat(params) {
      if (this.starting) return;
      if (this.conn.send({ type: 'start', parameters: params })) this.setStarting(true);
      else this.prechat.setError(TEXT.notConnected);
    }

    setStarting(on) { this.starting = on; this.prechat.setBusy(on); }

    sendMessage(text) {
      const entry = this.sendReliable({ event: MESSAGE, msg: text });
      if (entry) this.transcript.message({ id: entry.id, own: true, name: TEXT.you, pending: true }, text);
    }

    /** A send kept in the outbox until acknowledged, and resent with the same id after a reconnect. */
    sendReliable(event) {
      if (this.view !== 'chat' || !this.log.chatId) return null;
      const entry = { id: uuid(), chatId: this.log.chatId, event };
      this.outbox.add(entry);
      this.conn.send({ type: 'send', id: entry.id, event });
      return entry;
    }

    /** Typing notices are fire-and-forget: a stale one is worth nothing after a reconnect. */
    sendTyping(on) {
      if (this.view !== 'chat') return;
      const id = uuid();
      if (this.typingIds.size > 100) this.typingIds.clear();
      const event = { event: on ? 'chat_session_typing' : 'chat_session_not_typing' };
      if (this.conn.send({ type: 'send', id, event })) this.typingIds.add(id);
    }

    async upload(file) {
      if (this.view !== 'chat') return;
      if (file.size > MAX_FILE_BYTES) {
        this.transcript.system(TEXT.tooBig(file.name), 'error');
        return;
      }
      const progress = this.transcript.system(TEXT.uploading(file.name), 'progress');
      const body = new FormData();
      body.append('file', file, file.name);
      let problem = null;
      try {
        const res = await fetch('/api/files', { method: 'POST', body, credentials: 'same-origin' });
        const data = await res.json().catch(() => null);
        if (!res.ok || !data || data.error) problem = (data && data.error && data.error.message) || TEXT.uploadFailed;
      } catch {
        problem = TEXT.uploadFailed;
      }
      progress.remove();
      // On success the server shares the file itself, and its event frame draws it.
      if (problem) this.transcript.system(problem, 'error');
    }

    /** The header's status: the socket's, or the contact center's while the server retries it. */
    renderStatus(upstreamRetrying) {
      const status = this.conn.status;
      if (status !== 'open' && this.starting) this.setStarting(false);
      const state = status === 'open' && upstreamRetrying ? 'retrying' : status;
      const text = state === 'retrying' ? TEXT.upstream : TEXT[status];
      this.els.status.dataset.state = state;
      if (this.els.status.textContent !== text) this.els.status.textContent = text;
    }
  }

  new App(document).run();
})();
