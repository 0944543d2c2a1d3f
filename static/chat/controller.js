/**
 * The chat page's glue: one Connection (frames as in docs/protocol.md), the per-tab log and
 * outbox, and the chat's course as the server tells it (state and event frames; a chat's
 * parties, its end, a new one). The rest of App is mixed in from its own modules: view.js
 * (what is shown, focus, the header), session.js (the visitor's sends, files, End chat) and
 * host.js (the host page).
 */
import { parseTime, TOKEN, withToken } from './util.js';
import { t } from './i18n.js';
import { ChatLog, Outbox } from './storage.js';
import { Connection } from './connection.js';
import { Transcript } from './transcript.js';
import { PreChat } from './prechat.js';
import { Composer } from './composer.js';
import { ACCEPT, FileDrop } from './files.js';
import { Notifier } from './notify.js';
import { HostBridge, hostMethods } from './host.js';
import { eventHandlers } from './events.js';
import { viewMethods } from './view.js';
import { MESSAGE, sessionMethods } from './session.js';

const ENDED_STATES = new Set(['failed', 'ended']); // 'completed' is not: a survey may follow

export class App {
  /** @param {Document} doc */
  constructor(doc) {
    const $ = (id) => doc.getElementById(id);
    this.els = {
      app: $('wc-app'), status: $('wc-status'), loading: $('wc-loading'), offline: $('wc-offline'),
      offlineNote: $('wc-offline-note'), prechat: $('wc-prechat'), transcript: $('wc-transcript'),
      composer: $('wc-composer'), after: $('wc-after'), newChat: $('wc-new'), photo: $('wc-agent-photo'),
      close: $('wc-close'), main: $('wc-main'), agent: $('wc-agent'), initials: $('wc-agent-initials'),
      callButton: $('wc-call'),
    };
    const data = this.els.app.dataset;
    this.config = { maxUpload: Number(data.maxUpload) || 25 * 1048576, softEnd: data.softEnd === 'true' };
    this.log = new ChatLog();
    this.outbox = new Outbox();
    this.transcript = new Transcript(this.els.transcript, $('wc-typing'));
    this.prechat = new PreChat(this.els.prechat, (values) => this.startChat(values));
    this.composer = new Composer(doc, {
      onSend: (text) => this.sendMessage(text),
      onTyping: (on, draft) => this.sendTyping(on, draft),
      onFile: (file) => this.upload(file),
      onEnd: () => this.endByVisitor(),
      onLocation: () => this.shareLocation(),
    });
    $('wc-file').accept = ACCEPT;
    // forms.js loads with the first form shown, not with the page: most chats show none. A
    // failed load is tried again by the next form.
    // Its card's place is kept now, so messages that follow stay below it while it loads.
    this.forms = {
      show: (ev, focus) => {
        const slot = this.transcript.reserve();
        return (this.formsLoading ||= import('./forms.js').then(({ Forms }) => new Forms(
          this.transcript, (answer) => this.sendReliable(answer), () => {
            if (this.log.closing) this.sendReliable({ event: 'chat_session_end' });
          })))
          .then((forms) => forms.show(ev, focus, slot), () => { this.formsLoading = null; slot.remove(); });
      },
    };
    this.host = new HostBridge((msg) => this.onHostMessage(msg));
    this.notifier = new Notifier($('wc-sound'), (count) => this.host.post('unread', { count }));
    new FileDrop(this.els.main, $('wc-drop'), (file) => this.upload(file), () => this.accepting());
    this.parties = new Map(); // party_id → {name, avatar}
    this.typingParties = new Set(); // agents typing now
    this.typingIds = new Set(); // ids of our typing notices, whose acks and errors are ignored
    this.heldFiles = new Set(); // files waiting for the socket, or for Retry (session.js)
    addEventListener('online', () => this.flushFiles()); // the socket may never have noticed
    this.handlers = eventHandlers(this);
    Object.assign(this, { view: 'loading', ended: false, availability: null, hostPage: null, hostActive: false });
    Object.assign(this, { replayUntil: 0, starting: false, availabilityTimer: 0, waitingLine: null, pendingFocus: false });
    this.signals = []; // the agent's offer of a call and what followed it, until calls.js is loaded
    this.els.callButton.addEventListener('click', () => this.loadCalls().then((calls) => calls && calls.openMenu()));
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
      this.restoreHeld();
    }
    this.hostActive = !!this.log.chatId && !this.ended;
    this.host.post('ready', { active: this.hostActive, token: TOKEN });
    this.checkAvailability();
    this.conn.connect();
    if (!this.host.embedded) this.pendingFocus = true;
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
    this.flushFiles();
    this.navigate();
    if (wasStarting && this.view === 'chat') { this.pendingFocus = true; this.focusIfWanted(); }
  }

  onEvent(frame) {
    const seq = Number(frame.seq);
    if (!Number.isInteger(seq) || seq <= this.log.lastSeq || !this.log.chatId) return;
    const ev = frame.event;
    const valid = !!ev && typeof ev.event === 'string';
    this.log.record(seq, ev, valid && !/^chat_session_(not_)?typing$/.test(ev.event));
    if (valid) this.apply(ev, seq > this.replayUntil);
  }

  /** Renders one ServicePattern event; `live` is false while replaying history. */
  apply(ev, live) {
    const own = ev.party_id !== undefined && ev.party_id === this.log.chatId;
    const handler = this.handlers[ev.event]; // unknown events are ignored
    if (!handler) return;
    this.transcript.live = live; // only what arrives now animates in
    handler(ev, own, live);
    this.transcript.live = true;
  }

  bubbleOptions(ev, own) {
    const party = own ? null : this.parties.get(ev.party_id);
    const name = own ? t('chat.you') : this.nameOf(ev.party_id);
    return { id: ev.msg_id || null, own, from: own ? '' : String(ev.party_id), name, avatar: party && party.avatar, time: parseTime(ev.timestamp) };
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

  /** Call signalling: calls.js is loaded (import()) once a call is offered or asked for; until
   * then an agent's offer nobody answered is kept, with what followed it, to ring with. */
  onSignal(ev, own, live) {
    if (this.calls) return void this.calls.signal(ev, own, live);
    const type = ev.data && ev.data.type;
    if (type === 'OFFER_CALL' && !own) this.signals = [ev];
    else if (/^(ANSWER_CALL|END_CALL|CALL_REJECTED)$/.test(type)) this.signals = [];
    else if (this.signals.length && !own) this.signals.push(ev);
    if (this.signals.length && !this.ended) this.loadCalls();
  }

  loadCalls() {
    return this.callsLoading ||= import('./calls.js').then((m) => m.load(this, this.signals))
      .then((calls) => (this.calls = calls), () => { this.callsLoading = null; this.transcript.system(t('error.generic'), 'error'); });
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
    this.dropFiles();
    this.signals = [];
    if (this.calls) this.calls.reset();
    if (line) this.transcript.system(line, 'end');
    this.setView('ended');
    this.announce(false);
    if (hadFocus) this.els.newChat.focus();
  }

  resetChat(chatId) {
    const another = chatId !== this.log.chatId; // else the same chat, renumbered: a call goes on
    this.log.reset(chatId);
    this.outbox.retain(chatId);
    this.heldFiles.clear();
    this.transcript.clear();
    this.parties.clear();
    this.typingParties.clear();
    this.showAgent(null);
    Object.assign(this, { waitingLine: null, ended: false, signals: [], textForm: null });
    this.showService();
    if (this.calls && another) this.calls.reset();
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
}

Object.assign(App.prototype, viewMethods, sessionMethods, hostMethods);
