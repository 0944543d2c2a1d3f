/**
 * The chat page's glue: one Connection (frames as in docs/protocol.md), the views, the per-tab
 * log and outbox, and the host page. The view is one of
 * 'loading' | 'offline' | 'prechat' | 'chat' | 'ended'.
 */
import { download, fetchJSON, parseTime, TOKEN, uuid, withToken } from './util.js';
import { t } from './i18n.js';
import { ChatLog, Outbox } from './storage.js';
import { Connection } from './connection.js';
import { Transcript } from './transcript.js';
import { PreChat } from './prechat.js';
import { Composer } from './composer.js';
import { ACCEPT, FileDrop, fileProblem, progressRow, upload } from './files.js';
import { Forms } from './forms.js';
import { Notifier } from './notify.js';
import { HostBridge } from './host.js';
import { eventHandlers } from './events.js';

const MESSAGE = 'chat_session_message';
const ENDED_STATES = new Set(['failed', 'completed', 'ended']);
const REFUSED = new Set(['invalid_frame', 'unknown_event', 'invalid_event', 'too_long', 'no_chat', 'chat_ended']);
const [AVAILABILITY_POLL_MS, RESEND_MS] = [15000, 3000];

export class App {
  /** @param {Document} doc */
  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.els = {
      app: $('wc-app'), status: $('wc-status'), loading: $('wc-loading'), offline: $('wc-offline'),
      offlineNote: $('wc-offline-note'), prechat: $('wc-prechat'), transcript: $('wc-transcript'),
      composer: $('wc-composer'), after: $('wc-after'), newChat: $('wc-new'), photo: $('wc-agent-photo'),
      close: $('wc-close'), main: $('wc-main'),
    };
    const data = this.els.app.dataset;
    this.config = { maxUpload: Number(data.maxUpload) || 25 * 1048576, softEnd: data.softEnd === 'true' };
    this.log = new ChatLog();
    this.outbox = new Outbox();
    this.transcript = new Transcript(this.els.transcript, $('wc-typing'));
    this.prechat = new PreChat(this.els.prechat, (values) => this.startChat(values));
    this.composer = new Composer(doc, {
      onSend: (text) => this.sendMessage(text),
      onTyping: (on) => this.sendTyping(on),
      onFile: (file) => this.upload(file),
      onEnd: () => this.endByVisitor(),
      onLocation: () => this.shareLocation(),
    });
    $('wc-file').accept = ACCEPT;
    this.forms = new Forms(this.transcript, (answer) => this.sendReliable(answer), () => {
      if (this.log.closing) this.sendReliable({ event: 'chat_session_end' });
    });
    this.host = new HostBridge((msg) => this.onHostMessage(msg));
    this.notifier = new Notifier($('wc-sound'), (count) => this.host.post('unread', { count }));
    new FileDrop(this.els.main, $('wc-drop'), (file) => this.upload(file), () => this.accepting());
    this.parties = new Map(); // party_id → {name, avatar}
    this.typingParties = new Set(); // agents typing now
    this.typingIds = new Set(); // ids of our typing notices, whose acks and errors are ignored
    this.handlers = eventHandlers(this);
    Object.assign(this, { view: 'loading', ended: false, availability: null, hostPage: null, hostActive: false });
    Object.assign(this, { replayUntil: 0, starting: false, availabilityTimer: 0, waitingLine: null, pendingFocus: false });
    this.els.newChat.addEventListener('click', () => this.newChat());
    $('wc-download').addEventListener('click', () => this.downloadTranscript());
    $('wc-retry').addEventListener('click', () => this.retryAvailability());
    this.els.close.hidden = !this.host.embedded;
    this.els.close.addEventListener('click', () => this.host.post('close'));
    doc.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !e.defaultPrevented && this.host.embedded) this.host.post('close');
    });
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.conn = new Connection(`${scheme}//${location.host}${withToken('/ws')}`, {
      onOpen: () => this.conn.send({ type: 'hello', after: this.log.lastSeq, chat_id: this.log.chatId }),
      onFrame: (frame) => this.onFrame(frame),
      onStatus: () => this.renderStatus(),
    });
  }

  run() {
    if (this.log.chatId) {
      this.setView('chat');
      for (const ev of this.log.events) this.apply(ev, false);
      this.restorePending();
      if (this.log.closing && !this.ended) this.setClosing();
    }
    this.hostActive = !!this.log.chatId && !this.ended;
    this.host.post('ready', { active: this.hostActive, token: TOKEN });
    this.checkAvailability();
    this.conn.connect();
    if (!this.host.embedded) this.pendingFocus = true;
  }

  setView(view) {
    const withChat = view === 'chat' || view === 'ended';
    this.view = view;
    this.els.loading.hidden = view !== 'loading';
    this.els.offline.hidden = view !== 'offline';
    this.els.prechat.hidden = view !== 'prechat';
    this.els.transcript.hidden = !withChat;
    this.els.composer.hidden = view !== 'chat' || this.log.closing;
    this.els.after.hidden = view !== 'ended';
    if (withChat) this.transcript.scrollToEnd();
    this.composer.setEnabled(view === 'chat' && !this.log.closing);
    clearInterval(this.availabilityTimer);
    if (view === 'offline') this.availabilityTimer = setInterval(() => this.checkAvailability(), AVAILABILITY_POLL_MS);
    if (view === 'prechat') this.prechat.load().then(() => this.focusIfWanted());
    else this.focusIfWanted();
    this.renderStatus();
  }

  focusIfWanted() {
    if (!this.pendingFocus || this.view === 'loading' || document.visibilityState !== 'visible') return;
    this.pendingFocus = false;
    if (this.view !== 'prechat') return void this.focusEntry();
    this.prechat.load().then(() => { if (this.view === 'prechat') this.prechat.focus(); });
  }

  /** Focus where a person expects it for the current view. */
  focusEntry() {
    if (this.view === 'prechat') this.prechat.focus();
    else if (this.view === 'offline') document.getElementById('wc-offline-title').focus();
    else if (this.view === 'ended') this.els.newChat.focus();
    else if (this.view === 'chat' && !this.log.closing) this.composer.focus();
    else if (this.view === 'chat') this.els.transcript.focus();
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
    return value;
  }

  async retryAvailability() {
    this.els.offlineNote.textContent = t('offline.checking');
    const value = await this.checkAvailability();
    if (value === 'available') { this.pendingFocus = true; this.focusIfWanted(); }
    else this.els.offlineNote.textContent = t('offline.still');
  }

  // ---------------------------------------------------------------- the host page

  onHostMessage(msg) {
    if (msg.type === 'context') {
      if (typeof msg.url === 'string') this.hostPage = { url: msg.url.slice(0, 2000), title: String(msg.title || '').slice(0, 500) };
      this.navigate();
    }
    if (msg.params && typeof msg.params === 'object') this.prechat.setPrefill(msg.params);
    if (typeof msg.open === 'boolean') {
      this.notifier.setWidgetOpen(msg.open);
      if (msg.open) { this.pendingFocus = true; this.focusIfWanted(); }
    }
  }

  /** Tells the agent which page of the host site the visitor is on, once per page. */
  navigate() {
    const page = this.hostPage;
    if (!page || this.view !== 'chat' || this.ended || !this.log.chatId || this.log.page === page.url) return;
    this.log.page = page.url;
    this.log.save();
    this.sendReliable({ event: 'chat_session_navigation', page: page.url, title: page.title });
  }

  /** Reports to the host page whether a chat is going on (chatStarted / chatEnded). */
  announce(active) {
    if (active === this.hostActive) return;
    this.hostActive = active;
    this.host.post('chat', active ? { active, started: true } : { active, ended: true });
  }

  // ---------------------------------------------------------------- frames from the server

  onFrame(frame) { // pong, and frame types added later, are ignored
    if (frame.type === 'state') this.onState(frame);
    else if (frame.type === 'event') this.onEvent(frame);
    else if (frame.type === 'ack') this.onAck(frame.id);
    else if (frame.type === 'error') this.onError(frame);
    else if (frame.type === 'upstream') { this.upstreamRetrying = frame.status === 'retrying'; this.renderStatus(); }
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
      if (onScreen) this.endChat(t('chat.ended'));
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
    if (ENDED_STATES.has(chat.state) || chat.ended === true) this.endChat(null);
    else {
      if (this.view !== 'chat') this.setView('chat');
      this.announce(true);
    }
    this.resendOutbox();
    this.navigate();
    if (wasStarting && this.view === 'chat') { this.pendingFocus = true; this.focusIfWanted(); }
  }

  resendOutbox() {
    for (const { id, event } of this.outbox.retain(this.log.chatId)) this.conn.send({ type: 'send', id, event });
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
    if (!entry) return;
    if (entry.event.event === MESSAGE) this.transcript.mark(id, true);
    if (entry.event.event === 'chat_session_end') this.endChat(null);
  }

  onError({ id, code, message }) {
    if (id && this.typingIds.delete(id)) return; // a lost typing notice does not matter
    const entry = id ? this.outbox.get(id) : null;
    if (entry && code === 'upstream') {
      clearTimeout(this.resendTimer); // not posted: the same id is sent again shortly
      this.resendTimer = setTimeout(() => this.resendOutbox(), RESEND_MS);
    } else if (entry && REFUSED.has(code)) {
      this.outbox.remove(id);
      if (entry.event.event === MESSAGE) this.transcript.mark(id, false, { reason: message });
      if (code === 'chat_ended' || code === 'no_chat') this.endChat(t('chat.ended'));
    } else if (this.starting || this.view === 'prechat') {
      this.setStarting(false);
      this.prechat.setError(message || t('error.start'));
    } else if (this.view === 'chat' || this.view === 'ended') {
      this.transcript.system(message || t('error.generic'), 'error');
    }
  }

  /** Renders one ServicePattern event; `live` is false while replaying history. */
  apply(ev, live) {
    const own = ev.party_id !== undefined && ev.party_id === this.log.chatId;
    const handler = this.handlers[ev.event]; // unknown events are ignored
    if (handler) handler(ev, own, live);
  }

  bubbleOptions(ev, own) {
    const party = own ? null : this.parties.get(ev.party_id);
    const name = own ? t('chat.you') : this.nameOf(ev.party_id);
    return { id: ev.msg_id || null, own, name, avatar: party && party.avatar, time: parseTime(ev.timestamp) };
  }

  nameOf(partyId) {
    const party = this.parties.get(partyId);
    return party ? party.name : t('chat.agent');
  }

  setTyping(partyId, on) {
    if (on) this.typingParties.add(partyId);
    else this.typingParties.delete(partyId);
    this.transcript.setTyping([...this.typingParties].map((id) => this.nameOf(id)));
  }

  /** The visitor ended the conversation (soft end): no more messages, a survey may follow. */
  setClosing() {
    this.log.closing = true;
    this.log.save();
    this.composer.setEnabled(false, false);
    this.els.composer.hidden = true;
    this.renderStatus();
  }

  /** The chat is over: the composer goes, transcript download and "Start a new chat" come. */
  endChat(line) {
    if (this.ended) return;
    this.ended = true;
    if (this.log.closing && line === t('chat.ended')) line = null; // "You ended the chat" said it
    const hadFocus = this.composer.contains(document.activeElement) || this.els.transcript.contains(document.activeElement);
    this.typingParties.clear();
    this.transcript.setTyping([]);
    for (const entry of this.outbox.retain(this.log.chatId)) {
      if (entry.event.event === MESSAGE) this.transcript.mark(entry.id, false);
    }
    this.outbox.retain(null);
    if (line) this.transcript.system(line, 'end');
    this.setView('ended');
    this.announce(false);
    if (hadFocus) this.els.newChat.focus();
  }

  resetChat(chatId) {
    this.log.reset(chatId);
    this.outbox.retain(chatId);
    this.transcript.clear();
    this.parties.clear();
    this.typingParties.clear();
    this.showAgent(null);
    Object.assign(this, { waitingLine: null, ended: false });
    this.restorePending();
  }

  newChat() {
    this.resetChat(null);
    this.announce(false);
    this.pendingFocus = true;
    this.showEntry();
    this.checkAvailability();
  }

  /** Bubbles for messages still in the outbox (after a reload), in their "sending" state. */
  restorePending() {
    for (const { id, chatId, event } of this.outbox.entries) {
      if (chatId !== this.log.chatId || event.event !== MESSAGE || this.transcript.has(id)) continue;
      this.transcript.message({ id, own: true, name: t('chat.you'), pending: true }, event.msg);
    }
  }

  /** The agent's name and photo in the header; null: none. */
  showAgent(party) {
    this.agent = party;
    const photo = this.els.photo;
    const show = (on) => { photo.hidden = !on; this.els.app.classList.toggle('wc-has-agent', on); };
    show(false);
    if (party && party.avatar) {
      photo.onload = () => show(this.agent === party);
      photo.onerror = () => show(false);
      photo.src = party.avatar;
    }
    this.renderStatus();
  }

  // ---------------------------------------------------------------- visitor actions

  /** The server answers `start` with a state frame, or an error; a lost socket also ends the wait. */
  startChat(values) {
    if (this.starting) return;
    if (this.conn.send({ type: 'start', ...values })) this.setStarting(true);
    else this.prechat.setError(t('error.notConnected'));
  }

  setStarting(on) { this.starting = on; this.prechat.setBusy(on); }

  sendMessage(text) {
    const entry = this.sendReliable({ event: MESSAGE, msg: text });
    if (entry) this.transcript.message({ id: entry.id, own: true, name: t('chat.you'), pending: true }, text);
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

  /** End chat, confirmed: the conversation closes at once; the server's end follows. */
  endByVisitor() {
    const event = this.config.softEnd ? 'chat_session_disconnect' : 'chat_session_end';
    if (this.sendReliable({ event })) {
      this.transcript.system(t('chat.youEnded'), 'end');
      this.setClosing();
      this.els.transcript.focus();
    }
  }

  accepting() { return this.view === 'chat' && !this.log.closing; }

  upload(file) {
    if (!this.accepting()) return;
    const problem = fileProblem(file, this.config.maxUpload);
    if (problem) return void this.transcript.system(problem, 'error');
    let job = null;
    const progress = progressRow(file.name, () => job && job.cancel());
    this.transcript.append(progress.row);
    job = upload(file, progress.set);
    // On success the server shares the file itself, and its event frame draws it.
    job.promise.then(() => progress.row.remove(), (error) => {
      progress.row.remove();
      this.transcript.system(error.message, 'error');
    });
  }

  shareLocation() {
    if (!this.accepting() || !navigator.geolocation) return;
    const line = this.transcript.system(t('location.asking'), 'progress');
    navigator.geolocation.getCurrentPosition((pos) => {
      line.remove();
      const [lat, lon] = [pos.coords.latitude.toFixed(6), pos.coords.longitude.toFixed(6)];
      const event = { event: 'chat_session_location', latitude: lat, longitude: lon,
        url: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}` };
      if (!this.sendReliable(event)) return;
      const local = { ...event, party_id: this.log.chatId, timestamp: String(Math.floor(Date.now() / 1000)) };
      this.log.addLocal(local);
      this.apply(local, true);
    }, () => {
      line.remove();
      this.transcript.system(t('location.denied'), 'error');
    }, { timeout: 15000, maximumAge: 60000 });
  }

  downloadTranscript() {
    const now = new Date();
    const stamp = now.toISOString().slice(0, 16).replace(/[T:]/g, '-');
    download(`chat-${stamp}.txt`, this.transcript.toText(t('transcript.heading', { date: now.toLocaleString(document.documentElement.lang) })));
  }

  /** The header's status line: the connection's trouble first, else where the chat stands. */
  renderStatus() {
    const conn = this.conn ? this.conn.status : 'connecting';
    if (conn !== 'open' && this.starting) this.setStarting(false);
    let state = conn;
    let text = t(`status.${conn}`);
    if (conn === 'open' && this.upstreamRetrying) [state, text] = ['retrying', t('status.retrying')];
    else if (conn === 'open' && this.view === 'ended') text = t('status.ended');
    else if (conn === 'open' && this.view === 'chat' && this.log.closing) text = t('status.closing');
    else if (conn === 'open' && this.view === 'chat' && this.agent) text = t('status.agent', { name: this.agent.name });
    else if (conn === 'open' && this.view === 'chat') text = t('status.waiting');
    else if (conn === 'open' && this.view === 'offline') text = t('status.unavailable');
    this.els.status.dataset.state = state;
    this.els.app.dataset.connection = state;
    if (this.els.status.textContent !== text) this.els.status.textContent = text;
  }
}
